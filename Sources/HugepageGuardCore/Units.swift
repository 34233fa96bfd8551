/// Sizes as libvirt writes them: an integer plus an optional `unit` attribute.
///
/// libvirt (`virScaleInteger`) accepts b/bytes, k/KiB, KB, M/MiB, MB, G/GiB, GB, T/TiB, TB,
/// P/PiB, PB, E/EiB, EB, case-insensitively; the binary forms are powers of 1024 and the
/// `xB` forms powers of 1000. Memory elements then round *up* to whole KiB.
public enum SizeUnit {
    /// Bytes per unit, or nil when libvirt would reject the unit.
    public static func bytes(per unit: String) -> UInt64? {
        let u = unit.asciiLowercased()
        if u == "b" || u == "byte" || u == "bytes" { return 1 }
        let prefixes: [UInt8] = Array("kmgtpe".utf8)
        guard let first = u.utf8.first, let power = prefixes.firstIndex(of: first) else { return nil }
        let rest = Substring(u.utf8.dropFirst())
        let base: UInt64
        switch rest {
        case "", "ib": base = 1024
        case "b": base = 1000
        default: return nil
        }
        var result: UInt64 = 1
        for _ in 0...power { result *= base }
        return result
    }

    /// `value` in `unit` (default KiB), rounded up to whole KiB, as libvirt's
    /// `virDomainParseMemory` does. Returns nil for an unknown unit or on overflow.
    public static func kibibytes(value: UInt64, unit: String?) -> UInt64? {
        guard let per = bytes(per: unit ?? "KiB") else { return nil }
        let (b, overflow) = value.multipliedReportingOverflow(by: per)
        if overflow { return nil }
        return b / 1024 + (b % 1024 == 0 ? 0 : 1)
    }
}

/// "2 MiB", "1 GiB", "64 KiB": page sizes for people.
public func humanPageSize(kib: UInt64) -> String {
    if kib >= 1024 * 1024 && kib % (1024 * 1024) == 0 { return "\(kib / (1024 * 1024)) GiB" }
    if kib >= 1024 && kib % 1024 == 0 { return "\(kib / 1024) MiB" }
    return "\(kib) KiB"
}

/// "2M", "1G": the short form `virsh allocpages` and our config keys accept.
public func shortPageSize(kib: UInt64) -> String {
    if kib >= 1024 * 1024 && kib % (1024 * 1024) == 0 { return "\(kib / (1024 * 1024))G" }
    if kib >= 1024 && kib % 1024 == 0 { return "\(kib / 1024)M" }
    return "\(kib)K"
}
