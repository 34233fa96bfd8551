/// What `hugepage-guard check` found, on every path: a decision (admit, refuse, or admit
/// under `warn` or `off`), a domain that takes no hugepages, or an error. `--json` prints
/// this one shape, so every path has the same keys (`CheckResult.jsonKeys`), with `null`
/// where a value doesn't apply.
public struct CheckResult: Sendable {
    public enum Outcome: String, Sendable { case admit, refuse, error }

    /// The domain's name; nil when the input could not be read far enough to know it.
    public var domain: String?
    public var outcome: Outcome
    /// Whether the domain fits the pool; nil on error.
    public var fits: Bool?
    /// The policy that applies (the domain's own, else the host's); nil when it is unknown
    /// (an error, or a broken config for a domain that takes no hugepages).
    public var policy: Policy?
    public var demand: [DemandItem]
    public var backends: [Backend]
    public var reasons: [Reason]
    /// The refusal paragraph when the domain doesn't fit, or the error.
    public var message: String?
    /// With `pool.grow = on` and a domain that doesn't fit: what growth would do (planned,
    /// nothing written); nil otherwise.
    public var growth: GrowthOutcome?
    /// What the count assumed where libvirt's own files couldn't say (the decision's log line
    /// has the same as `assumed=`); empty when nothing was assumed.
    public var assumptions: [String] = []

    /// The result of a decision.
    public init(_ report: DecisionReport) {
        let d = report.decision
        domain = d.demand.domain
        outcome = d.verdict == .admit ? .admit : .refuse
        fits = d.fits
        policy = d.policy
        demand = d.demand.items
        backends = d.demand.backends
        reasons = d.reasons
        message = d.fits ? nil : report.refusalParagraph
        growth = report.growth
        assumptions = d.demand.assumptions
    }

    /// A domain that takes no hugepages: admitted without looking at the host.
    public init(noHugepages domain: String, policy: Policy?) {
        self.domain = domain; outcome = .admit; fits = true; self.policy = policy
        demand = []; backends = []; reasons = []; message = nil
    }

    /// The guard could not decide: `message` says why.
    public init(error message: String, domain: String? = nil) {
        self.domain = domain; outcome = .error; fits = nil; policy = nil
        demand = []; backends = []; reasons = []; self.message = message
    }

    /// The keys of `json`, in order, the same on every path.
    public static let jsonKeys = ["domain", "decision", "fits", "policy", "demand", "backends", "reasons", "message", "growth", "assumptions"]

    public var json: JSON {
        func nodes(_ set: NodeSet?) -> JSON { set.map { .array($0.ids.map { .int(Int64($0)) }) } ?? .null }
        return .object([
            ("domain", domain.map(JSON.string) ?? .null),
            ("decision", .string(outcome.rawValue)),
            ("fits", fits.map(JSON.bool) ?? .null),
            ("policy", policy.map { .string($0.rawValue) } ?? .null),
            ("demand", .array(demand.map { item in
                .object([("pageSizeKiB", .uint(item.pageSizeKiB)), ("hostNodes", nodes(item.hostNodes)),
                         ("pages", .uint(item.pages))])
            })),
            ("backends", .array(backends.map { b in
                .object([("id", .string(b.id)), ("sizeKiB", .uint(b.sizeKiB)),
                         ("pageSizeKiB", b.pageSizeKiB.map(JSON.uint) ?? .null),
                         ("guestCell", b.guestCell.map { .int(Int64($0)) } ?? .null),
                         ("hostNodes", nodes(b.hostNodes)),
                         ("mode", b.mode.map { .string($0.rawValue) } ?? .null),
                         ("pages", .uint(b.pages))])
            })),
            ("reasons", .array(reasons.map { Self.json($0, nodes: nodes) })),
            ("message", message.map(JSON.string) ?? .null),
            ("growth", growth.map(Self.json) ?? .null),
            ("assumptions", .array(assumptions.map(JSON.string))),
        ])
    }

    /// `{"result": "would_grow", "pages": [{"pageSizeKiB": 2048, "node": null, "pages": 32}]}`;
    /// `result` is as in `hugepage_guard_pool_grow_total`, or `would_grow` / `unknown`.
    private static func json(_ growth: GrowthOutcome) -> JSON {
        func steps(_ s: [GrowStep]) -> JSON {
            .array(s.map { .object([("pageSizeKiB", .uint($0.pageSizeKiB)), ("node", $0.node.map { .int(Int64($0)) } ?? .null),
                                    ("pages", .uint($0.pages))]) })
        }
        var fields: [(String, JSON)] = [("result", .string(growth.metricResult))]
        switch growth {
        case .wouldGrow(let s), .grown(let s): fields.append(("pages", steps(s)))
        case .refused(let r):
            fields.append(("limit", .string(r.limit.rawValue)))
            fields.append(("detail", .string(r.detail)))
        case .rolledBack(let asked, _, _), .stillShort(let asked, _): fields.append(("pages", steps(asked)))
        case .unknown(let reason): fields.append(("detail", .string(reason)))
        }
        return .object(fields)
    }

    private static func json(_ reason: Reason, nodes: (NodeSet?) -> JSON) -> JSON {
        switch reason {
        case .unsupportedPageSize(let kib):
            return .object([("kind", .string("unsupported-page-size")), ("pageSizeKiB", .uint(kib))])
        case .noMount(let kib):
            return .object([("kind", .string("no-hugetlbfs-mount")), ("pageSizeKiB", .uint(kib))])
        case .unstartable(let problem):
            return .object([("kind", .string("unstartable")), ("problem", .string(problem))])
        case .short(let s):
            return .object([("kind", .string("short")), ("pageSizeKiB", .uint(s.pageSizeKiB)),
                            ("hostNodes", nodes(s.hostNodes)),
                            ("needed", .uint(s.needed)), ("free", .uint(s.free)),
                            ("reservedByOtherStarts", .uint(s.reservedByOtherStarts)),
                            ("hostReserve", .uint(s.hostReserve)), ("short", .uint(s.short))])
        }
    }
}
