/// Pages to add to one pool: a node's (`node`) or the size's as a whole (nil: the kernel
/// spreads them over the nodes).
public struct GrowStep: Hashable, Sendable {
    public var pageSizeKiB: UInt64
    public var node: Int?
    public var pages: UInt64
    public init(pageSizeKiB: UInt64, node: Int?, pages: UInt64) { self.pageSizeKiB = pageSizeKiB; self.node = node; self.pages = pages }

    /// As the ledger records grown pages.
    public var item: DemandItem { DemandItem(pageSizeKiB: pageSizeKiB, hostNodes: node.map { NodeSet([$0]) }, pages: pages) }
    public init?(item: DemandItem) {
        guard item.hostNodes == nil || item.hostNodes?.ids.count == 1 else { return nil }
        self.init(pageSizeKiB: item.pageSizeKiB, node: item.hostNodes?.ids.first, pages: item.pages)
    }

    public var placeText: String { node.map { "on node \($0)" } ?? "on any node" }
}

/// What stops growth (or, for `plan`, what stops one more VM).
public enum GrowthLimit: String, Sendable, CaseIterable {
    /// The pool as it stands (growth is off, or not allowed for this domain).
    case pool
    /// `pool.grow.min_available`.
    case floor
    /// `pool.grow.max.<size>[.node<N>]`.
    case cap
    /// The kernel's free lists can't give whole pages of that size.
    case fragmentation
    /// The host reserve (`reserve.<size>`) holds the pages that would fit one more.
    case reserve
}

/// Why growth was not even tried: it would cross the floor or a cap.
public struct GrowthRefusal: Error, Equatable, Sendable {
    public var limit: GrowthLimit
    public var pageSizeKiB: UInt64
    public var node: Int?
    /// Pages the shortfall needs.
    public var asked: UInt64
    /// Pages the floor or cap allows.
    public var allowed: UInt64
    /// One sentence with the figures.
    public var detail: String
    /// What the admin can do.
    public var fix: String
}

/// What growth did for one start.
public enum GrowthOutcome: Equatable, Sendable {
    /// The pool grew by exactly these pages and the start was admitted.
    case grown([GrowStep])
    /// The floor or a cap forbade it; nothing was written.
    case refused(GrowthRefusal)
    /// The kernel gave fewer pages than asked, even after compacting once; every count was
    /// put back (`restored`) or, if a write back failed, `unrestored` says what was left.
    case rolledBack(asked: [GrowStep], got: [GrowStep], unrestored: [GrowStep])
    /// The pool grew, but the domain still didn't fit (its pages landed on other nodes);
    /// everything was given back.
    case stillShort(asked: [GrowStep], unrestored: [GrowStep])
    /// `hugepage-guard check` only: the hook would ask the kernel for these pages (within
    /// the floor and the caps) and admit the start if it gives them all. Nothing was written.
    case wouldGrow([GrowStep])
    /// `hugepage-guard check` only: the host's memory figures could not be read, so what
    /// growth would do is unknown.
    case unknown(reason: String)

    /// The `result` label of `hugepage_guard_pool_grow_total` (`would_grow` and `unknown`
    /// come only from `check`, which counts nothing).
    public var metricResult: String {
        switch self {
        case .grown: return "ok"
        case .refused(let r): return r.limit == .cap ? "cap" : "floor"
        case .rolledBack, .stillShort: return "rollback"
        case .wouldGrow: return "would_grow"
        case .unknown: return "unknown"
        }
    }
}

/// The plan for growing the pool by a refused start's shortfall. Pure.
public enum GrowthPlanner {
    public enum Result: Equatable, Sendable {
        case grow([GrowStep])
        case refused(GrowthRefusal)
        /// Growth can't help: a reason other than missing pages (no mount, no such size).
        case notApplicable
    }

