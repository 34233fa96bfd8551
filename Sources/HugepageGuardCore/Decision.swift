/// Why a page size can't hold a VM's demand.
public struct Shortfall: Equatable, Sendable {
    public var pageSizeKiB: UInt64
    /// The nodes the pages must come from; nil for anywhere in the pool.
    public var hostNodes: NodeSet?
    public var needed: UInt64
    /// Free pages on those nodes, minus the kernel's reserved (`resv`) pages.
    public var free: UInt64
    public var reservedByOtherStarts: UInt64
    public var hostReserve: UInt64
    /// Pages to add to the pool so that the VM fits.
    public var short: UInt64
    // Each figure is exact up to `UInt64.max - 1`; `UInt64.max` means "at least that many"
    // (a sum of counts from sysfs, the ledger or the config that went past 2^64).
}

public enum Reason: Equatable, Sendable {
    /// The kernel has no pool of this size (no `/sys/kernel/mm/hugepages/hugepages-<K>kB`).
    case unsupportedPageSize(pageSizeKiB: UInt64)
    /// No hugetlbfs is mounted for this size, so libvirt can't back the memory with it.
    case noMount(pageSizeKiB: UInt64)
    case short(Shortfall)
    /// QEMU itself can't create a backend of this shape, whatever the pool holds (a hugetlb
    /// memfd that isn't whole pages, a bound mapping that isn't, ...): the text names the
    /// backend, its size and the sizes that would work.
    case unstartable(String)
}

public struct Decision: Equatable, Sendable {
    public enum Verdict: String, Sendable { case admit, refuse }
    public var verdict: Verdict
    /// The policy that applied: the domain's own, else the host's.
    public var policy: Policy
    /// Why the VM doesn't fit; empty when it does. Under `warn` the verdict is admit even
    /// when this isn't empty.
    public var reasons: [Reason]
    public var demand: DomainDemand

    public var fits: Bool { reasons.isEmpty }
}

/// Everything a decision depends on; built by the hook and by `hugepage-guard check`.
public struct AdmissionInput: Sendable {
    public var demand: DomainDemand
    public var pool: HugepagePool
    /// Pages promised to other starts still in flight.
    public var inFlight: [DemandItem]
    public var config: GuardConfig
    /// The domain's `<metadata>` policy, which overrides the host's.
    public var domainPolicy: Policy?
    /// memfd backends don't need a hugetlbfs mount for an explicit page size.
    public var memfd: Bool

    public init(demand: DomainDemand, pool: HugepagePool, inFlight: [DemandItem], config: GuardConfig,
                domainPolicy: Policy? = nil, memfd: Bool = false) {
        self.demand = demand; self.pool = pool; self.inFlight = inFlight; self.config = config
        self.domainPolicy = domainPolicy; self.memfd = memfd
    }
}

extension Decision {
    /// Decides whether the VM fits, for each page size it uses: the kernel's free pages
    /// minus `resv`, minus what other in-flight starts reserved, minus the host reserve.
    /// Pages confined to host nodes (strict numatune) must fit on those nodes; the rest
    /// may come from anywhere. The check is a max-flow over node sets (so overlapping
    /// bindings are counted exactly), plus each (size, nodes) on its own with the kernel's
    /// `resv` charged to its nodes.
    public static func evaluate(_ input: AdmissionInput) -> Decision {
        let policy = input.domainPolicy ?? input.config.policy
        if policy == .off {
            return Decision(verdict: .admit, policy: policy, reasons: [], demand: input.demand)
        }
        var reasons = input.demand.unstartable.map(Reason.unstartable)
        if input.demand.isZero {
            return Decision(verdict: reasons.isEmpty || policy == .warn ? .admit : .refuse, policy: policy,
                            reasons: reasons, demand: input.demand)
        }
        for size in input.demand.pageSizes {
            guard let pool = input.pool.sizes[size] else {
                reasons.append(.unsupportedPageSize(pageSizeKiB: size)); continue
            }
            if !input.memfd && input.pool.mount(forPageSize: size) == nil {
                reasons.append(.noMount(pageSizeKiB: size)); continue
            }
            reasons += shortfalls(size: size, pool: pool, input: input).map(Reason.short)
        }
        let verdict: Verdict = reasons.isEmpty || policy == .warn ? .admit : .refuse
        return Decision(verdict: verdict, policy: policy, reasons: reasons, demand: input.demand)
    }

