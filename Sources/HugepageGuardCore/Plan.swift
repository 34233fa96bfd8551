/// `hugepage-guard plan`: how many more VMs of one shape fit on this host right now, as the
/// pool stands and with growth, and what stops one more. Pure; nothing is reserved.
public struct PlanInput: Sendable {
    public var demand: DomainDemand
    public var pool: HugepagePool
    public var inFlight: [DemandItem]
    public var config: GuardConfig
    public var memory: HostMemory
    public var memfd: Bool
    /// false when the domain's `<metadata>` guard element turns growth off for itself.
    public var growAllowed: Bool

    public init(demand: DomainDemand, pool: HugepagePool, inFlight: [DemandItem], config: GuardConfig,
                memory: HostMemory, memfd: Bool = false, growAllowed: Bool = true) {
        self.demand = demand; self.pool = pool; self.inFlight = inFlight; self.config = config
        self.memory = memory; self.memfd = memfd; self.growAllowed = growAllowed
    }

    var growthOn: Bool { config.growth.grow && growAllowed }
}

/// Per node, for shapes confined to nodes: what the node has and could grow.
public struct PlanNodeRow: Equatable, Sendable {
    public var pageSizeKiB: UInt64
    public var node: Int
    /// Free pages on the node (before in-flight reservations and the reserve).
    public var free: UInt64
    /// Pages growth could add on the node now (cap, floor, free lists): an estimate.
    public var growable: UInt64
    public var growLimit: GrowthLimit
}

public struct PlanResult: Equatable, Sendable {
    public var domain: String
    /// More VMs of this shape that fit in the pool as it stands.
    public var asIs: UInt64
    public var asIsLimit: GrowthLimit
    /// With growth (nil when growth is off for this host or domain).
    public var withGrowth: UInt64?
    public var growthLimit: GrowthLimit?
    /// The refusal one more would get, in words.
    public var limitDetail: String
    public var nodes: [PlanNodeRow]
    /// `--count N`: whether N more fit, and the pages to add when they don't.
    public var count: UInt64?
    public var countFits: Bool?
    public var countShort: [Shortfall]
}

public enum Planner {
    /// The demand of `k` copies of the shape; nil on overflow.
    static func times(_ demand: DomainDemand, _ k: UInt64) -> DomainDemand? {
        var items: [DemandItem] = []
        for i in demand.items {
            let (p, o) = i.pages.multipliedReportingOverflow(by: k)
            if o { return nil }
            items.append(DemandItem(pageSizeKiB: i.pageSizeKiB, hostNodes: i.hostNodes, pages: p))
        }
        return DomainDemand(domain: demand.domain, uuid: demand.uuid, items: items)
    }

    static func decide(_ input: PlanInput, _ k: UInt64, pool: HugepagePool? = nil, config: GuardConfig? = nil) -> Decision? {
        guard let d = times(input.demand, k) else { return nil }
        return Decision.evaluate(AdmissionInput(demand: d, pool: pool ?? input.pool, inFlight: input.inFlight,
                                                config: config ?? input.config, domainPolicy: .enforce, memfd: input.memfd))
    }

    static func fitsAsIs(_ input: PlanInput, _ k: UInt64) -> Bool { decide(input, k)?.fits ?? false }

