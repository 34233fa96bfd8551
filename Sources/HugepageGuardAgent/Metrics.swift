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

/// Metrics in Prometheus's text exposition format (version 0.0.4), for node-exporter's
/// textfile collector. A list of families, each with its help, type and samples; add a
/// family with `add`. Pure: `MetricsWriter` writes the text.
public struct Metrics: Sendable, Equatable {
    public struct Sample: Sendable, Equatable {
        public var labels: [Label]
        public var value: String
        public init(_ labels: [Label], _ value: String) { self.labels = labels; self.value = value }
        public init(_ value: String) { self.labels = []; self.value = value }
    }
    public struct Label: Sendable, Equatable {
        public var name: String, value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }
    public struct Family: Sendable, Equatable {
        public enum Kind: String, Sendable { case gauge, counter }
        /// Without the `hugepage_guard_` prefix.
        public var name: String
        public var kind: Kind
        public var help: String
        public var samples: [Sample]
    }

    public static let prefix = "hugepage_guard_"
    public private(set) var families: [Family] = []
    public init() {}

    public mutating func add(_ name: String, _ kind: Family.Kind, _ help: String, _ samples: [Sample]) {
        families.append(Family(name: name, kind: kind, help: help, samples: samples))
    }

    /// The text node-exporter reads: `# HELP`, `# TYPE`, then one line per sample.
    public var text: String {
        var out = ""
        for f in families {
            out += "# HELP \(Self.prefix)\(f.name) \(f.help)\n# TYPE \(Self.prefix)\(f.name) \(f.kind.rawValue)\n"
            for s in f.samples {
                let labels = s.labels.isEmpty ? "" : "{" + s.labels.map { "\($0.name)=\"\(Self.labelValue($0.value))\"" }.joined(separator: ",") + "}"
                out += "\(Self.prefix)\(f.name)\(labels) \(s.value)\n"
            }
        }
        return out
    }

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
}

extension Metrics {
    /// The agent's metrics after a reconciliation (`report` nil when it failed: then only the
    /// counters are written, so a failing agent is visible).
    public static func agent(report: ReconcileReport?, refusals: UInt64, counters: ReconcileCounters,
                             intervalSeconds: Double) -> Metrics {
        var m = Metrics()
        if let report { m.addPool(report) }
        m.add("hook_refusals_total", .counter, "VM starts refused by the hook since boot.", [Sample(String(refusals))])
        m.add("reconcile_runs_total", .counter, "Reconciliations run by this agent.", [Sample(String(counters.runs))])
        m.add("reconcile_errors_total", .counter, "Reconciliations that failed.", [Sample(String(counters.errors))])
        m.add("reconcile_interval_seconds", .gauge, "Seconds between timed reconciliations (agent.reconcile_interval).",
              [Sample(number(intervalSeconds))])
        if let d = counters.lastDurationSeconds {
            m.add("reconcile_duration_seconds", .gauge, "How long the last successful reconciliation took.", [Sample(number(d))])
        }
        if let t = counters.lastSuccessUnix {
            m.add("reconcile_last_success_timestamp_seconds", .gauge, "Unix time of the last successful reconciliation.", [Sample(String(t))])
        }
        return m
    }

    /// The pool rows, the running domains' pages and the leaks of one reconciliation.
    mutating func addPool(_ report: ReconcileReport) {
        func at(_ r: PoolRow) -> [Label] { [Label("page_size_kb", String(r.pageSizeKiB)), Label("node", r.node.map(String.init) ?? "all")] }
        let rows = report.rows
        add("pool_total_pages", .gauge, "Hugepages in the pool (nr_hugepages), per page size and node (node=\"all\": whole host).",
            rows.map { Sample(at($0), String($0.total)) })
        add("pool_free_pages", .gauge, "Free hugepages, per page size and node.", rows.map { Sample(at($0), String($0.free)) })
        add("pool_surplus_pages", .gauge, "Surplus (overcommitted) hugepages, per page size and node.", rows.map { Sample(at($0), String($0.surplus)) })
        add("pool_reserved_in_flight_pages", .gauge, "Hugepages reserved by the hook for starts not yet running.",
            rows.map { Sample(at($0), String($0.reservedInFlight)) })
        add("committed_pages", .gauge, "Hugepages committed to running domains: their live XML for the whole host; on a node, what their QEMU holds there (numa_maps).",
            rows.map { Sample(at($0), String($0.committed)) })
        add("drift_pages", .gauge, "Hugepages in use minus committed to running domains; absent where a node's share is unknown.",
            rows.compactMap { r in r.drift.map { Sample(at(r), String($0)) } })
        add("headroom_pages", .gauge, "Hugepages a new VM could still take (free - resv - in flight - host reserve).",
            rows.map { Sample(at($0), String($0.headroom)) })
        add("host_reserve_pages", .gauge, "Hugepages kept free for the host (reserve.<size>[.node<N>] in the config).",
            rows.map { Sample(at($0), String($0.hostReserve)) })
        var committed: [Sample] = []
        for d in report.hugepageDomains {
            for s in d.demand.pageSizes {
                committed.append(Sample([Label("domain", d.name), Label("uuid", d.uuid), Label("page_size_kb", String(s))],
                                        String(d.demand.pages(ofSize: s))))
            }
        }
        add("domain_committed_pages", .gauge, "Hugepages held by each running domain, from its live XML.", committed)
        var shares: [Sample] = []
        for d in report.hugepageDomains {
            for s in d.pageShares {
                shares.append(Sample([Label("domain", d.name), Label("uuid", d.uuid), Label("page_size_kb", String(s.pageSizeKiB)),
                                      Label("node", s.node), Label("source", s.source.rawValue)], String(s.pages)))
            }
        }
        add("domain_pages", .gauge,
            "Hugepages each running domain holds per node, from its QEMU's numa_maps (source=\"numa_maps\"); where that can't be read, the model's figure (source=\"model\", node=\"any\" when unbound).",
            shares)
        add("leaked_hugetlbfs_pages", .gauge, "Hugepages held by files under libvirt's hugetlbfs directories that belong to no running domain.",
            report.leakedPages.keys.sorted().map { Sample([Label("page_size_kb", String($0))], String(report.leakedPages[$0]!)) })
    }

    /// A sample value: integers without a fraction, others as Swift prints a Double.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}
