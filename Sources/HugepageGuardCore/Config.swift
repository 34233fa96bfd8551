/// `/etc/hugepage-guard/hugepage-guard.conf`: `key = value` lines, `#` comments.
public struct GuardConfig: Equatable, Sendable {
    public var policy: Policy = .enforce
    /// Pages kept free for the host, per page size and optionally per node.
    public var reserves: [HostReserve] = []
    public var stateDir: String = "/run/hugepage-guard"
    /// Seconds after which an in-flight reservation whose start never finished expires.
    public var reservationTimeout: Int64 = 900
    /// Seconds between the agent's timed reconciliations.
    public var reconcileInterval: Int64 = 60
    /// Where the agent writes Prometheus metrics (node-exporter textfile collector).
    public var metricsPath: String = "/var/lib/prometheus/node-exporter/hugepage_guard.prom"
    /// The `pool.*` keys: growing the pool on demand (off by default).
    public var growth = GrowthConfig()

    public init() {}

    public static let knownKeys = ["policy", "reserve.<size>", "reserve.<size>.node<N>", "state_dir",
                                   "reservation_timeout", "agent.reconcile_interval", "agent.metrics_path"] + GrowthConfig.knownKeys

    /// Reserve for `pageSizeKiB` that applies anywhere (`node == nil`) or on one node.
    public func reserve(pageSizeKiB: UInt64, node: Int?) -> UInt64 {
        reserves.first { $0.pageSizeKiB == pageSizeKiB && $0.node == node }?.pages ?? 0
    }

    /// Parses the file's text. `source` names the file in error messages.
    public static func parse(_ text: String, source: String) throws(ConfigError) -> GuardConfig {
        var config = GuardConfig()
        var seen: [String: Int] = [:]
        // "\r\n" is one Character in Swift: split on both so CRLF files work.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            let lineNo = index + 1
            func fail(_ message: String) -> ConfigError { ConfigError(source: source, line: lineNo, message: message) }
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw fail("expected 'key = value', found '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: " \t")
            var value = line[line.index(after: eq)...].trimmingCharacters(in: " \t")
            if let hash = value.firstIndex(of: "#") { value = value[..<hash].trimmingCharacters(in: " \t") }
            if value.isEmpty { throw fail("'\(key)' has no value") }
            // reserve.2M and reserve.2048kB are the same key.
            let canonical = key.hasPrefix("reserve.") ? canonicalReserveKey(key) ?? key : GrowthConfig.canonicalKey(key)
            if let first = seen[canonical] { throw fail("'\(key)' is set twice (first on line \(first))") }
            seen[canonical] = lineNo

            switch key {
            case "policy":
                guard let p = Policy(rawValue: value) else {
                    throw fail("policy '\(value)' is not one of enforce, warn, off")
                }
                config.policy = p
            case "state_dir":
                guard value.hasPrefix("/") else { throw fail("state_dir '\(value)' must be an absolute path") }
                config.stateDir = value
            case "agent.metrics_path":
                guard value.hasPrefix("/") else { throw fail("agent.metrics_path '\(value)' must be an absolute path") }
                config.metricsPath = value
            case "reservation_timeout", "agent.reconcile_interval":
                guard let n = Int64(value), n > 0 else { throw fail("\(key) '\(value)' must be a positive number of seconds") }
                if key == "reservation_timeout" { config.reservationTimeout = n } else { config.reconcileInterval = n }
            case _ where key.hasPrefix("reserve."):
                let parts = key.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 2 || parts.count == 3, let size = parsePageSize(String(parts[1])) else {
                    throw fail("'\(key)': expected reserve.<size> or reserve.<size>.node<N>, with a size like 2M or 1G")
                }
                var node: Int?
                if parts.count == 3 {
                    guard parts[2].hasPrefix("node"), let n = Int(parts[2].dropFirst(4)), n >= 0 else {
                        throw fail("'\(key)': expected a node like node0 after the size")
                    }
                    node = n
                }
                guard let pages = UInt64(value) else { throw fail("\(key) '\(value)' must be a whole number of pages") }
                config.reserves.append(HostReserve(pageSizeKiB: size, node: node, pages: pages))
            case _ where GrowthConfig.owns(key):
                do { try config.growth.apply(key: key, value: value) } catch { throw fail(error.message) }
            default:
                throw fail("unknown key '\(key)' (known keys: \(knownKeys.joined(separator: ", ")))")
            }
        }
        return config
    }

    /// `reserve.2M.node1` -> `reserve.2048.node1`; nil if it doesn't parse (reported later).
    private static func canonicalReserveKey(_ key: String) -> String? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let size = parsePageSize(String(parts[1])) else { return nil }
        return (["reserve", String(size)] + parts.dropFirst(2).map(String.init)).joined(separator: ".")
    }

    /// `2M`, `2MiB`, `1G`, `2048K`, `2048kB` (the kernel's spelling) -> KiB. Always binary.
    public static func parsePageSize(_ text: String) -> UInt64? {
        let digits = text.prefix { $0.isNumber }
        guard let n = UInt64(digits), n > 0 else { return nil }
        switch text.dropFirst(digits.count).lowercased() {
        case "k", "kb", "kib": return n
        case "m", "mb", "mib": return n * 1024
        case "g", "gb", "gib": return n * 1024 * 1024
        default: return nil
        }
    }
}

public struct HostReserve: Equatable, Sendable {
    public var pageSizeKiB: UInt64
    public var node: Int?
    public var pages: UInt64
    public init(pageSizeKiB: UInt64, node: Int?, pages: UInt64) { self.pageSizeKiB = pageSizeKiB; self.node = node; self.pages = pages }
}

/// A bad line in the config file, named by file and line.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var message: String
    public init(source: String, line: Int, message: String) { self.source = source; self.line = line; self.message = message }
    public var description: String { line > 0 ? "\(source) line \(line): \(message)" : "\(source): \(message)" }
}
