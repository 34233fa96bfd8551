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
    /// a digest as `encode` writes it.
    public static func decode(_ text: String, source: String) -> QemuCapabilities? {
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.last?.isEmpty == true else { return nil }  // written whole, ending in a newline
        lines.removeLast()
        guard lines.count >= 3, String(Substring(lines[0])) == header,
              let sourceLine = Logfmt.parse(Substring(lines[1])), sourceLine.count == 1,
              sourceLine[0].0 == "source", sourceLine[0].1 == source,
              let emulatorLine = Logfmt.parse(Substring(lines[2])), emulatorLine.count == 1,
              emulatorLine[0].0 == "emulator", !emulatorLine[0].1.isEmpty else { return nil }
        var machines: [MachineCapability] = []
        machines.reserveCapacity(lines.count - 3)
        for line in lines.dropFirst(3) {
            guard let fields = Logfmt.parse(Substring(line)) else { return nil }
            var type: String?, name: String?, alias: String?, numa: Bool?
            for (key, value) in fields {
                switch key {
                case "type" where type == nil: type = value
                case "name" where name == nil: name = value
                case "alias" where alias == nil: alias = value
                case "numa_mem" where numa == nil:
                    guard value == "yes" || value == "no" else { return nil }
                    numa = value == "yes"
                default: return nil
                }
            }
            guard let type, let name, let numa else { return nil }
            machines.append(MachineCapability(virtType: type, name: name, alias: alias, numaMemSupported: numa))
        }
        return QemuCapabilities(emulator: emulatorLine[0].1, machines: machines)
    }
}
