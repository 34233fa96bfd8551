/// What the guard keeps from one of libvirt's QEMU capabilities cache files: the emulator and
/// its machine types, a few kilobytes of text in place of some 200 KiB of XML. Each digest
/// names the cache file it was read from, as the file's identity (device, inode, size,
/// modification and change times): libvirt replaces the file whenever it probes QEMU anew,
/// which changes that identity, and a digest of another identity is never used. The last line
/// seals the rest: a 64-bit FNV-1a hash of every byte before it, so a digest changed in any
/// way after it was written (by hand, or by a fault of the disk) is not used either.
///
///     # hugepage-guard: machine types from a QEMU capabilities cache of libvirt (rewritten when it changes)
///     source="926803a9….xml 64768:1234 209199 1764354720.123456789 1764354720.123456789"
///     emulator=/usr/bin/qemu-system-x86_64
///     type=kvm name=pc-i440fx-7.2 alias=pc numa_mem=no
///     type=kvm name=pc-i440fx-2.12 numa_mem=yes
///     sum=5d0e1c7ab2f9e364
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
        return seal(lines.concatenated(separator: "\n") + "\n")
    }

    /// `body` (whole lines, ending in a newline) with the line that seals it: `sum=` and the
    /// body's hash (`fnv1a`) in 16 hexadecimal digits.
    public static func seal(_ body: String) -> String {
        var body = body
        let sum = body.withUTF8 { fnv1a($0) }
        let hex = String(sum, radix: 16)
        return body + "sum=" + String(repeating: "0", count: 16 - hex.utf8.count) + hex + "\n"
    }

    /// 64-bit FNV-1a, taken over the bytes eight at a time (each group read as a little-endian
    /// 64-bit word, the last one padded with zero bytes) rather than one at a time: a change
    /// to any byte changes the hash all the same, in an eighth of the multiplications, each
    /// of which waits for the one before.
    private static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01b3
        let raw = UnsafeRawBufferPointer(bytes)
        var i = 0
        while i + 8 <= raw.count {
            hash = (hash ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* prime
            i += 8
        }
        if i < raw.count {
            var last: UInt64 = 0
            for (k, b) in raw[i...].enumerated() { last |= UInt64(b) << (8 * k) }
            hash = (hash ^ last) &* prime
        }
        // The length, so that trailing zero bytes are not lost in the padding.
        return (hash ^ UInt64(raw.count)) &* prime
    }

    /// Whether `line` is `sum=` and the hash of `body` as `seal` writes it.
    private static func sealMatches(_ line: UnsafeBufferPointer<UInt8>, body: UnsafeBufferPointer<UInt8>) -> Bool {
        let prefix: StaticString = "sum="
        guard line.count == prefix.utf8CodeUnitCount + 16,
              line.startsWithBytes(of: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)) else { return false }
        var sum = fnv1a(body)
        for i in stride(from: line.count - 1, through: prefix.utf8CodeUnitCount, by: -1) {
            let digit = sum & 0xf
            let expected = digit < 10 ? UInt8(ascii: "0") + UInt8(digit) : UInt8(ascii: "a") + UInt8(digit - 10)
            guard line[i] == expected else { return false }
            sum >>= 4
        }
        return true
    }

    /// The capabilities in `text`, when it is a digest of the file `source` names; nil for a
    /// digest of another file or of an earlier version of it, and for any text that is not
    /// a digest as `encode` writes it, its seal included. With `machine`, only the machine types
    /// of that name or alias are kept (what one domain needs): only the lines that hold the name
    /// are read, as the seal already vouches for the others.
    public static func decode(_ text: String, source: String, machine: String? = nil) -> QemuCapabilities? {
        var text = text
        return text.withUTF8 { decode(bytes: $0, source: source, machine: machine) }
    }

    /// The lines before the seal of `b`, a digest as `seal` writes it (whole lines, the last
    /// one `sum=` and the hash of the others); nil when that last line doesn't match them.
    static func sealedBody(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard let last = b.last, last == UInt8(ascii: "\n") else { return nil }
        var sealStart = b.count - 1
        while sealStart > 0 && b[sealStart - 1] != UInt8(ascii: "\n") { sealStart -= 1 }
        let body = UnsafeBufferPointer(rebasing: b[..<sealStart])
        return sealMatches(UnsafeBufferPointer(rebasing: b[sealStart..<(b.count - 1)]), body: body) ? body : nil
    }

    static func decode(bytes b: UnsafeBufferPointer<UInt8>, source: String, machine: String?) -> QemuCapabilities? {
        guard let body = sealedBody(b) else { return nil }
        let wanted = machine.map { Array($0.utf8) }
        // A line that names the wanted machine holds it as `encode` wrote it.
        let written = machine.map { Array(Logfmt.value($0).utf8) }
        var lineStart = 0, lineNo = 0
        var emulator: String?
        var machines: [MachineCapability] = []
        while lineStart < body.count {
            let lineEnd = body.firstIndex(of: UInt8(ascii: "\n"), or: UInt8(ascii: "\n"), from: lineStart)
            defer { lineStart = lineEnd + 1 }
            lineNo += 1
            let line = UnsafeBufferPointer(rebasing: body[lineStart..<lineEnd])
            switch lineNo {
            case 1:
                guard header.utf8.elementsEqual(line) else { return nil }
            case 2:
                guard let fields = Logfmt.parse(bytes: line), fields.count == 1, fields[0].0 == "source", fields[0].1 == source else { return nil }
            case 3:
                guard let fields = Logfmt.parse(bytes: line), fields.count == 1, fields[0].0 == "emulator", !fields[0].1.isEmpty else { return nil }
                emulator = fields[0].1
            default:
                if let written, !written.withUnsafeBufferPointer({ mayName(line, $0) }) { continue }
                guard let m = machineLine(line, wanted: wanted) else { return nil }
                if let m = m { machines.append(m) }
            }
        }
        guard let emulator else { return nil }
        return QemuCapabilities(emulator: emulator, machines: machines)
    }

    /// Whether a machine line may name `written` (a name as `encode` writes it, quoted when
    /// it needs to be): its `name=` or `alias=`, found where `encode` puts them (after
    /// `type=`, in that order), holds it. A line laid out otherwise may: `machineLine` reads it.
    private static func mayName(_ line: UnsafeBufferPointer<UInt8>, _ written: UnsafeBufferPointer<UInt8>) -> Bool {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var i = line.firstIndex(of: space, or: space, from: 0) + 1  // past `type=…`
        /// The value of `key` at `i`, as written (quotes and escapes kept); moves `i` past it.
        func value(after key: StaticString) -> UnsafeBufferPointer<UInt8>? {
            let k = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            guard i + k.count < line.count, UnsafeBufferPointer(rebasing: line[i..<(i + k.count)]).hasSameBytes(as: k) else { return nil }
            let start = i + k.count
            var end = start
            if line[start] == quote {
                end += 1
                while end < line.count, line[end] != quote { end += line[end] == backslash ? 2 : 1 }
                end = min(end + 1, line.count)
            } else {
                end = line.firstIndex(of: space, or: space, from: start)
            }
            i = end + 1
            return UnsafeBufferPointer(rebasing: line[start..<end])
        }
        guard let name = value(after: "name=") else { return true }
        if name.hasSameBytes(as: written) { return true }
        guard let alias = value(after: "alias=") else { return false }
        return alias.hasSameBytes(as: written)
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
