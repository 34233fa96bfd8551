/// What the guard keeps from one of libvirt's QEMU capabilities cache files: the emulator and
/// its machine types, a few kilobytes of text in place of some 200 KiB of XML. Each digest
/// names the cache file it was read from, as the file's identity (device, inode, size,
/// modification and change times): libvirt replaces the file whenever it probes QEMU anew,
/// which changes that identity, and a digest of another identity is never used.
///
///     # hugepage-guard: machine types from a QEMU capabilities cache of libvirt (rewritten when it changes)
///     source="926803a9….xml 64768:1234 209199 1764354720.123456789 1764354720.123456789"
///     emulator=/usr/bin/qemu-system-x86_64
///     type=kvm name=pc-i440fx-7.2 alias=pc numa_mem=no
///     type=kvm name=pc-i440fx-2.12 numa_mem=yes
public enum CapabilitiesDigest {
    public static let header = "# hugepage-guard: machine types from a QEMU capabilities cache of libvirt (rewritten when it changes)"

    public static func encode(_ caps: QemuCapabilities, source: String) -> String {
        var lines = [header, Logfmt.line([("source", source)]), Logfmt.line([("emulator", caps.emulator)])]
        for m in caps.machines {
            var fields = [("type", m.virtType), ("name", m.name)]
            if let alias = m.alias { fields.append(("alias", alias)) }
            fields.append(("numa_mem", m.numaMemSupported ? "yes" : "no"))
            lines.append(Logfmt.line(fields))
        }
        return lines.concatenated(separator: "\n") + "\n"
    }

    /// The capabilities in `text`, when it is a digest of the file `source` names; nil for a
    /// digest of another file or of an earlier version of it, and for any text that is not
    /// a digest as `encode` writes it. With `machine`, only the machine types of that name or
    /// alias are kept (what one domain needs): every line is still checked, but only those
    /// become values.
    public static func decode(_ text: String, source: String, machine: String? = nil) -> QemuCapabilities? {
        var text = text
        return text.withUTF8 { decode(bytes: $0, source: source, machine: machine) }
    }

    static func decode(bytes b: UnsafeBufferPointer<UInt8>, source: String, machine: String?) -> QemuCapabilities? {
        // Written whole, ending in a newline.
        guard let last = b.last, last == UInt8(ascii: "\n") else { return nil }
        let wanted = machine.map { Array($0.utf8) }
        var lineStart = 0, lineNo = 0
        var emulator: String?
        var machines: [MachineCapability] = []
        while lineStart < b.count {
            let lineEnd = b.firstIndex(of: UInt8(ascii: "\n"), or: UInt8(ascii: "\n"), from: lineStart)
            defer { lineStart = lineEnd + 1 }
            lineNo += 1
            let line = UnsafeBufferPointer(rebasing: b[lineStart..<lineEnd])
            switch lineNo {
            case 1:
                guard String(decoding: line, as: UTF8.self) == header else { return nil }
            case 2:
                guard let fields = Logfmt.parse(bytes: line), fields.count == 1, fields[0].0 == "source", fields[0].1 == source else { return nil }
            case 3:
                guard let fields = Logfmt.parse(bytes: line), fields.count == 1, fields[0].0 == "emulator", !fields[0].1.isEmpty else { return nil }
                emulator = fields[0].1
            default:
                guard let m = machineLine(line, wanted: wanted) else { return nil }
                if let m = m { machines.append(m) }
            }
        }
        guard let emulator else { return nil }
        return QemuCapabilities(emulator: emulator, machines: machines)
    }

    /// One `type= name= [alias=] numa_mem=` line: nil when it is not one; .some(nil) when it
    /// is, but names another machine than `wanted` (nil: every machine is wanted).
    private static func machineLine(_ line: UnsafeBufferPointer<UInt8>, wanted: [UInt8]?) -> MachineCapability?? {
        // The keys and the numa_mem value are checked on bytes; Strings are made only for a
        // machine that is wanted.
        var fields = MachineFields(wanted: wanted)
        guard Logfmt.scan(bytes: line, { fields.take($0, $1) }), fields.valid, fields.type, fields.name, fields.numa else { return nil }
        guard fields.matches else { return .some(nil) }
        guard let pairs = Logfmt.parse(bytes: line) else { return nil }
        func value(_ k: String) -> String? { pairs.first { $0.0 == k }?.1 }
        guard let type = value("type"), let name = value("name") else { return nil }
        return .some(MachineCapability(virtType: type, name: name, alias: value("alias"), numaMemSupported: fields.numaYes))
    }

    /// What `machineLine` learns of a line's pairs, each key at most once.
    private struct MachineFields {
        let wanted: [UInt8]?
        var type = false, name = false, alias = false, numa = false, numaYes = false, valid = true
        var matches: Bool

        init(wanted: [UInt8]?) { self.wanted = wanted; matches = wanted == nil }

        mutating func take(_ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
            func once(_ seen: inout Bool) { if seen { valid = false }; seen = true }
            if key.hasSameBytes(as: "name") {
                once(&name)
                if !matches, let wanted { matches = wanted.withUnsafeBufferPointer { value.hasSameBytes(as: $0) } }
            } else if key.hasSameBytes(as: "alias") {
                once(&alias)
                if !matches, let wanted { matches = wanted.withUnsafeBufferPointer { value.hasSameBytes(as: $0) } }
            } else if key.hasSameBytes(as: "type") {
                once(&type)
            } else if key.hasSameBytes(as: "numa_mem") {
                once(&numa)
                numaYes = value.hasSameBytes(as: "yes")
                if !numaYes && !value.hasSameBytes(as: "no") { valid = false }
            } else {
                valid = false
            }
        }
    }
}
