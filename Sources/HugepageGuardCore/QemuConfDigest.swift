/// What the guard keeps from libvirt's qemu.conf: the settings it reads (`QemuConf`), in a few
/// lines, in place of the file itself (some 37 KB as Debian ships it, nearly all comments),
/// which every decision would otherwise read and parse. Like `CapabilitiesDigest`, it names the
/// file it was read from by its identity (path, device, inode, size, modification and change
/// times), so a digest of another version of the file is never used, and its last line seals
/// the rest. A setting qemu.conf doesn't have has no line; a list is one line, its values in
/// order.
///
///     # hugepage-guard: the settings of libvirt's qemu.conf the guard reads (rewritten when it changes)
///     source="/etc/libvirt/qemu.conf 64768:1234 36846 1764354720.123456789 1764354720.123456789"
///     list=hugetlbfs_mount value=/dev/hugepages value=/dev/hugepages1G
///     string=memory_backing_dir value=/srv/ram
///     sum=5d0e1c7ab2f9e364
public enum QemuConfDigest {
    public static let header = "# hugepage-guard: the settings of libvirt's qemu.conf the guard reads (rewritten when it changes)"

    private static let hugetlbfsMount = "hugetlbfs_mount", memoryBackingDir = "memory_backing_dir",
                       cgroupControllers = "cgroup_controllers"

    public static func encode(_ conf: QemuConf, source: String) -> String {
        var lines = [header, Logfmt.line([("source", source)])]
        func list(_ key: String, _ values: [String]?) {
            if let values { lines.append(Logfmt.line([("list", key)] + values.map { ("value", $0) })) }
        }
        list(hugetlbfsMount, conf.hugetlbfsMounts)
        if let dir = conf.memoryBackingDir { lines.append(Logfmt.line([("string", memoryBackingDir), ("value", dir)])) }
        list(cgroupControllers, conf.cgroupControllers)
        return CapabilitiesDigest.seal(lines.concatenated(separator: "\n") + "\n")
    }

    /// The settings in `text`, when it is a digest of the file `source` names as `encode`
    /// writes one, its seal included; nil for anything else (a digest of another file or of
    /// another version of it, a setting named twice or unknown, text that is not a digest).
    public static func decode(_ text: String, source: String) -> QemuConf? {
        var text = text
        return text.withUTF8 { decode(bytes: $0, source: source) }
    }

    static func decode(bytes b: UnsafeBufferPointer<UInt8>, source: String) -> QemuConf? {
        guard let body = CapabilitiesDigest.sealedBody(b) else { return nil }
        var conf = QemuConf()
        var seen: [String] = []
        var lineStart = 0, lineNo = 0
        while lineStart < body.count {
            let lineEnd = body.firstIndex(of: UInt8(ascii: "\n"), or: UInt8(ascii: "\n"), from: lineStart)
            defer { lineStart = lineEnd + 1 }
            lineNo += 1
            let line = UnsafeBufferPointer(rebasing: body[lineStart..<lineEnd])
            if lineNo == 1 {
                guard header.utf8.elementsEqual(line) else { return nil }
                continue
            }
            // Every line after the header starts with its kind: `source=…`, `list=<setting>` or
            // `string=<setting>`.
            guard let pairs = Logfmt.parse(bytes: line), let (kind, key) = pairs.first else { return nil }
            if lineNo == 2 {
                guard pairs.count == 1, kind == "source", key == source else { return nil }
                continue
            }
            let values = pairs.dropFirst()
            guard values.allSatisfy({ $0.0 == "value" }), !seen.contains(key) else { return nil }
            seen.append(key)
            switch (kind, key) {
            case ("list", hugetlbfsMount): conf.hugetlbfsMounts = values.map { $0.1 }
            case ("list", cgroupControllers): conf.cgroupControllers = values.map { $0.1 }
            case ("string", memoryBackingDir):
                guard values.count == 1 else { return nil }
                conf.memoryBackingDir = values.first?.1
            default: return nil
            }
        }
        return lineNo >= 2 ? conf : nil
    }
}