    /// Whether `k` copies fit once the pool grows by their shortfall; else what stops it.
    static func growth(_ input: PlanInput, _ k: UInt64) -> (fits: Bool, limit: GrowthLimit, detail: String) {
        guard let d = decide(input, k) else { return (false, .pool, "the count overflows") }
        if d.fits { return (true, .pool, "") }
        switch GrowthPlanner.plan(decision: d, pool: input.pool, memory: input.memory, config: input.config.growth) {
        case .notApplicable:
            return (false, .pool, DecisionReport(decision: d, pool: input.pool, operation: "check").refusalParagraph)
        case .refused(let r):
            return (false, r.limit, "for \(k) at once, \(r.detail)")
        case .grow(let steps):
            var grownPool = input.pool
            var needed: [GrowStep] = []
            for s in steps {
                if let i = needed.firstIndex(where: { $0.pageSizeKiB == s.pageSizeKiB && $0.node == s.node }) { needed[i].pages = needed[i].pages.addingSaturated(s.pages) } else { needed.append(s) }
            }
            for s in needed {
                if let est = input.memory.buddyEstimate(pageSizeKiB: s.pageSizeKiB, node: s.node), est < s.pages {
                    return (false, .fragmentation,
                            "for \(k) at once, the free lists hold about \(est) free blocks of \(humanPageSize(kib: s.pageSizeKiB)) \(s.placeText), and \(s.pages) more pages are needed (an estimate: compaction may find more)")
                }
                guard var p = grownPool.sizes[s.pageSizeKiB] else { continue }
                p.nr = p.nr.addingSaturated(s.pages); p.free = p.free.addingSaturated(s.pages)
                if let node = s.node, var n = p.nodes[node] {
                    n.nr = n.nr.addingSaturated(s.pages); n.free = n.free.addingSaturated(s.pages); p.nodes[node] = n
                } else if s.node == nil, let first = p.nodes.keys.sorted().first, p.nodes.count == 1, var n = p.nodes[first] {
                    n.nr = n.nr.addingSaturated(s.pages); n.free = n.free.addingSaturated(s.pages); p.nodes[first] = n
                }
                grownPool.sizes[s.pageSizeKiB] = p
            }
            if decide(input, k, pool: grownPool)?.fits == true { return (true, .pool, "") }
            return (false, .pool, "for \(k) at once, pages grown for the whole pool may land on nodes this shape can't use")
        }
    }

    /// The largest k in 0...limit with `fits(k)`, for a monotone `fits`.
    static func largest(_ fits: (UInt64) -> Bool, limit: UInt64 = 1 << 24) -> UInt64 {
        if !fits(1) { return 0 }
        var lo: UInt64 = 1, hi: UInt64 = 2
        while hi < limit && fits(hi) { lo = hi; hi *= 2 }
        if hi >= limit && fits(limit) { return limit }
        // fits(lo), !fits(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if fits(mid) { lo = mid } else { hi = mid }
        }
        return lo
    }

    public static func plan(_ input: PlanInput, count: UInt64? = nil) -> PlanResult {
        let empty = input.demand.isZero
        let asIs = empty ? 0 : largest { fitsAsIs(input, $0) }
        var asIsLimit = GrowthLimit.pool
        var noReserve = input.config
        noReserve.reserves = []
        if !empty, !fitsAsIs(input, asIs + 1), decide(input, asIs + 1, config: noReserve)?.fits == true { asIsLimit = .reserve }
        var withGrowth: UInt64?
        var growthLimit: GrowthLimit?
        var detail = ""
        if input.growthOn && !empty {
            let g = largest { growth(input, $0).fits }
            withGrowth = g
            let next = growth(input, g + 1)
            growthLimit = next.limit
            detail = next.detail
        } else if !empty, let d = decide(input, asIs + 1) {
            detail = DecisionReport(decision: d, pool: input.pool, operation: "check").refusalParagraph
        }

        // Per node, for the shape's confined pages.
        var rows: [PlanNodeRow] = []
        for size in input.demand.pageSizes {
            let confined = input.demand.items.filter { $0.pageSizeKiB == size }.compactMap { $0.hostNodes }
            guard !confined.isEmpty, let p = input.pool.sizes[size] else { continue }
            for node in NodeSet(confined.flatMap({ $0.ids })).ids {
                let est = GrowthEstimate.growable(pageSizeKiB: size, node: node, pool: input.pool, memory: input.memory,
                                                  config: input.config.growth)
                rows.append(PlanNodeRow(pageSizeKiB: size, node: node, free: p.nodes[node]?.free ?? 0,
                                        growable: input.growthOn ? est.pages : 0, growLimit: input.growthOn ? est.limit : .pool))
            }
        }

        var countFits: Bool?
        var countShort: [Shortfall] = []
        if let count {
            let fits = count == 0 || (input.growthOn ? growth(input, count).fits : fitsAsIs(input, count))
            countFits = fits
            if !fits, let d = decide(input, count) {
                countShort = d.reasons.compactMap { if case .short(let s) = $0 { return s } else { return nil } }
            }
        }
        return PlanResult(domain: input.demand.domain, asIs: asIs, asIsLimit: asIsLimit, withGrowth: withGrowth,
                          growthLimit: growthLimit, limitDetail: detail, nodes: rows, count: count,
                          countFits: countFits, countShort: countShort)
    }
}

