/// What the guard tells people: the refusal paragraph virsh shows, the logfmt line for
/// the system log, and the JSON of `hugepage-guard check --json`.
public struct DecisionReport: Sendable {
    public var decision: Decision
    public var pool: HugepagePool
    /// The hook operation (`prepare`, `migrate`, `restore`), or `check`.
    public var operation: String
    /// What growing the pool did for this start, when it was tried.
    public var growth: GrowthOutcome? = nil

    public init(decision: Decision, pool: HugepagePool, operation: String) {
        self.decision = decision; self.pool = pool; self.operation = operation
    }

    private var domain: String { decision.demand.domain }

    /// One paragraph an admin can act on: what was refused, each shortfall in figures,
    /// and the exact command that fixes it. Always one line: the domain name and any other
    /// text from the XML are escaped (`TerminalText`), so it can never look like more than
    /// one message.
    public var refusalParagraph: String { TerminalText.escaped(unescapedParagraph) }

    /// The paragraph the hook prints when it could not decide (bad XML, a broken config,
    /// an unusable ledger) and refuses: one line, escaped like `refusalParagraph`.
    public static func failureParagraph(operation: String, domain: String, message: String) -> String {
        TerminalText.escaped("hugepage-guard refused to \(verbs(operation: operation).refused) domain '\(domain)': \(message).")
    }

    private var unescapedParagraph: String {
        let verbs = Self.verbs(operation: operation)
        let verb = decision.verdict == .refuse && operation != "check"
            ? "refused to \(verbs.refused)" : "would refuse to \(verbs.refused)"
        let unstartable = decision.reasons.filter { if case .unstartable = $0 { true } else { false } }.count
        let headline = unstartable == 0 ? "the hugepage pool can't hold it."
            : unstartable == decision.reasons.count ? "QEMU can't start it as defined."
            : "QEMU can't start it as defined, and the hugepage pool can't hold it."
        var sentences = ["hugepage-guard \(verb) domain '\(domain)': " + headline]
        var fixes: [String] = []
        for reason in decision.reasons {
            switch reason {
            case .unsupportedPageSize(let kib):
                sentences.append("This kernel has no \(humanPageSize(kib: kib)) hugepage pool (no /sys/kernel/mm/hugepages/hugepages-\(kib)kB).")
                fixes.append("use a page size this host supports in the domain's <memoryBacking>")
            case .noMount(let kib):
                sentences.append("No hugetlbfs is mounted for \(humanPageSize(kib: kib)) pages, so libvirt can't use them.")
                let dir = "/dev/hugepages\(shortPageSize(kib: kib))"
                fixes.append("mount one ('mkdir -p \(dir) && mount -t hugetlbfs -o pagesize=\(shortPageSize(kib: kib)) none \(dir)') and restart libvirtd so it finds the mount")
            case .short(let s):
                sentences.append("\(humanPageSize(kib: s.pageSizeKiB)) pages \(placeText(s.hostNodes)): needs \(s.needed), free \(s.free), reserved by other starts \(s.reservedByOtherStarts), host reserve \(s.hostReserve), so \(s.short) short.")
                fixes.append(fixCommand(s))
            case .unstartable(let problem):
                sentences.append("QEMU can't create its memory: \(problem).")
                fixes.append("change the domain's memory as said")
            }
        }
        if let g = growth?.refusalText {
            sentences.append(g.sentence)
            if let fix = g.fix { fixes.append(fix) }
        }
        var text = sentences.joined(separator: " ")
        if !fixes.isEmpty { text += " Fix: " + fixes.joined(separator: "; ") + ", then \(verbs.retry) it again." }
        return text
    }

    /// What a refusal of this hook operation stops, and what to do again after the fix:
    /// ("migrate in", "migrate"), ("restore", "restore"), else ("start", "start").
    public static func verbs(operation: String) -> (refused: String, retry: String) {
        switch operation {
        case "migrate": return ("migrate in", "migrate")
        case "restore": return ("restore", "restore")
        default: return ("start", "start")
        }
    }

    private func placeText(_ nodes: NodeSet?) -> String {
        guard let nodes else { return "on any node" }
        return nodes.ids.count == 1 ? "on node \(nodes) (strict numatune)" : "on nodes \(nodes) (strict numatune)"
    }

