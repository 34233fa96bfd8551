/// What the guard tells people: the refusal paragraph virsh shows, the logfmt line for
/// the system log, and the JSON of `hugepage-guard check --json`.
public struct DecisionReport: Sendable {
    public var decision: Decision
    public var pool: HugepagePool
    /// The hook operation (`prepare`, `migrate`, `restore`), or `check`.
    public var operation: String

    public init(decision: Decision, pool: HugepagePool, operation: String) {
        self.decision = decision; self.pool = pool; self.operation = operation
    }

    private var domain: String { decision.demand.domain }

    /// One paragraph an admin can act on: what was refused, each shortfall in figures,
    /// and the exact command that fixes it.
    public var refusalParagraph: String {
        let verbs = Self.verbs(operation: operation)
        let verb = decision.verdict == .refuse && operation != "check"
            ? "refused to \(verbs.refused)" : "would refuse to \(verbs.refused)"
        var sentences = ["hugepage-guard \(verb) domain '\(domain)': the hugepage pool can't hold it."]
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
            }
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
        if let node = s.hostNodes?.ids.first {
            let nr = (pool?.nodes[node]?.nr ?? 0) + s.short
            return "add \(pagesText(s.short)) on node \(node) with 'echo \(nr) > /sys/devices/system/node/node\(node)/hugepages/hugepages-\(size)kB/nr_hugepages' (or 'virsh allocpages \(size) \(s.short) --cellno \(node) --add')"
        }
        let nr = (pool?.nr ?? 0) + s.short
        let command = size == self.pool.kernelDefaultKiB
            ? "sysctl vm.nr_hugepages=\(nr)"
            : "echo \(nr) > /sys/kernel/mm/hugepages/hugepages-\(size)kB/nr_hugepages"
        return "add \(pagesText(s.short)) with '\(command)' (or 'virsh allocpages \(size) \(s.short) --add')"
    }

    private func pagesText(_ n: UInt64) -> String { n == 1 ? "1 page" : "\(n) pages" }

    /// The decision as one logfmt line, for the system log.
    public var logLine: String {
        var f: [(String, String)] = [
            ("level", decision.verdict == .refuse ? "warning" : (decision.fits ? "info" : "warning")),
            ("event", "decision"), ("op", operation), ("decision", decision.verdict.rawValue),
            ("policy", decision.policy.rawValue), ("domain", domain),
        ]
        if let uuid = decision.demand.uuid { f.append(("uuid", uuid)) }
        for size in decision.demand.pageSizes {
            let k = "\(size)kB"
            f.append(("pages_\(k)", String(decision.demand.pages(ofSize: size))))
            let nodes = decision.demand.items.filter { $0.pageSizeKiB == size }.map { $0.hostNodes?.description ?? "any" }
            f.append(("nodes_\(k)", nodes.joined(separator: "+")))
            if let p = pool.sizes[size] { f.append(("free_\(k)", "\(p.available)/\(p.nr)")) }
            let short = decision.reasons.reduce(UInt64(0)) {
                if case .short(let s) = $1, s.pageSizeKiB == size { return $0 + s.short }
                return $0
            }
            if short > 0 { f.append(("short_\(k)", String(short))) }
        }
        for reason in decision.reasons {
            if case .noMount(let kib) = reason { f.append(("no_mount", "\(kib)kB")) }
            if case .unsupportedPageSize(let kib) = reason { f.append(("unsupported", "\(kib)kB")) }
        }
        if decision.demand.isZero { f.append(("pages", "0")) }
        if !decision.demand.assumptions.isEmpty { f.append(("assumed", decision.demand.assumptions.joined(separator: "; "))) }
        return Logfmt.line(f)
    }

    /// `hugepage-guard check --json`.
    public var json: JSON {
        .object([
            ("domain", .string(domain)),
            ("decision", .string(decision.verdict.rawValue)),
            ("fits", .bool(decision.fits)),
            ("policy", .string(decision.policy.rawValue)),
            ("demand", .array(decision.demand.items.map { item in
                .object([("pageSizeKiB", .uint(item.pageSizeKiB)),
                         ("hostNodes", item.hostNodes.map { .array($0.ids.map { .int(Int64($0)) }) } ?? .null),
                         ("pages", .uint(item.pages))])
            })),
            ("backends", .array(decision.demand.backends.map { b in
                .object([("id", .string(b.id)), ("sizeKiB", .uint(b.sizeKiB)),
                         ("pageSizeKiB", b.pageSizeKiB.map(JSON.uint) ?? .null),
                         ("guestCell", b.guestCell.map { .int(Int64($0)) } ?? .null),
                         ("hostNodes", b.hostNodes.map { .array($0.ids.map { .int(Int64($0)) }) } ?? .null),
                         ("mode", b.mode.map { .string($0.rawValue) } ?? .null),
                         ("pages", .uint(b.pages))])
            })),
            ("reasons", .array(decision.reasons.map(Self.json))),
            ("message", decision.fits ? .null : .string(refusalParagraph)),
        ])
    }

    private static func json(_ reason: Reason) -> JSON {
        switch reason {
        case .unsupportedPageSize(let kib):
            return .object([("kind", .string("unsupported-page-size")), ("pageSizeKiB", .uint(kib))])
        case .noMount(let kib):
            return .object([("kind", .string("no-hugetlbfs-mount")), ("pageSizeKiB", .uint(kib))])
        case .short(let s):
            return .object([("kind", .string("short")), ("pageSizeKiB", .uint(s.pageSizeKiB)),
                            ("hostNodes", s.hostNodes.map { .array($0.ids.map { .int(Int64($0)) }) } ?? .null),
                            ("needed", .uint(s.needed)), ("free", .uint(s.free)),
                            ("reservedByOtherStarts", .uint(s.reservedByOtherStarts)),
                            ("hostReserve", .uint(s.hostReserve)), ("short", .uint(s.short))])
        }
    }
}