/// How much more the pool could grow right now, per size and node: the least of the cap's
/// room, the floor's room and the free lists. An estimate, not a promise: the kernel may
/// compact more, and memory changes by the second.
public enum GrowthEstimate {
    public static func growable(pageSizeKiB size: UInt64, node: Int?, pool: HugepagePool, memory: HostMemory,
                                config: GrowthConfig) -> (pages: UInt64, limit: GrowthLimit) {
        let budget = GrowthPlanner.Budget(pool: pool, memory: memory, config: config)
        var best: (UInt64, GrowthLimit) = (budget.floorRoom(size: size), .floor)
        if let node, let r = budget.nodeFloorRoom(size: size, node: node), r < best.0 { best = (r, .floor) }
        if let r = budget.capRoom(size: size, node: node), r < best.0 { best = (r, .cap) }
        if let r = memory.buddyEstimate(pageSizeKiB: size, node: node), r < best.0 { best = (r, .fragmentation) }
        return best
    }
}

extension PlanResult {
    public var text: String {
        var lines: [String] = []
        lines.append("\(domain): \(asIs) more fit in the pool as it stands (limited by the \(asIsLimit == .reserve ? "host reserve" : "pool")).")
        if let withGrowth, let growthLimit {
            lines.append("With growth: \(withGrowth) more (limited by \(Self.limitName(growthLimit))).")
        } else {
            lines.append("With growth: off (pool.grow = off, or the domain's <metadata> guard element says grow=\"off\").")
        }
        if !limitDetail.isEmpty { lines.append("One more: \(limitDetail)") }
        if !nodes.isEmpty {
            lines.append("Per node (confined pages):")
            for r in nodes {
                lines.append("  node \(r.node), \(humanPageSize(kib: r.pageSizeKiB)): \(r.free) free, about \(r.growable) more could be grown (\(Self.limitName(r.growLimit)))")
            }
        }
        if let count, let countFits {
            if countFits {
                lines.append("\(count) more: fit.")
            } else {
                let add = countShort.map { "\($0.short) × \(humanPageSize(kib: $0.pageSizeKiB)) pages \($0.hostNodes.map { "on node\($0.ids.count == 1 ? "" : "s") \($0)" } ?? "on any node")" }
                lines.append("\(count) more: do not fit." + (add.isEmpty ? "" : " Add \(add.joined(separator: ", ")) to the pool" + (withGrowth != nil ? ", or raise the limit above." : ".")))
            }
        }
        lines.append("Growth figures are estimates from /proc/meminfo, /proc/buddyinfo and the caps; nothing was reserved.")
        return lines.joined(separator: "\n")
    }

    static func limitName(_ l: GrowthLimit) -> String {
        switch l {
        case .pool: return "the pool"
        case .floor: return "the pool.grow.min_available floor"
        case .cap: return "a pool.grow.max cap"
        case .fragmentation: return "fragmentation"
        case .reserve: return "the host reserve"
        }
    }

    public var json: JSON {
        .object([
            ("domain", .string(domain)),
            ("asIs", .uint(asIs)), ("asIsLimit", .string(asIsLimit.rawValue)),
            ("withGrowth", withGrowth.map(JSON.uint) ?? .null),
            ("growthLimit", growthLimit.map { .string($0.rawValue) } ?? .null),
            ("limitDetail", .string(limitDetail)),
            ("nodes", .array(nodes.map { r in
                .object([("pageSizeKiB", .uint(r.pageSizeKiB)), ("node", .int(Int64(r.node))), ("free", .uint(r.free)),
                         ("growableEstimate", .uint(r.growable)), ("growLimit", .string(r.growLimit.rawValue))])
            })),
            ("count", count.map(JSON.uint) ?? .null),
            ("countFits", countFits.map(JSON.bool) ?? .null),
            ("countShort", .array(countShort.map { s in
                .object([("pageSizeKiB", .uint(s.pageSizeKiB)),
                         ("hostNodes", s.hostNodes.map { .array($0.ids.map { .int(Int64($0)) }) } ?? .null),
                         ("short", .uint(s.short))])
            })),
            ("estimate", .bool(true)),
        ])
    }
}
