/// What libvirt's own files say about how it will start a domain: `/etc/libvirt/qemu.conf`
/// and its QEMU capabilities cache. Pure parsers; the host layer reads the files.

/// The qemu.conf keys that change hugepage demand.
public struct QemuConf: Equatable, Sendable {
    /// `hugetlbfs_mount`: a string or a list of strings; nil when absent (libvirt then
    /// uses every hugetlbfs mounted when it started). An empty list disables hugepages.
    public var hugetlbfsMounts: [String]?
    /// `memory_backing_dir`: where file-backed RAM lives (libvirt appends `/libvirt/qemu`).
    public var memoryBackingDir: String?
    /// `cgroup_controllers`: nil when absent (libvirt then uses every controller).
    public var cgroupControllers: [String]?

    public init(hugetlbfsMounts: [String]? = nil, memoryBackingDir: String? = nil, cgroupControllers: [String]? = nil) {
        self.hugetlbfsMounts = hugetlbfsMounts; self.memoryBackingDir = memoryBackingDir
        self.cgroupControllers = cgroupControllers
    }

    /// libvirt's default when qemu.conf doesn't set `memory_backing_dir`.
    public static let defaultMemoryBackingDir = "/var/lib/libvirt/qemu/ram"

    /// The directory QEMU's file-backed RAM goes to.
    public var effectiveMemoryBackingDir: String {
        memoryBackingDir.map { $0 + "/libvirt/qemu" } ?? Self.defaultMemoryBackingDir
    }

    /// Whether libvirt may use the cpuset controller, as far as qemu.conf says.
    public var allowsCpuset: Bool { cgroupControllers?.contains("cpuset") ?? true }
}

public struct QemuConfError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var message: String
    public var description: String { "\(source):\(line): \(message)" }
}

/// One value of libvirt's config syntax (`virConfParse`).
public enum ConfValue: Equatable, Sendable {
    case string(String)
    case number(Int64)
    case list([ConfValue])
}

extension QemuConf {
    /// Parses qemu.conf as libvirt's `virConfParse` does: `name = value` statements separated
    /// by newlines or `;`, values a string ('...', "...", or """...""" spanning lines, no
    /// escapes), a number, or a list `[v, v, ...]` that may span lines and end with a comma;
    /// `#` starts a comment outside strings, but not inside a list. When a key appears twice
    /// libvirt uses the first. A file libvirt would refuse is an error: libvirtd would not
    /// have started with it.
    public static func parse(_ text: String, source: String = "qemu.conf") throws(QemuConfError) -> QemuConf {
        try parse(bytes: Array(text.utf8), source: source)
    }

    /// The same, on the file's bytes.
    public static func parse(bytes: [UInt8], source: String = "qemu.conf") throws(QemuConfError) -> QemuConf {
        var parser = ConfParser(bytes: bytes, source: source)
        let entries = try parser.entries()
        func first(_ key: String) -> ConfValue? { entries.first { $0.0 == key }?.1 }
        func stringList(_ key: String) throws(QemuConfError) -> [String]? {
            guard let value = first(key) else { return nil }
            switch value {
            case .string(let s): return [s]
            case .list(let items):
                var out: [String] = []
                for item in items {
                    guard case .string(let s) = item else {
                        throw QemuConfError(source: source, line: 0, message: "expected a string list for '\(key)'")
                    }
                    out.append(s)
                }
                return out
            case .number:
                throw QemuConfError(source: source, line: 0, message: "expected a string or string list for '\(key)'")
            }
        }
        var conf = QemuConf()
        conf.hugetlbfsMounts = try stringList("hugetlbfs_mount")
        conf.cgroupControllers = try stringList("cgroup_controllers")
        if let v = first("memory_backing_dir") {
            guard case .string(let s) = v else {
                throw QemuConfError(source: source, line: 0, message: "expected a string for 'memory_backing_dir'")
            }
            conf.memoryBackingDir = s
        }
        return conf
    }
}

private struct ConfParser {
    let bytes: [UInt8]
    let source: String
    var i = 0
    var line = 1

