/// The `pool.*` keys of the config file: growing the hugepage pool when a start would be
/// refused, and giving the pages back when the VM stops. Growth is off by default, so a
/// config without these keys behaves as before they existed.
public struct GrowthConfig: Equatable, Sendable {
    /// `pool.grow = on | off`.
    public var grow = false
    /// `pool.grow.max.<size>[.node<N>] = pages`: growth never takes the pool (or the node's
    /// pool) past this many pages. No key: no cap.
    public var caps: [GrowCap] = []
    /// `pool.grow.min_available`: growth never leaves less memory than this, checked against
    /// `MemAvailable` (or the node's `MemFree` for node-bound growth).
    public var minAvailable: MemoryFloor = .percent(10)
    /// `pool.shrink = on | off`: give back at `release end` what was grown for the domain.
    public var shrink = true

    public init() {}

    /// The cap on the pool of `pageSizeKiB` as a whole (`node == nil`) or on one node.
    public func cap(pageSizeKiB: UInt64, node: Int?) -> UInt64? {
        caps.first { $0.pageSizeKiB == pageSizeKiB && $0.node == node }?.pages
    }
}

public struct GrowCap: Equatable, Sendable {
    public var pageSizeKiB: UInt64
    public var node: Int?
    public var pages: UInt64
    public init(pageSizeKiB: UInt64, node: Int?, pages: UInt64) { self.pageSizeKiB = pageSizeKiB; self.node = node; self.pages = pages }
}

/// How much memory growth must leave: a fixed size, or a share of the memory it is checked
/// against (the host's `MemTotal`, or the node's).
public enum MemoryFloor: Equatable, Sendable, CustomStringConvertible {
    case kib(UInt64)
    case percent(UInt64)

    /// The floor in KiB for memory of `totalKiB`.
    public func kib(ofTotal totalKiB: UInt64) -> UInt64 {
        switch self {
        case .kib(let k): return k
        case .percent(let p):
            let (product, overflow) = totalKiB.multipliedReportingOverflow(by: p)
            return overflow ? totalKiB / 100 * p : product / 100
        }
    }

    /// `2G`, `512M`, `2GiB`, `1048576K`, or `10%`: ASCII digits (no sign, spaces or
    /// underscores), then a binary unit or `%`. A bare number is refused (bytes or KiB would
    /// be a guess), and so is a size past `UInt64.max` KiB.
    public static func parse(_ text: String) -> MemoryFloor? {
        if text.hasSuffix("%") {
            guard case .value(let p) = ASCIIDecimal(Substring(text.dropLast())), p <= 100 else { return nil }
            return .percent(p)
        }
        let (digits, rest) = Substring(text).splitAtFirstNonDigit
        guard case .value(let n) = ASCIIDecimal(digits) else { return nil }
        let per: UInt64
        switch rest.asciiLowercased() {
        case "k", "kb", "kib": per = 1
        case "m", "mb", "mib": per = 1024
        case "g", "gb", "gib": per = 1024 * 1024
        case "t", "tb", "tib": per = 1024 * 1024 * 1024
        default: return nil
        }
        let (kib, overflow) = n.multipliedReportingOverflow(by: per)
        return overflow ? nil : .kib(kib)
    }

    public var description: String {
        switch self {
        case .kib(let k): return humanMemory(kib: k)
        case .percent(let p): return "\(p)%"
        }
    }
}

/// "1.5 GiB", "512 MiB", "12 KiB": amounts of memory for people (one decimal at most).
public func humanMemory(kib: UInt64) -> String {
    let units: [(UInt64, String)] = [(1024 * 1024 * 1024, "TiB"), (1024 * 1024, "GiB"), (1024, "MiB")]
    for (size, name) in units where kib >= size {
        let (scaled, overflow) = kib.multipliedReportingOverflow(by: 10)
        let tenths = overflow ? kib / size * 10 : scaled / size
        let whole = tenths / 10, frac = tenths % 10
        return frac == 0 ? "\(whole) \(name)" : "\(whole).\(frac) \(name)"
    }
    return "\(kib) KiB"
}