    /// The steps that cover every shortfall of `decision`, within the floor and the caps.
    /// Confined shortfalls grow on their nodes, spread by what each node can give (most room
    /// first); unconfined ones grow the size's pool as a whole.
    public static func plan(decision: Decision, pool: HugepagePool, memory: HostMemory, config: GrowthConfig) -> Result {
        var shortfalls: [Shortfall] = []
        for reason in decision.reasons {
            guard case .short(let s) = reason else { return .notApplicable }
            shortfalls.append(s)
        }
        if shortfalls.isEmpty { return .notApplicable }
        var budget = Budget(pool: pool, memory: memory, config: config)
        var steps: [GrowStep] = []
        for s in shortfalls {
            // A size-wide deficit of demand that is all confined grows on the demand's nodes.
            var nodes = s.hostNodes
            if nodes == nil {
                let items = decision.demand.items.filter { $0.pageSizeKiB == s.pageSizeKiB }
                let bound = items.compactMap { $0.hostNodes }
                if !items.isEmpty, bound.count == items.count { nodes = NodeSet(bound.flatMap({ $0.ids })) }
            }
            if let poolNodes = pool.sizes[s.pageSizeKiB]?.nodes, poolNodes.count > 0, let set = nodes {
                switch budget.spread(pages: s.short, size: s.pageSizeKiB, over: set.ids.filter { poolNodes[$0] != nil }) {
                case .success(let more): steps += more
                case .failure(let refusal): return .refused(refusal)
                }
            } else {
                switch budget.take(pages: s.short, size: s.pageSizeKiB, node: nil) {
                case .success(let step): steps.append(step)
                case .failure(let refusal): return .refused(refusal)
                }
            }
        }
        return .grow(merge(steps))
    }