    /// The end of a line is `\n` or `\r`, as for libvirt; a file without any `\r` (every
    /// qemu.conf Debian ships) has its comments skipped with one search each.
    let eolOther: UInt8

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes; self.source = source
        eolOther = bytes.withUnsafeBufferPointer { $0.firstIndex(of: 0x0D, or: 0x0D, from: 0) == $0.count } ? 0x0A : 0x0D
    }

    var cur: UInt8? { i < bytes.count ? bytes[i] : nil }
    func fail(_ message: String) -> QemuConfError { QemuConfError(source: source, line: line, message: message) }
    static func isBlank(_ c: UInt8?) -> Bool { c == 0x20 || c == 0x09 }
    static func isEOL(_ c: UInt8?) -> Bool { c == 0x0A || c == 0x0D }

    mutating func skipBlanks() { while Self.isBlank(cur) { i += 1 } }
    mutating func skipBlanksAndEOL() {
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0A { line += 1 } else if c != 0x20 && c != 0x09 && c != 0x0D { return }
            i += 1
        }
    }
    mutating func skipToEOL() { i = bytes.withUnsafeBufferPointer { $0.firstIndex(of: 0x0A, or: eolOther, from: i) } }

    mutating func entries() throws(QemuConfError) -> [(String, ConfValue)] {
        var out: [(String, ConfValue)] = []
        while i < bytes.count {
            skipBlanksAndEOL()
            guard i < bytes.count else { break }
            if cur == UInt8(ascii: "#") {
                // A run of whole-line comments (most of the file as shipped), a line at a time.
                skipToEOL()
                while eolOther == 0x0A, i + 1 < bytes.count, bytes[i] == 0x0A, bytes[i + 1] == UInt8(ascii: "#") {
                    line += 1
                    i += 1
                    skipToEOL()
                }
            } else {
                let name = try self.name()
                skipBlanks()
                guard cur == UInt8(ascii: "=") else { throw fail("expecting an assignment after '\(name)'") }
                i += 1
                skipBlanks()
                let value = try self.value(depth: 0)
                skipBlanks()
                if cur == UInt8(ascii: "#") { skipToEOL() }
                out.append((name, value))
            }
            // Separator: end of line, ';', or the end.
            skipBlanks()
            guard i < bytes.count else { break }
            if Self.isEOL(cur) {
                skipBlanksAndEOL()
            } else if cur == UInt8(ascii: ";") {
                i += 1
                skipBlanksAndEOL()
            } else {
                throw fail("expecting a separator")
            }
        }
        return out
    }

    mutating func name() throws(QemuConfError) -> String {
        let start = i
        guard let c = cur, Self.isAlpha(c) else { throw fail("expecting a name") }
        while let c = cur, Self.isAlpha(c) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }

    mutating func value(depth: Int) throws(QemuConfError) -> ConfValue {
        guard depth < 32 else { throw fail("lists nested too deeply") }
        skipBlanks()
        guard let c = cur else { throw fail("expecting a value") }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return .string(try string()) }
        if c == UInt8(ascii: "[") {
            i += 1
            skipBlanksAndEOL()
            var items: [ConfValue] = []
            if cur != nil && cur != UInt8(ascii: "]") {
                items.append(try value(depth: depth + 1))
                skipBlanksAndEOL()
            }
            while let c = cur, c != UInt8(ascii: "]") {
                guard c == UInt8(ascii: ",") else { throw fail("expecting a separator in list") }
                i += 1
                skipBlanksAndEOL()
                if cur == UInt8(ascii: "]") { break }
                items.append(try value(depth: depth + 1))
                skipBlanksAndEOL()
            }
            guard cur == UInt8(ascii: "]") else { throw fail("list is not closed with ]") }
            i += 1
            return .list(items)
        }
        if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            var negative = false
            if c == UInt8(ascii: "-") { negative = true; i += 1 } else if c == UInt8(ascii: "+") { i += 1 }
            guard let d = cur, d >= 0x30 && d <= 0x39 else { throw fail("unterminated number") }
            var n: Int64 = 0
            while let d = cur, d >= 0x30 && d <= 0x39 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int64(d - 0x30))
                guard !o1 && !o2 else { throw fail("number too large") }
                n = s
                i += 1
            }
            return .number(negative ? -n : n)
        }
        throw fail("expecting a value")
    }

    mutating func string() throws(QemuConfError) -> String {
        let quote = cur!
        if quote == UInt8(ascii: "\""), i + 6 < bytes.count,
           bytes[i + 1] == quote, bytes[i + 2] == quote {
            i += 3
            let start = i
            while i + 2 < bytes.count && !(bytes[i] == quote && bytes[i + 1] == quote && bytes[i + 2] == quote) {
                if bytes[i] == 0x0A { line += 1 }
                i += 1
            }
            guard i + 2 < bytes.count else { throw fail("unterminated string") }
            let s = String(decoding: bytes[start..<i], as: UTF8.self)
            i += 3
            return s
        }
        i += 1
        let start = i
        while let c = cur, c != quote, !Self.isEOL(c) { i += 1 }
        guard cur == quote else { throw fail("unterminated string") }
        let s = String(decoding: bytes[start..<i], as: UTF8.self)
        i += 1
        return s
    }
}

