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
    public static func settle(before: Ledger, after: inout Ledger, growth: PoolGrowth, config: GuardConfig, now: Int64) -> [LogLine] {
        let gone = before.entries.filter { e in
            !e.grown.isEmpty && !after.entries.contains {
                $0.isGrownHold == e.isGrownHold && $0.identity.isSame(as: e.identity) && $0.grown == e.grown
            }
        }
        return growth.settle(gone, ledger: &after, config: config, now: now)
    }
}

extension Metrics {
    /// `hugepage_guard_pool_grown_pages{page_size_kb,node}` (node="any" for pages grown
    /// through the size's global count; without a ledger, none), `hugepage_guard_pool_grow_total{result}`
    /// and `hugepage_guard_pool_shrink_pages_total`.
    public mutating func addGrowth(ledger: Ledger?, counters: GrowthCounters) {
        if let ledger {
            var grown: [String: UInt64] = [:]
            var keys: [(UInt64, String)] = []
            for item in ledger.entries.flatMap(\.grown) {
                let node = item.hostNodes?.description ?? "any"
                let key = "\(item.pageSizeKiB)/\(node)"
                if grown[key] == nil { keys.append((item.pageSizeKiB, node)) }
                grown[key] = (grown[key] ?? 0).addingSaturated(item.pages)
            }
            add("pool_grown_pages", .gauge,
                "Hugepages the guard grew the pool by and has not given back, per page size and node (node=\"any\": grown through the size's global count).",
                keys.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }).map { size, node in
                    Sample([Label("page_size_kb", "\(size)"), Label("node", node)], "\(grown["\(size)/\(node)"] ?? 0)")
                })
        }
        add("pool_grow_total", .counter, "Pool growths tried at starts that did not fit, by result (ok, rollback, floor, cap).",
            GrowthCounters.resultNames.map { Sample([Label("result", $0)], "\(counters.results[$0] ?? 0)") })
        add("pool_shrink_pages_total", .counter, "Grown hugepages given back to the kernel.", [Sample("\(counters.shrinkPages)")])
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

    /// The status section: shown when `pool.grow` is on, or while pages grown earlier are
    /// still in the pool; empty otherwise, so a host that never grows sees the table as before.
    public static func text(_ rows: [Row], config: GuardConfig) -> String {
        guard config.growth.grow || rows.contains(where: { $0.grown > 0 }) else { return "" }
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

extension AgentLogLine {
    /// A growth line (from `PoolGrowth`) as the agent writes it.
    public init(growth line: LogLine) {
        self.init(line.level, line.event, line.fields.map { ($0.key, $0.value) }, message: line.message ?? "")
    }
}

private func < (a: (UInt64, String), b: (UInt64, String)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