    private static func shortfalls(size: UInt64, pool: PagePool, input: AdmissionInput) -> [Shortfall] {
        // Every count here comes from sysfs, the ledger, the config or the XML, so any one may
        // be near 2^64: sums and differences are exact in 128 bits (PageArithmetic), and
        // only the figures shown saturate.
        typealias Pages = PageArithmetic
        // Nodes: per-node counters where the kernel has them, else the pool as one node.
        let nodeIDs = pool.nodes.keys.sorted()
        let capacity = nodeIDs.isEmpty ? [pool.free] : nodeIDs.map { pool.nodes[$0]?.free ?? 0 }
        let all = Array(0..<capacity.count)
        func indices(_ set: NodeSet?) -> [Int] {
            guard let set else { return all }
            return nodeIDs.isEmpty ? (set.contains(0) ? [0] : []) : set.ids.compactMap { nodeIDs.firstIndex(of: $0) }
        }
        func group(_ nodes: NodeSet?, _ pages: UInt128) -> Placement.Group { .init(nodes: indices(nodes), pages: pages) }

        let vm = input.demand.items.filter { $0.pageSizeKiB == size }
        let reserves = input.config.reserves.filter { $0.pageSizeKiB == size }
        // Other starts' pages summed per node set: the ledger may hold hundreds of entries, on
        // a handful of distinct node sets. A list, not a dictionary keyed by node set, for the
        // reason Placement gives. The sums are exact: the ledger's total is bounded when read.
        var others: [(nodes: NodeSet?, pages: UInt128)] = []
        for item in input.inFlight where item.pageSizeKiB == size {
            if let i = others.firstIndex(where: { $0.nodes == item.hostNodes }) { others[i].pages += UInt128(item.pages) } else {
                others.append((nodes: item.hostNodes, pages: UInt128(item.pages)))
            }
        }

        // Each (size, nodes) the VM asks for must fit on its own, counting the kernel's `resv`
        // against its nodes: where those pages will be faulted from is unknown, so assume the
        // worst. These are the figures a refusal shows.
        func within(_ nodes: NodeSet?, _ item: NodeSet?) -> Bool {
            guard let nodes else { return true }
            guard let item else { return false }
            return item.ids.allSatisfy(nodes.contains)  // a binary search each; no Set per ledger item
        }
        var result: [Shortfall] = []
        for item in vm {
            let free = Pages.excess(Pages.sum(indices(item.hostNodes).map { capacity[$0] }), over: UInt128(pool.resv))
            let reserved = others.filter { within(item.hostNodes, $0.nodes) }.reduce(UInt128(0)) { $0 + $1.pages }
            let reserve = Pages.sum(reserves.filter { r in r.node.map { item.hostNodes?.contains($0) ?? true } ?? true }.map { $0.pages })
            let usable = Pages.excess(free, over: reserved + reserve)
            if UInt128(item.pages) > usable {
                result.append(Shortfall(pageSizeKiB: size, hostNodes: item.hostNodes, needed: item.pages, free: Pages.shown(free),
                                        reservedByOtherStarts: Pages.shown(reserved), hostReserve: Pages.shown(reserve),
                                        short: Pages.shown(UInt128(item.pages) - usable)))
            }
        }
        guard result.isEmpty else { return result }

        // Each part fits alone; do they fit together, beside everything else on the nodes?
        var base: [Placement.Group] = [group(nil, UInt128(pool.resv))]
        base += others.map { group($0.nodes, $0.pages) }
        base += reserves.map { group($0.node.map { NodeSet([$0]) }, UInt128($0.pages)) }
        let placement = Placement(capacity: capacity)
        let vmPages = Pages.sum(vm.map { $0.pages })
        let everything = base + vm.map { group($0.hostNodes, UInt128($0.pages)) }
        let placedAll = placement.maxPlaced(everything)
        // When everything fits at once, so do the VM's pages beside the rest: the second flow,
        // of the rest alone, is needed only to size a shortfall.
        let deficit = placedAll == everything.reduce(UInt128(0), { $0 + $1.pages })
            ? 0 : Pages.excess(vmPages, over: Pages.excess(placedAll, over: placement.maxPlaced(base)))
        if deficit > 0 {
            // Reported for the size as a whole.
            result.append(Shortfall(pageSizeKiB: size, hostNodes: nil, needed: Pages.shown(vmPages), free: pool.available,
                                    reservedByOtherStarts: Pages.shown(others.reduce(UInt128(0)) { $0 + $1.pages }),
                                    hostReserve: Pages.shown(Pages.sum(reserves.map { $0.pages })), short: Pages.shown(deficit)))
        }
        return result
    }
}

