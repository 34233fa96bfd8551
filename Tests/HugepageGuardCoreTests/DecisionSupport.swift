@testable import HugepageGuardCore

/// A 2 MiB pool with per-node free counts (nr = free unless given) and a 2 MiB mount.
func pool2M(free nodeFree: [Int], resv: UInt64 = 0, nr nodeNr: [Int]? = nil, mounted: Bool = true,
            kernelDefault: UInt64? = 2048) -> HugepagePool {
    var nodes: [Int: NodeCounts] = [:]
    for (i, f) in nodeFree.enumerated() {
        nodes[i] = NodeCounts(nr: UInt64(nodeNr?[i] ?? f), free: UInt64(f), surplus: 0)
    }
    let free = UInt64(nodeFree.reduce(0, +)), nr = UInt64((nodeNr ?? nodeFree).reduce(0, +))
    return HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: nr, free: free, resv: resv, surplus: 0, nodes: nodes)],
                        mounts: mounted ? [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: 2048)] : [],
                        kernelDefaultKiB: kernelDefault)
}

func demand2M(_ items: [(NodeSet?, UInt64)], domain: String = "web1") -> DomainDemand {
    DomainDemand(domain: domain, items: items.map { DemandItem(pageSizeKiB: 2048, hostNodes: $0.0, pages: $0.1) })
}

func decide(_ demand: DomainDemand, _ pool: HugepagePool, inFlight: [DemandItem] = [], config: GuardConfig = GuardConfig(),
            domainPolicy: Policy? = nil, memfd: Bool = false) -> Decision {
    Decision.evaluate(AdmissionInput(demand: demand, pool: pool, inFlight: inFlight, config: config,
                                     domainPolicy: domainPolicy, memfd: memfd))
}

func config(reserves: [HostReserve] = [], policy: Policy = .enforce) -> GuardConfig {
    var c = GuardConfig()
    c.reserves = reserves
    c.policy = policy
    return c
}

extension Decision {
    var shortfalls: [Shortfall] {
        reasons.compactMap { if case .short(let s) = $0 { return s } else { return nil } }
    }
}