/// One `<machine>` of libvirt's QEMU capabilities cache.
public struct MachineCapability: Equatable, Sendable {
    /// `kvm` or `tcg`: libvirt lists machines per accelerator.
    public var virtType: String
    public var name: String
    /// `alias`: the short name (`pc`, `q35`) that libvirt expands to `name` when it defines a domain.
    public var alias: String?
    /// QEMU accepts the legacy `-numa node,mem=` on this machine type.
    public var numaMemSupported: Bool
    public init(virtType: String, name: String, alias: String? = nil, numaMemSupported: Bool) {
        self.virtType = virtType; self.name = name; self.alias = alias; self.numaMemSupported = numaMemSupported
    }
}

/// One file of `/var/cache/libvirt/qemu/capabilities/`: what libvirt learned from one QEMU binary.
public struct QemuCapabilities: Equatable, Sendable {
    /// `<emulator>`: the QEMU binary this file describes.
    public var emulator: String
    public var machines: [MachineCapability]
    public init(emulator: String, machines: [MachineCapability]) { self.emulator = emulator; self.machines = machines }

    /// Reads the parts of a cache file (`virQEMUCapsFormatCache`) the demand needs: the
    /// `<emulator>` element and each `<machine type= name= numaMemSupported=>`, with the same
    /// XML reader (and limits) as domain XML. nil when the text is not such a file.
    public static func parse(_ text: String) -> QemuCapabilities? {
        guard let document = try? XMLDocument.parse(text) else { return nil }
        return parse(root: document.root)
    }

    /// The same, on the file's bytes: invalid UTF-8 makes it unreadable, as for libvirt.
    public static func parse(bytes: [UInt8]) -> QemuCapabilities? {
        guard let document = try? XMLDocument.parse(bytes) else { return nil }
        return parse(root: document.root)
    }

    private static func parse(root: XMLElement) -> QemuCapabilities? {
        guard root.name == "qemuCaps", let emulator = root.child("emulator")?.text, !emulator.isEmpty else { return nil }
        let machines = root.children("machine").compactMap { m -> MachineCapability? in
            guard let name = m["name"] else { return nil }
            // libvirt writes `type` on every machine; a cache from before per-accelerator lists
            // has none, and those machines were KVM's.
            return MachineCapability(virtType: m["type"] ?? "kvm", name: name, alias: m["alias"],
                                     numaMemSupported: m["numaMemSupported"] == "yes")
        }
        return QemuCapabilities(emulator: emulator, machines: machines)
    }
}

/// The hugetlbfs mounts libvirt uses, and which is its default (`virQEMUDriverConfig`).
public struct LibvirtHugetlbfs: Equatable, Sendable {
    public struct Mount: Equatable, Sendable {
        public var path: String
        public var pageSizeKiB: UInt64
        public var isDefault: Bool
        public init(path: String, pageSizeKiB: UInt64, isDefault: Bool) {
            self.path = path; self.pageSizeKiB = pageSizeKiB; self.isDefault = isDefault
        }
    }
    public var mounts: [Mount]
    public init(mounts: [Mount]) { self.mounts = mounts }

    /// From qemu.conf's `hugetlbfs_mount` list: libvirt 9.0 marks every entry after the
    /// first as a default (`i != 0`), so with two or more the second is the default.
    /// `sizeOf` gives a path's hugepage size as mounted (nil when it is not hugetlbfs).
    public static func configured(_ paths: [String], sizeOf: (String) -> UInt64?) -> LibvirtHugetlbfs {
        LibvirtHugetlbfs(mounts: paths.enumerated().compactMap { i, path in
            sizeOf(path).map { Mount(path: path, pageSizeKiB: $0, isDefault: i != 0) }
        })
    }

    /// Found by libvirt at start (`virFileFindHugeTLBFS`): every hugetlbfs mount, the default
    /// being those whose size is the kernel's default.
    public static func detected(_ mounts: [HugetlbfsMount], kernelDefaultKiB: UInt64?) -> LibvirtHugetlbfs {
        LibvirtHugetlbfs(mounts: mounts.map { Mount(path: $0.path, pageSizeKiB: $0.pageSizeKiB,
                                                    isDefault: $0.pageSizeKiB == kernelDefaultKiB) })
    }

    /// An empty `<hugepages/>`'s size (`qemuBuildMemoryGetDefaultPagesize`): the first default
    /// mount, else the first mount; nil when libvirt has none (such a start fails).
    public var defaultPageKiB: UInt64? { (mounts.first(where: { $0.isDefault }) ?? mounts.first)?.pageSizeKiB }

