import HugepageGuardCore
import HugepageGuardHost
import Logging

/// The agent's part in pool growth: pages grown for domains that are gone, the growth
/// metrics, and the `status` section.
public enum GrowthKeeper {
    /// Under the ledger's lock, after the reconciliation changed `after`: every entry with
    /// grown pages that left the ledger (a domain that crashed between grow and release, an
    /// expired reservation, pages a shrink could not give back yet) is logged and its pages
    /// given back as the hook's `release end` would (with `pool.shrink = on`, or always for
    /// a start that never ran). What still can't go back stays in the ledger for next time.
    public static func settle(before: Ledger, after: inout Ledger, growth: PoolGrowth, config: GuardConfig, now: Int64) -> [GrowthLogLine] {
        let gone = before.entries.filter { e in
            !e.grown.isEmpty && !after.entries.contains { $0.domain == e.domain && $0.grown == e.grown }
        }
        return growth.settle(gone, ledger: &after, config: config, now: now)
    }
}

public enum GrowthMetrics {
    /// `hugepage_guard_pool_grown_pages{page_size_kb,node}` (node="any" for pages grown
    /// through the size's global count), `hugepage_guard_pool_grow_total{result}` and
    /// `hugepage_guard_pool_shrink_pages_total`.
    public static func render(ledger: Ledger?, counters: GrowthCounters) -> String {
        var out = ""
        if let ledger {
            var grown: [String: UInt64] = [:]
            var keys: [(UInt64, String)] = []
            for item in ledger.entries.flatMap(\.grown) {
                let node = item.hostNodes?.description ?? "any"
                let key = "\(item.pageSizeKiB)/\(node)"
                if grown[key] == nil { keys.append((item.pageSizeKiB, node)) }
                grown[key] = (grown[key] ?? 0).addingSaturated(item.pages)
            }
            out += "# HELP hugepage_guard_pool_grown_pages Hugepages the guard grew the pool by and has not given back, per page size and node (node=\"any\": grown through the size's global count).\n"
            out += "# TYPE hugepage_guard_pool_grown_pages gauge\n"
            for (size, node) in keys.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
                out += "hugepage_guard_pool_grown_pages{page_size_kb=\"\(size)\",node=\"\(node)\"} \(grown["\(size)/\(node)"] ?? 0)\n"
            }
        }
        out += "# HELP hugepage_guard_pool_grow_total Pool growths tried at refused starts, by result (ok, rollback, floor, cap).\n"
        out += "# TYPE hugepage_guard_pool_grow_total counter\n"
        for r in GrowthCounters.resultNames { out += "hugepage_guard_pool_grow_total{result=\"\(r)\"} \(counters.results[r] ?? 0)\n" }
        out += "# HELP hugepage_guard_pool_shrink_pages_total Grown hugepages given back to the kernel.\n"
        out += "# TYPE hugepage_guard_pool_shrink_pages_total counter\n"
        out += "hugepage_guard_pool_shrink_pages_total \(counters.shrinkPages)\n"
        return out
    }
}

public enum GrowthStatus {
    public struct Row: Equatable, Sendable {
        public var pageSizeKiB: UInt64
        public var node: Int?
        /// Grown by the guard and not given back (recorded on this node, or for the size).
        public var grown: UInt64
        /// How much more could be grown now: an estimate.
        public var growable: UInt64
        public var limit: GrowthLimit
    }

    public static func rows(ledger: Ledger, pool: HugepagePool, memory: HostMemory, config: GuardConfig) -> [Row] {
        var rows: [Row] = []
        let grown = ledger.entries.flatMap(\.grown)
        for size in pool.sizes.keys.sorted() {
            guard let p = pool.sizes[size] else { continue }
            for node in [nil] + p.nodes.keys.sorted().map(Optional.some) {
                let g = grown.filter { $0.pageSizeKiB == size && $0.hostNodes?.ids.first == node }.reduce(UInt64(0)) { $0.addingSaturated($1.pages) }
                let est = GrowthEstimate.growable(pageSizeKiB: size, node: node, pool: pool, memory: memory, config: config.growth)
                rows.append(Row(pageSizeKiB: size, node: node, grown: g, growable: est.pages, limit: est.limit))
            }
        }
        return rows
    }

    public static func text(_ rows: [Row], config: GuardConfig) -> String {
        var out = "\nPool growth: pool.grow = \(config.growth.grow ? "on" : "off"), pool.shrink = \(config.growth.shrink ? "on" : "off"), pool.grow.min_available = \(config.growth.minAvailable)\n"
        out += "  page size  node  grown  could grow now (estimate)\n"
        for r in rows {
            let node = r.node.map(String.init) ?? "all"
            out += "  \(pad(shortPageSize(kib: r.pageSizeKiB), 9))  \(pad(node, 4))  \(pad("\(r.grown)", 5))  about \(r.growable) (limited by \(r.limit.rawValue))\n"
        }
        out += "  'could grow now' is an estimate from MemAvailable/MemFree against the floor, the caps and /proc/buddyinfo, not a promise.\n"
        return out
    }

    public static func json(_ rows: [Row], config: GuardConfig) -> JSON {
        .object([("grow", .bool(config.growth.grow)), ("shrink", .bool(config.growth.shrink)),
                 ("rows", .array(rows.map { r in
                    .object([("pageSizeKiB", .uint(r.pageSizeKiB)), ("node", r.node.map { .int(Int64($0)) } ?? .null),
                             ("grown", .uint(r.grown)), ("growableEstimate", .uint(r.growable)), ("limit", .string(r.limit.rawValue))])
                 }))])
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}

extension Logger {
    /// A growth line through the agent's logger (its level field becomes the logger's level).
    func growth(_ line: GrowthLogLine) {
        let level: Logger.Level = line.level == "info" ? .info : (line.level == "error" ? .error : .warning)
        fields(level, line.fields.filter { $0.0 != "level" })
    }
}

private func < (a: (UInt64, String), b: (UInt64, String)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