    private func fixCommand(_ s: Shortfall) -> String {
        let size = s.pageSizeKiB
        let pool = self.pool.sizes[size]
        // The pool's size after the fix; the counts come from sysfs and the config, so the
        // sum may pass 2^64, and then no pool can be made large enough.
        let current = s.hostNodes?.ids.first.map { pool?.nodes[$0]?.nr ?? 0 } ?? (pool?.nr ?? 0)
        let (nr, overflow) = current.addingReportingOverflow(s.short)
        if overflow || s.short == .max {
            return "no \(humanPageSize(kib: size)) pool can be made that large (it would pass 2^64 pages): lower the host reserve (reserve.\(shortPageSize(kib: size)) in the config) or the domain's memory"
        }
        if let node = s.hostNodes?.ids.first {
            return "add \(pagesText(s.short)) on node \(node) with 'echo \(nr) > /sys/devices/system/node/node\(node)/hugepages/hugepages-\(size)kB/nr_hugepages' (or 'virsh allocpages \(size) \(s.short) --cellno \(node) --add')"
        }
        let command = size == self.pool.kernelDefaultKiB
            ? "sysctl vm.nr_hugepages=\(nr)"
            : "echo \(nr) > /sys/kernel/mm/hugepages/hugepages-\(size)kB/nr_hugepages"
        return "add \(pagesText(s.short)) with '\(command)' (or 'virsh allocpages \(size) \(s.short) --add')"
    }

    private func pagesText(_ n: UInt64) -> String { n == 1 ? "1 page" : "\(n) pages" }

    /// The decision as one log line: `warning` when the domain doesn't fit (refused, or
    /// admitted under `warn`), else `info`.
    public var logLine: LogLine {
        var line = LogLine(decision.fits ? .info : .warning, .decision,
                           [("op", operation), ("decision", decision.verdict.rawValue),
                            ("policy", decision.policy.rawValue), ("domain", domain)])
        if let uuid = decision.demand.uuid { line.append("uuid", uuid) }
        for size in decision.demand.pageSizes {
            let k = "\(size)kB"
            let items = decision.demand.items.filter { $0.pageSizeKiB == size }
            line.append("pages_\(k)", PageArithmetic.shown(PageArithmetic.sum(items.map { $0.pages })))
            line.append("nodes_\(k)", items.map { $0.hostNodes?.description ?? "any" }.concatenated(separator: "+"))
            if let p = pool.sizes[size] { line.append("free_\(k)", "\(p.available)/\(p.nr)") }
            let short = PageArithmetic.sum(decision.reasons.compactMap {
                if case .short(let s) = $0, s.pageSizeKiB == size { return s.short }
                return nil
            })
            if short > 0 { line.append("short_\(k)", PageArithmetic.shown(short)) }
        }
        for reason in decision.reasons {
            if case .noMount(let kib) = reason { line.append("no_mount", "\(kib)kB") }
            if case .unsupportedPageSize(let kib) = reason { line.append("unsupported", "\(kib)kB") }
            if case .unstartable(let problem) = reason { line.append("unstartable", problem) }
        }
        if decision.demand.isZero { line.append("pages", "0") }
        if !decision.demand.assumptions.isEmpty { line.append("assumed", decision.demand.assumptions.concatenated(separator: "; ")) }
        if let growth { line.append("grow", growth.metricResult) }
        return line
    }

    /// The line for a domain that takes no hugepages: admitted without reading anything else.
    public static func noHugepagesLogLine(operation: String, domain: String, uuid: String?) -> LogLine {
        var line = LogLine(.info, .decision, [("op", operation), ("decision", "admit"), ("domain", domain)])
        if let uuid { line.append("uuid", uuid) }
        line.append("pages", "0")
        return line
    }

    /// The line for a start the guard could not decide, and so refused.
    public static func failureLogLine(operation: String, domain: String, message: String) -> LogLine {
        LogLine(.error, .decision, [("op", operation), ("decision", "refuse"), ("domain", domain), ("error", message)])
    }

    /// `hugepage-guard check --json`: the same shape as every other path of `check`.
    public var json: JSON { CheckResult(self).json }
}