    public var asPoolMounts: [HugetlbfsMount] { mounts.map { HugetlbfsMount(path: $0.path, pageSizeKiB: $0.pageSizeKiB) } }
}

/// One line of /proc/mounts: where, what filesystem, and its options.
public struct MountEntry: Equatable, Sendable {
    public var path: String
    public var fsType: String
    /// The mount options, as `parse` keeps them: only for the filesystems whose options the
    /// guard reads (hugetlbfs's `pagesize=`, cgroup's controllers); empty for the others.
    public var options: [String]
    public init(path: String, fsType: String, options: [String]) { self.path = path; self.fsType = fsType; self.options = options }

    /// Every line of /proc/mounts (paths unescaped). Works on bytes: the hook reads this on
    /// every decision.
    public static func parse(procMounts: String) -> [MountEntry] {
        var text = procMounts
        return text.withUTF8 { b in
            var out: [MountEntry] = []
            var lines = 0, lineStart = 0
            while lineStart < b.count {
                lines += 1
                lineStart = b.firstIndex(of: 0x0A, or: 0x0A, from: lineStart) + 1
            }
            out.reserveCapacity(lines)
            lineStart = 0
            while lineStart < b.count {
                let lineEnd = b.firstIndex(of: 0x0A, or: 0x0A, from: lineStart)
                defer { lineStart = lineEnd + 1 }
                // The first four fields: device, path, type, options (no array for them: a
                // host has dozens of mounts).
                var fields = (0..<0, 0..<0, 0..<0, 0..<0)
                var found = 0
                var i = lineStart
                while found < 4 && i < lineEnd {
                    while i < lineEnd, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
                    let start = i
                    while i < lineEnd, b[i] != 0x20, b[i] != 0x09 { i += 1 }
                    guard i > start else { continue }
                    switch found {
                    case 0: fields.0 = start..<i
                    case 1: fields.1 = start..<i
                    case 2: fields.2 = start..<i
                    default: fields.3 = start..<i
                    }
                    found += 1
                }
                guard found == 4 else { continue }
                func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
                let fsType = text(fields.2)
                // A String per option of every mount would be most of the work.
                let readsOptions = fsType == "hugetlbfs" || fsType == "cgroup" || fsType == "cgroup2"
                let options = readsOptions
                    ? UnsafeBufferPointer(rebasing: b[fields.3]).split(separator: UInt8(ascii: ",")).map { String(decoding: $0, as: UTF8.self) }
                    : []
                let path = UnsafeBufferPointer(rebasing: b[fields.1])
                let escaped = path.contains(UInt8(ascii: "\\"))
                out.append(MountEntry(path: escaped ? PoolText.unescapeMountPath(text(fields.1)) : text(fields.1),
                                      fsType: fsType, options: options))
            }
            return out
        }
    }

    /// A hugetlbfs mount's page size (`pagesize=`, else the kernel's default); nil for others.
    public func hugePageKiB(kernelDefaultKiB: UInt64?) -> UInt64? {
        guard fsType == "hugetlbfs" else { return nil }
        var size = kernelDefaultKiB
        for opt in options where opt.hasPrefix("pagesize=") {
            let v = opt.dropFirst("pagesize=".count)
            let (digits, unit) = v.splitAtFirstNonDigit
            guard let n = UInt64(digits) else { return nil }
            size = SizeUnit.kibibytes(value: n, unit: unit.isEmpty ? "b" : String(unit))
        }
        return size
    }

    /// The deepest mount that holds `path`.
    public static func holding(_ path: String, in mounts: [MountEntry]) -> MountEntry? {
        // On bytes, without a String per mount: the hook asks on every decision.
        var path = path
        return path.withUTF8 { p -> MountEntry? in
            var best: (index: Int, length: Int)?
            for n in mounts.indices {
                var mountPath = mounts[n].path
                // The mount point's length when it holds `path`: `path` is the mount point
                // itself, or below it (the next byte is a slash, or the mount point ends in
                // one, as "/" does).
                let holding = mountPath.withUTF8 { m -> Int? in
                    guard p.startsWithBytes(of: m) else { return nil }
                    return p.count == m.count || m.last == UInt8(ascii: "/") || p[m.count] == UInt8(ascii: "/") ? m.count : nil
                }
                if let length = holding, length >= (best?.length ?? 0) { best = (n, length) }
            }
            return best.map { mounts[$0.index] }
        }
    }
}
