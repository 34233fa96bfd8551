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

    /// Every key, as the unknown-key error lists them.
    public static var knownKeys: [String] {
        ["policy", "reserve.<size>", "reserve.<size>.node<N>"] + settings.map { $0.key }.filter { $0 != "policy" }
            + ["pool.grow.max.<size>", "pool.grow.max.<size>.node<N>"]
    }

    /// Reserve for `pageSizeKiB` that applies anywhere (`node == nil`) or on one node.
    public func reserve(pageSizeKiB: UInt64, node: Int?) -> UInt64 {
        reserves.first { $0.pageSizeKiB == pageSizeKiB && $0.node == node }?.pages ?? 0
    }

    // MARK: The keys

    /// What is wrong with a value, said after "<key> '<value>'".
    struct ValueError: Error { var problem: String }

    /// A key with a fixed name and how its value is read into the config.
    struct Setting: Sendable {
        var key: String
        var apply: @Sendable (inout GuardConfig, String) throws(ValueError) -> Void
    }

    /// The keys with a fixed name; `reserve.*` and `pool.grow.max.*` keys are read by
    /// `sizedKey`. A new key is
    /// one entry here (and a line in packaging/hugepage-guard.conf and its man page).
    static let settings: [Setting] = [
        Setting(key: "policy") { config, value throws(ValueError) in
            guard let p = Policy(rawValue: value) else { throw ValueError(problem: "is not one of enforce, warn, off") }
            config.policy = p
        },
        Setting(key: "state_dir") { config, value throws(ValueError) in config.stateDir = try absolutePath(value) },
        Setting(key: "reservation_timeout") { config, value throws(ValueError) in config.reservationTimeout = try seconds(value) },
        Setting(key: "agent.reconcile_interval") { config, value throws(ValueError) in config.reconcileInterval = try seconds(value) },
        Setting(key: "agent.metrics_path") { config, value throws(ValueError) in config.metricsPath = try absolutePath(value) },
        Setting(key: "pool.grow") { config, value throws(ValueError) in config.growth.grow = try onOff(value) },
        Setting(key: "pool.grow.min_available") { config, value throws(ValueError) in
            guard let floor = MemoryFloor.parse(value) else {
                throw ValueError(problem: "must be a size like 2G or 512M (digits, then K, M, G or T), or a percentage of memory from 0% to 100%")
            }
            config.growth.minAvailable = floor
        },
        Setting(key: "pool.shrink") { config, value throws(ValueError) in config.growth.shrink = try onOff(value) },
    ]

    static func onOff(_ value: String) throws(ValueError) -> Bool {
        switch value {
        case "on": return true
        case "off": return false
        default: throw ValueError(problem: "is not one of on, off")
        }
    }

    static func absolutePath(_ value: String) throws(ValueError) -> String {
        guard value.hasPrefix("/") else { throw ValueError(problem: "must be an absolute path") }
        return value
    }

    /// The longest interval a key in seconds takes: 2^31 - 1 (68 years). Larger values
    /// mean nothing, and added to a boot-clock time they could overflow.
    public static let maxSeconds: Int64 = 2_147_483_647

    static func seconds(_ value: String) throws(ValueError) -> Int64 {
        let problem = "must be a whole number of seconds from 1 to \(maxSeconds)"
        guard case .value(let n) = ASCIIDecimal(Substring(value)), n >= 1, n <= UInt64(maxSeconds) else { throw ValueError(problem: problem) }
        return Int64(n)
    }

    /// The highest NUMA node number: Linux has at most 1024 nodes (`NODES_SHIFT` is at most 10).
    public static let maxNode = 1023

    /// `reserve.<size>` or `reserve.<size>.node<N>`: the page size in KiB and the node.
    /// Throws the problem with the key itself.
    static func reserveKey(_ key: String) throws(ValueError) -> (pageSizeKiB: UInt64, node: Int?) {
        try sizedKey(key, prefix: "reserve.")
    }

    /// The keys that hold a page count per page size and optionally per node, by prefix.
    static let sizedKeyPrefixes = ["reserve.", "pool.grow.max."]

    /// `<prefix><size>` or `<prefix><size>.node<N>` (`prefix` ends in a dot): the page size
    /// in KiB and the node. Throws the problem with the key itself.
    static func sizedKey(_ key: String, prefix: String) throws(ValueError) -> (pageSizeKiB: UInt64, node: Int?) {
        let parts = key.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else {
            throw ValueError(problem: "expected \(prefix)<size> or \(prefix)<size>.node<N>, with a size like 2M or 1G")
        }
        let size: UInt64
        switch pageSize(parts[0]) {
        case .success(let kib): size = kib
        case .failure(let error): throw error
        }
        guard parts.count == 2 else { return (size, nil) }
        guard parts[1].hasPrefix("node") else { throw ValueError(problem: "expected a node like node0 after the size") }
        switch ASCIIDecimal(parts[1].dropFirst(4)) {
        case .value(let n) where n <= UInt64(maxNode): return (size, Int(n))
        case .value, .tooLarge: throw ValueError(problem: "node numbers go from 0 to \(maxNode)")
        case .invalid: throw ValueError(problem: "expected a node like node0 after the size")
        }
    }

    /// `2M`, `2MiB`, `1G`, `2048K`, `2048kB` (the kernel's spelling) -> KiB. Always binary.
    public static func parsePageSize(_ text: String) -> UInt64? {
        try? pageSize(Substring(text)).get()
    }

    static func pageSize(_ text: Substring) -> Result<UInt64, ValueError> {
        let spelling = ValueError(problem: "expected a page size like 2M or 1G (a number, then K, M or G)")
        let (digits, rest) = text.splitAtFirstNonDigit
        let unit: UInt64
        switch rest.asciiLowercased() {
        case "k", "kb", "kib": unit = 1
        case "m", "mb", "mib": unit = 1024
        case "g", "gb", "gib": unit = 1024 * 1024
        default: return .failure(spelling)
        }
        let n: UInt64
        switch ASCIIDecimal(digits) {
        case .value(let v): n = v
        case .invalid: return .failure(spelling)
        case .tooLarge: return .failure(ValueError(problem: "the page size is too large"))
        }
        let (kib, overflow) = n.multipliedReportingOverflow(by: unit)
        if overflow { return .failure(ValueError(problem: "the page size is too large")) }
        guard kib > 0, kib & (kib - 1) == 0 else {
            return .failure(ValueError(problem: "page sizes are powers of two, like 2M or 1G"))
        }
        return .success(kib)
    }

    // MARK: The file

    /// Parses the file's text. `source` names the file in error messages.
    public static func parse(_ text: String, source: String) throws(ConfigError) -> GuardConfig {
        var config = GuardConfig()
        // Canonical spelling of each key seen, with its line and spelling: `reserve.2M.node0`,
        // `reserve.2048kB.node00` and `reserve.2MiB.node0` are one key. A config sets a few
        // keys, so a list is enough.
        var seen: [(canonical: String, line: Int, key: String)] = []
        var text = text
        let bytes = text.withUTF8 { Array($0) }
        let u = text.utf8
        // A UTF-8 byte-order mark is not part of the first key.
        var lineStart = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        // Lines end at "\n"; the "\r" of a CRLF file is trimmed with the blanks below.
        var lineNo = 0
        while lineStart <= bytes.count {
            lineNo += 1
            let lineEnd = bytes.withUnsafeBufferPointer { $0.firstIndex(of: 0x0A, or: 0x0A, from: lineStart) }
            defer { lineStart = lineEnd + 1 }
            // Blank lines and comments (the file as shipped is mostly comments) are skipped on
            // bytes. A `#` followed by a non-ASCII byte may begin a longer character (a
            // combining mark), which is not a comment: such a line goes the long way below.
            var first = lineStart
            while first < lineEnd, bytes[first] == 0x20 || bytes[first] == 0x09 || bytes[first] == 0x0D { first += 1 }
            if first == lineEnd { continue }
            if bytes[first] == UInt8(ascii: "#"), first + 1 == lineEnd || bytes[first + 1] < 0x80 { continue }
            let rawLine = Substring(text.unicodeScalars[u.index(u.startIndex, offsetBy: lineStart)..<u.index(u.startIndex, offsetBy: lineEnd)])
            func fail(_ message: String) -> ConfigError { ConfigError(source: source, line: lineNo, message: message) }
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                throw fail("expected 'key = value', found \(quoted(line))")
            }
            let key = line[..<eq].trimmingCharacters(in: " \t")
            var value = line[line.utf8.index(after: eq)...].trimmingCharacters(in: " \t")
            if let hash = value.utf8.firstIndex(of: UInt8(ascii: "#")) { value = value[..<hash].trimmingCharacters(in: " \t") }
            if value.isEmpty { throw fail("\(quoted(key)) has no value") }

            // The key's canonical spelling: reserve and growth cap keys by page size in KiB and
            // node number.
            let canonical: String
            if let prefix = sizedKeyPrefixes.first(where: { key.hasPrefix($0) }) {
                let parsed: (pageSizeKiB: UInt64, node: Int?)
                do { parsed = try sizedKey(key, prefix: prefix) } catch { throw fail("\(quoted(key)): \(error.problem)") }
                let pages: UInt64
                switch ASCIIDecimal(Substring(value)) {
                case .value(let n): pages = n
                case .tooLarge: throw fail("\(key) \(quoted(value)) is out of range: at most \(UInt64.max) pages")
                case .invalid: throw fail("\(key) \(quoted(value)) must be a whole number of pages (digits only)")
                }
                canonical = "\(prefix)\(parsed.pageSizeKiB)K" + (parsed.node.map { ".node\($0)" } ?? "")
                if prefix == "reserve." {
                    config.reserves.append(HostReserve(pageSizeKiB: parsed.pageSizeKiB, node: parsed.node, pages: pages))
                } else {
                    config.growth.caps.append(GrowCap(pageSizeKiB: parsed.pageSizeKiB, node: parsed.node, pages: pages))
                }
            } else if let setting = settings.first(where: { $0.key == key }) {
                canonical = key
                do { try setting.apply(&config, value) } catch { throw fail("\(key) \(quoted(value)) \(error.problem)") }
            } else {
                throw fail("unknown key \(quoted(key)) (known keys: \(knownKeys.joined(separator: ", ")))")
            }
            if let first = seen.first(where: { $0.canonical == canonical }) {
                let spelling = first.key == key ? "" : " as \(quoted(first.key)), the same key in another spelling"
                throw fail("\(quoted(key)) is set twice (first on line \(first.line)\(spelling))")
            }
            seen.append((canonical, lineNo, key))
        }
        return config
    }

    /// Text from the file in quotes, with invisible and control characters escaped.
    static func quoted<S: StringProtocol>(_ text: S) -> String { "'" + TerminalText.escaped(String(text)) + "'" }
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
    /// Escaped: the file name and the message never carry a raw control or invisible character.
    public var description: String {
        TerminalText.escaped(line > 0 ? "\(source) line \(line): \(message)" : "\(source): \(message)")
    }
}