/// The sysfs counters one decision reads (SysfsPoolReader's `.needed`): only the page sizes
/// its domain asks for, and of each, the free pages of the nodes its placement can look at.
public struct CounterNeeds: Equatable, Sendable {
    public struct Size: Equatable, Sendable {
        public var pageSizeKiB: UInt64
        /// Every node's free pages: some of this size's pages are bound to nodes while others
        /// (another start's, the host reserve's) may come from any node.
        public var allNodes: Bool
        /// Else these nodes' (sorted). None at all: no page of this size is bound to a node,
        /// so the pool's own free count is all the placement needs. When the kernel's `resv`
        /// of the size is above 0 (pages promised to a mapping, on any node), every node is
        /// read after all.
        public var nodes: [Int]

        public init(pageSizeKiB: UInt64, allNodes: Bool, nodes: [Int]) {
            self.pageSizeKiB = pageSizeKiB; self.allNodes = allNodes; self.nodes = nodes
        }
    }
    public var sizes: [Size]

    public init(sizes: [Size]) { self.sizes = sizes }

    public func size(_ kib: UInt64) -> Size? { sizes.first { $0.pageSizeKiB == kib } }
}

extension Decision {
    /// What `evaluate` will look at for `demand`, beside `inFlight` and the config's host
    /// reserve: for each page size the domain asks for, the nodes of every group the
    /// placement makes of that size. A decision on a pool read this way equals one on the
    /// whole pool: a node no group names holds nothing any group may take, and the pool's
    /// free count is the sum of its nodes'.
    public static func counterNeeds(demand: DomainDemand, inFlight: [DemandItem], config: GuardConfig) -> CounterNeeds {
        CounterNeeds(sizes: demand.pageSizes.map { size in
            // Pages bound to nodes (which), and pages that may come from any node: once there
            // are both, every node counts and nothing more needs looking at.
            var anyNode = false
            var bound: [Int] = []
            var last: NodeSet?
            func take(_ node: Int) { if !bound.contains(node) { bound.append(node) } }
            func take(_ nodes: NodeSet?) -> Bool {
                if let nodes {
                    // A ledger repeats a handful of node sets: each is taken once in a row.
                    if nodes != last { for id in nodes.ids { take(id) } }
                    last = nodes
                } else {
                    anyNode = true
                }
                return anyNode && !bound.isEmpty
            }
            func need() -> CounterNeeds.Size {
                CounterNeeds.Size(pageSizeKiB: size, allNodes: anyNode && !bound.isEmpty, nodes: anyNode ? [] : bound.sorted())
            }
            for item in demand.items where item.pageSizeKiB == size { if take(item.hostNodes) { return need() } }
            for item in inFlight where item.pageSizeKiB == size { if take(item.hostNodes) { return need() } }
            for reserve in config.reserves where reserve.pageSizeKiB == size {
                if let node = reserve.node { take(node) } else { anyNode = true }
            }
            return need()
        })
    }
}
