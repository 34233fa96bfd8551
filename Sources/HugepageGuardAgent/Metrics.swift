import HugepageGuardCore

/// Counters the agent keeps between reconciliations.
public struct ReconcileCounters: Sendable, Equatable {
    public var runs: UInt64 = 0
    public var errors: UInt64 = 0
    /// Unix time of the last successful reconciliation.
    public var lastSuccessUnix: Int64?
    /// How long the last successful reconciliation took, in seconds.
    public var lastDurationSeconds: Double?
    public init() {}
}

/// The Prometheus text exposition format (version 0.0.4), for node-exporter's textfile
/// collector. Pure: the agent writes the result atomically.
public enum PrometheusText {
    /// A label value with `\`, `"` and newline escaped, as the format requires.
    public static func labelValue(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func labels(_ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? "" : "{" + pairs.map { "\($0.0)=\"\(labelValue($0.1))\"" }.joined(separator: ",") + "}"
    }

    public static func render(report: ReconcileReport?, refusals: UInt64, counters: ReconcileCounters) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [([(String, String)], String)]) {
            out += "# HELP hugepage_guard_\(name) \(help)\n# TYPE hugepage_guard_\(name) \(type)\n"
            for (l, v) in samples { out += "hugepage_guard_\(name)\(labels(l)) \(v)\n" }
        }
        if let report {
            func where_(_ r: PoolRow) -> [(String, String)] {
                [("page_size_kb", String(r.pageSizeKiB)), ("node", r.node.map(String.init) ?? "all")]
            }
            family("pool_total_pages", "gauge", "Hugepages in the pool (nr_hugepages), per page size and node (node=\"all\": whole host).",
                   report.rows.map { (where_($0), String($0.total)) })
            family("pool_free_pages", "gauge", "Free hugepages, per page size and node.",
                   report.rows.map { (where_($0), String($0.free)) })
            family("pool_surplus_pages", "gauge", "Surplus (overcommitted) hugepages, per page size and node.",
                   report.rows.map { (where_($0), String($0.surplus)) })
            family("pool_reserved_in_flight_pages", "gauge", "Hugepages reserved by the hook for starts not yet running.",
                   report.rows.map { (where_($0), String($0.reservedInFlight)) })
            family("committed_pages", "gauge", "Hugepages committed to running domains, per page size and node.",
                   report.rows.map { (where_($0), String($0.committed)) })
            family("drift_pages", "gauge", "Hugepages in use minus committed to running domains; absent where a node's share is unknown.",
                   report.rows.compactMap { r in r.drift.map { (where_(r), String($0)) } })
            family("headroom_pages", "gauge", "Hugepages a new VM could still take (free - resv - in flight - host reserve).",
                   report.rows.map { (where_($0), String($0.headroom)) })
            var domainSamples: [([(String, String)], String)] = []
            for d in report.hugepageDomains {
                for s in d.demand.pageSizes {
                    domainSamples.append(([("domain", d.name), ("uuid", d.uuid), ("page_size_kb", String(s))],
                                          String(d.demand.pages(ofSize: s))))
                }
            }
            family("domain_committed_pages", "gauge", "Hugepages held by each running domain, from its live XML.", domainSamples)
            family("leaked_hugetlbfs_pages", "gauge", "Hugepages held by files under libvirt's hugetlbfs directories that belong to no running domain.",
                   report.leakedPages.keys.sorted().map { ([("page_size_kb", String($0))], String(report.leakedPages[$0]!)) })
        }
        family("hook_refusals_total", "counter", "VM starts refused by the hook since boot.", [([], String(refusals))])
        family("reconcile_runs_total", "counter", "Reconciliations run by this agent.", [([], String(counters.runs))])
        family("reconcile_errors_total", "counter", "Reconciliations that failed.", [([], String(counters.errors))])
        if let d = counters.lastDurationSeconds {
            family("reconcile_duration_seconds", "gauge", "How long the last successful reconciliation took.", [([], String(d))])
        }
        if let t = counters.lastSuccessUnix {
            family("reconcile_last_success_timestamp_seconds", "gauge", "Unix time of the last successful reconciliation.", [([], String(t))])
        }
        return out
    }
}
