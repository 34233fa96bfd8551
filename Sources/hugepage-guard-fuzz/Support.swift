import HugepageGuardCore

/// The demand `decideOnSamplePool` decides on when it isn't given one: a small 2 MiB + 1 GiB VM.
let sampleDemand = DomainDemand(domain: "fuzz", items: [
    DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0]), pages: 64),
    DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 32),
    DemandItem(pageSizeKiB: 1_048_576, hostNodes: nil, pages: 1),
])

/// A decision on a two-node host with 2 MiB and 1 GiB pools, so that a fuzzed config, ledger
/// or demand reaches the arithmetic the hook does with it.
func decideOnSamplePool(config: GuardConfig, inFlight: [DemandItem], demand: DomainDemand = sampleDemand) {
    let nodes = [0: NodeCounts(nr: 256, free: 200, surplus: 0), 1: NodeCounts(nr: 256, free: 100, surplus: 0)]
    let pool = HugepagePool(
        sizes: [2048: PagePool(sizeKiB: 2048, nr: 512, free: 300, resv: 8, surplus: 0, nodes: nodes),
                1_048_576: PagePool(sizeKiB: 1_048_576, nr: 4, free: 4, resv: 0, surplus: 0)],
        mounts: [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: 2048),
                 HugetlbfsMount(path: "/dev/hugepages1G", pageSizeKiB: 1_048_576)],
        kernelDefaultKiB: 2048)
    _ = try? Decision.evaluate(AdmissionInput(demand: demand, pool: pool, inFlight: inFlight, config: config))
}

#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `s` to a file descriptor (1 or 2); stdio's `stdout` isn't concurrency-safe.
func write(_ s: String, fd: Int32) {
    var bytes = Array(s.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}