    /// Steps of the same size and node as one.
    public static func merge(_ steps: [GrowStep]) -> [GrowStep] {
        var out: [GrowStep] = []
        for s in steps {
            if let i = out.firstIndex(where: { $0.pageSizeKiB == s.pageSizeKiB && $0.node == s.node }) {
                out[i].pages = out[i].pages.addingSaturated(s.pages)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// What the floor and the caps still allow, drawn down as steps are planned.
    struct Budget {
        var pool: HugepagePool
        var memory: HostMemory
        var config: GrowthConfig
        /// KiB already planned, on the host and per node.
        var plannedKiB: UInt64 = 0
        var plannedNodeKiB: [Int: UInt64] = [:]
        var plannedPages: [GrowStep] = []

        init(pool: HugepagePool, memory: HostMemory, config: GrowthConfig) {
            self.pool = pool; self.memory = memory; self.config = config
        }

        func planned(size: UInt64, node: Int?) -> UInt64 {
            plannedPages.filter { $0.pageSizeKiB == size && (node == nil || $0.node == node) }.reduce(0) { $0.addingSaturated($1.pages) }
        }

        /// Pages the host floor allows.
        func floorRoom(size: UInt64) -> UInt64 {
            let floor = config.minAvailable.kib(ofTotal: memory.host.totalKiB)
            let left = memory.host.availableKiB > floor ? memory.host.availableKiB - floor : 0
            let room = left > plannedKiB ? left - plannedKiB : 0
            return room / size
        }

        func nodeFloorRoom(size: UInt64, node: Int) -> UInt64? {
            guard let f = memory.nodes[node] else { return nil }
            let floor = config.minAvailable.kib(ofTotal: f.totalKiB)
            let left = f.availableKiB > floor ? f.availableKiB - floor : 0
            let used = plannedNodeKiB[node] ?? 0
            return (left > used ? left - used : 0) / size
        }

        func capRoom(size: UInt64, node: Int?) -> UInt64? {
            guard let p = pool.sizes[size] else { return 0 }
            var room: UInt64?
            if let cap = config.cap(pageSizeKiB: size, node: nil) {
                let now = p.nr.addingSaturated(planned(size: size, node: nil))
                room = cap > now ? cap - now : 0
            }
            if let node, let cap = config.cap(pageSizeKiB: size, node: node) {
                let now = (p.nodes[node]?.nr ?? 0).addingSaturated(planned(size: size, node: node))
                let r = cap > now ? cap - now : 0
                room = min(room ?? r, r)
            }
            return room
        }

        mutating func record(_ step: GrowStep) {
            let kib = step.pages.multipliedReportingOverflow(by: step.pageSizeKiB)
            let add = kib.overflow ? UInt64.max : kib.partialValue
            plannedKiB = plannedKiB.addingSaturated(add)
            if let node = step.node { plannedNodeKiB[node] = (plannedNodeKiB[node] ?? 0).addingSaturated(add) }
            plannedPages.append(step)
        }

        mutating func take(pages: UInt64, size: UInt64, node: Int?) -> Swift.Result<GrowStep, GrowthRefusal> {
            let step = GrowStep(pageSizeKiB: size, node: node, pages: pages)
            if let room = capRoom(size: size, node: node), room < pages {
                return .failure(capRefusal(step: step, room: room))
            }
            let floorRoom = floorRoom(size: size)
            if floorRoom < pages { return .failure(floorRefusal(step: step, room: floorRoom, node: nil)) }
            if let node, let nodeRoom = nodeFloorRoom(size: size, node: node), nodeRoom < pages {
                return .failure(floorRefusal(step: step, room: nodeRoom, node: node))
            }
            record(step)
            return .success(step)
        }

        /// `pages` over `nodes`, most room first.
        mutating func spread(pages: UInt64, size: UInt64, over nodes: [Int]) -> Swift.Result<[GrowStep], GrowthRefusal> {
            func room(_ node: Int) -> (UInt64, GrowthLimit) {
                var best: (UInt64, GrowthLimit) = (floorRoom(size: size), .floor)
                if let r = nodeFloorRoom(size: size, node: node), r < best.0 { best = (r, .floor) }
                if let r = capRoom(size: size, node: node), r < best.0 { best = (r, .cap) }
                return best
            }
            var left = pages
            var steps: [GrowStep] = []
            let order = nodes.sorted { room($0).0 > room($1).0 || (room($0).0 == room($1).0 && $0 < $1) }
            for node in order where left > 0 {
                let n = min(left, room(node).0)
                if n == 0 { continue }
                let step = GrowStep(pageSizeKiB: size, node: node, pages: n)
                record(step)
                steps.append(step)
                left -= n
            }
            if left == 0 { return .success(steps) }
            // Name what binds: the cap if the caps alone can't hold it, else the floor.
            let limits = nodes.map { room($0).1 }
            let step = GrowStep(pageSizeKiB: size, node: nodes.count == 1 ? nodes[0] : nil, pages: pages)
            let got = pages - left
            if nodes.isEmpty || !limits.contains(.floor) {
                return .failure(capRefusal(step: step, room: got, nodes: nodes))
            }
            return .failure(floorRefusal(step: step, room: got, node: nodes.count == 1 ? nodes[0] : nil, nodes: nodes))
        }

        func capRefusal(step: GrowStep, room: UInt64, nodes: [Int]? = nil) -> GrowthRefusal {
            let size = step.pageSizeKiB
            let key = "pool.grow.max.\(shortPageSize(kib: size))" + (step.node.map { ".node\($0)" } ?? "")
            let cap = config.cap(pageSizeKiB: size, node: step.node) ?? config.cap(pageSizeKiB: size, node: nil)
            let capText = cap.map { "\(key) = \($0)" } ?? "the per-node caps pool.grow.max.\(shortPageSize(kib: size)).node<N>"
            let whereText = nodes.map { $0.isEmpty ? "on nodes the kernel has no pool for" : "on node\($0.count == 1 ? "" : "s") \(NodeSet($0))" } ?? step.placeText
            return GrowthRefusal(
                limit: .cap, pageSizeKiB: size, node: step.node, asked: step.pages, allowed: room,
                detail: "growing the pool by \(pagesText(step.pages)) of \(humanPageSize(kib: size)) \(whereText) would pass the cap \(capText), which leaves room for \(room)",
                fix: "raise \(key) in the config file, or stop another VM")
        }

        func floorOfTotal(_ floor: UInt64) -> String {
            if case .percent = config.minAvailable { return " (\(humanMemory(kib: floor)))" }
            return ""
        }

        func floorRefusal(step: GrowStep, room: UInt64, node: Int?, nodes: [Int]? = nil) -> GrowthRefusal {
            let size = step.pageSizeKiB
            let figures = node.flatMap { memory.nodes[$0] } ?? memory.host
            let floor = config.minAvailable.kib(ofTotal: figures.totalKiB)
            let what = node.map { "node \($0)'s MemFree" } ?? "MemAvailable"
            let needKiB = step.pages.multipliedReportingOverflow(by: size).partialValue
            let whereText = nodes.map { "on node\($0.count == 1 ? "" : "s") \(NodeSet($0))" } ?? step.placeText
            return GrowthRefusal(
                limit: .floor, pageSizeKiB: size, node: node, asked: step.pages, allowed: room,
                detail: "growing the pool by \(pagesText(step.pages)) of \(humanPageSize(kib: size)) (\(humanMemory(kib: needKiB))) \(whereText) would take \(what) (\(humanMemory(kib: figures.availableKiB))) below the floor pool.grow.min_available = \(config.minAvailable)\(floorOfTotal(floor)); it allows \(room)",
                fix: "free memory on the host, or lower pool.grow.min_available in the config file")
        }
    }
}

extension UInt64 {
    /// `self + other`, or `UInt64.max` on overflow: counts from the ledger and sysfs are
    /// outside input, and a sum of them must neither trap nor wrap to a small number.
    public func addingSaturated(_ other: UInt64) -> UInt64 {
        let (s, o) = addingReportingOverflow(other)
        return o ? .max : s
    }
}

func pagesText(_ n: UInt64) -> String { n == 1 ? "1 page" : "\(n) pages" }

extension GrowthOutcome {
    /// The sentence a refusal adds after the shortfall figures, and its fix.
    public var refusalText: (sentence: String, fix: String?)? {
        switch self {
        case .grown: return nil
        case .wouldGrow(let steps):
            return ("pool.grow is on, so the hook would first grow the pool by \(GrowStep.listText(steps)) (within pool.grow.min_available and the pool.grow.max caps) and start it if the kernel gives every page; "
                    + "'hugepage-guard plan' says how much more the pool can grow.", nil)
        case .unknown(let reason):
            return ("pool.grow is on, but what growth would do is unknown: \(reason).", nil)
        case .refused(let r):
            return ("The pool was not grown: \(r.detail).", r.fix)
        case let .rolledBack(asked, got, unrestored):
            let askedText = asked.map { "\(pagesText($0.pages)) of \(humanPageSize(kib: $0.pageSizeKiB)) \($0.placeText)" }.joined(separator: ", ")
            let gotText = got.map { "\($0.pages)" }.joined(separator: ", ")
            var s = "The pool was grown and rolled back: asked the kernel for \(askedText), it could give \(gotText) even after compacting memory once, so memory is too fragmented for pages of that size."
            s += unrestored.isEmpty ? " Every count was put back." : " Could not put back \(unrestored.map { "\($0.pages) \(humanPageSize(kib: $0.pageSizeKiB)) pages \($0.placeText)" }.joined(separator: ", ")); the agent gives them back."
            return (s, "reserve the pages at boot (hugepages= on the kernel command line) or free and compact memory ('echo 1 > /proc/sys/vm/compact_memory')")
        case let .stillShort(asked, unrestored):
            var s = "The pool was grown by \(asked.map { "\(pagesText($0.pages)) of \(humanPageSize(kib: $0.pageSizeKiB)) \($0.placeText)" }.joined(separator: ", ")) but the kernel put them on other nodes than the domain may use, so it was rolled back."
            s += unrestored.isEmpty ? " Every count was put back." : " Some pages could not be put back; the agent gives them back."
            return (s, "grow the pool on the domain's nodes by hand")
        }
    }
}

extension GrowStep {
    /// "32 pages of 2 MiB on any node, 1 page of 1 GiB on node 0".
    public static func listText(_ steps: [GrowStep]) -> String {
        steps.map { "\(pagesText($0.pages)) of \(humanPageSize(kib: $0.pageSizeKiB)) \($0.placeText)" }.joined(separator: ", ")
    }
}
