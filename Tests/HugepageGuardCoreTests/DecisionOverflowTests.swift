@testable import HugepageGuardCore
import XCTest

/// Counts near 2^64 from sysfs, the config, the ledger or the XML: every sum is exact, the
/// figures shown saturate at UInt64.max, and nothing traps.
final class DecisionOverflowTests: XCTestCase {
    private let max = UInt64.max, half = UInt64(1) << 63

    /// A 2 MiB pool with these per-node free counts (nr = free) and a mount.
    private func pool(_ nodeFree: [UInt64], resv: UInt64 = 0, nr: UInt64? = nil) -> HugepagePool {
        var nodes: [Int: NodeCounts] = [:]
        for (i, f) in nodeFree.enumerated() { nodes[i] = NodeCounts(nr: f, free: f, surplus: 0) }
        let total = nodeFree.reduce(UInt64(0)) { $0.addingReportingOverflow($1).overflow ? .max : $0 + $1 }
        return HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: nr ?? total, free: total, resv: resv, surplus: 0, nodes: nodes)],
                            mounts: [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: 2048)], kernelDefaultKiB: 2048)
    }

    func testHostReservesSummingPast2To64_withAStartInFlight_refuseWithSaturatedFigures() {
        let reserves = [HostReserve(pageSizeKiB: 2048, node: nil, pages: half), HostReserve(pageSizeKiB: 2048, node: 0, pages: half)]
        let d = decide(demand2M([(nil, 8)]), pool2M(free: [100]),
                       inFlight: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 1)], config: config(reserves: reserves))
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls, [Shortfall(pageSizeKiB: 2048, hostNodes: nil, needed: 8, free: 100,
                                                reservedByOtherStarts: 1, hostReserve: max, short: 8)])
    }

    func testMaximalHostReservePlusAStartInFlight_refusesWithoutTrapping() {
        let d = decide(demand2M([(nil, 8)]), pool2M(free: [100]),
                       inFlight: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 1)],
                       config: config(reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: max)]))
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls.first?.hostReserve, max)
        XCTAssertEqual(d.shortfalls.first?.short, 8)
    }

    func testStartsInFlightSummingPast2To64_refuse() {
        let inFlight = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: half), DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: half)]
        let d = decide(demand2M([(nil, 8)]), pool([max]), inFlight: inFlight)
        XCTAssertEqual(d.verdict, .refuse, "2^64 - 1 free, 2^64 in flight")
        XCTAssertEqual(d.shortfalls.first?.reservedByOtherStarts, max)
        XCTAssertEqual(d.shortfalls.first?.short, 8)
        XCTAssertEqual(decide(demand2M([(nil, max - 1)]), pool([max, max]), inFlight: inFlight).verdict, .admit,
                       "2^65 - 2 free, 2^64 in flight: 2^64 - 2 left")
    }

    func testNodeFreeCountsSummingPast2To64_admitADemandThatFitsOnlyAcrossNodes() {
        // 2^63 free on each of two nodes: 2^64 in all, more than one UInt64 can hold.
        let d = decide(demand2M([(nil, max)]), pool([half, half]))
        XCTAssertEqual(d.verdict, .admit)
        let tooBig = decide(demand2M([(nil, max), (NodeSet([0]), 2)]), pool([half, half]))
        XCTAssertEqual(tooBig.verdict, .refuse, "2^64 + 1 pages in a pool of 2^64")
        XCTAssertEqual(tooBig.shortfalls.first?.needed, max, "2^64 + 1 shown saturated")
        XCTAssertEqual(tooBig.shortfalls.first?.short, 1)
    }

    func testDemandItemsSummingPast2To64_onNodesThatHoldThem_admit() {
        let d = decide(demand2M([(NodeSet([0]), half), (NodeSet([1]), half)]), pool([max, max]))
        XCTAssertEqual(d.verdict, .admit)
    }

    func testPagesBoundToANode_withMoreThanAQuarterOf2To64Free_fitExactly() {
        // A group-to-node edge must never limit the flow, however large the node's count.
        let d = decide(demand2M([(NodeSet([0]), max / 2)]), pool([max]))
        XCTAssertEqual(d.verdict, .admit)
        XCTAssertEqual(decide(demand2M([(NodeSet([0]), max)]), pool([max], resv: 1)).verdict, .refuse)
    }

    func testReport_fixForAPoolThatWouldPass2To64Pages_saysItCannotGrowThatFar() {
        // nr already at the maximum: 'nr + short' has no value.
        let p = pool([0], nr: max)
        let r = DecisionReport(decision: decide(demand2M([(nil, 10)]), p), pool: p, operation: "prepare")
        let text = r.refusalParagraph
        XCTAssertTrue(text.contains("no 2 MiB pool can be made that large"), text)
        XCTAssertFalse(text.contains("sysctl"), text)
    }

    func testReport_logLineForShortfallsSummingPast2To64_isSaturated() {
        let p = pool([0, 0])
        let r = DecisionReport(decision: decide(demand2M([(NodeSet([0]), max), (NodeSet([1]), max)]), p), pool: p, operation: "prepare")
        XCTAssertEqual(r.decision.shortfalls.count, 2)
        XCTAssertEqual(r.logLine["short_2048kB"], String(max))
        XCTAssertEqual(r.logLine["pages_2048kB"], String(max))
    }
}
