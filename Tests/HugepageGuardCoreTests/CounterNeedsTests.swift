@testable import HugepageGuardCore
import XCTest

/// Which counters one decision reads: its page sizes, and of each the nodes its placement
/// can look at.
final class CounterNeedsTests: XCTestCase {
    private func item(_ kib: UInt64, _ nodes: [Int]?, _ pages: UInt64 = 4) -> DemandItem {
        DemandItem(pageSizeKiB: kib, hostNodes: nodes.map { NodeSet($0) }, pages: pages)
    }
    private func needs(_ items: [DemandItem], inFlight: [DemandItem] = [], reserves: [HostReserve] = []) -> CounterNeeds {
        var config = GuardConfig()
        config.reserves = reserves
        return Decision.counterNeeds(demand: DomainDemand(domain: "vm", items: items), inFlight: inFlight, config: config)
    }

    func testPagesFromAnyNode_needOnlyThePoolsOwnCount_andOnlyTheSizesAsked() {
        XCTAssertEqual(needs([item(2048, nil)], inFlight: [item(1_048_576, [1]), item(2048, nil)]),
                       CounterNeeds(sizes: [.init(pageSizeKiB: 2048, allNodes: false, nodes: [])]))
    }

    func testBoundPages_needTheirNodes_andThoseOfOtherStartsAndReservesOfTheSize() {
        XCTAssertEqual(needs([item(2048, [2, 3]), item(1_048_576, [0])],
                             inFlight: [item(2048, [5]), item(2048, [3]), item(2048, [5]), item(1_048_576, [7], 0)],
                             reserves: [HostReserve(pageSizeKiB: 2048, node: 6, pages: 8), HostReserve(pageSizeKiB: 4096, node: nil, pages: 1)]),
                       CounterNeeds(sizes: [.init(pageSizeKiB: 2048, allNodes: false, nodes: [2, 3, 5, 6]),
                                            .init(pageSizeKiB: 1_048_576, allNodes: false, nodes: [0, 7])]))
    }

    func testBoundPagesBesidePagesFromAnyNode_needEveryNode() {
        let all = CounterNeeds(sizes: [.init(pageSizeKiB: 2048, allNodes: true, nodes: [])])
        XCTAssertEqual(needs([item(2048, [1])], inFlight: [item(2048, nil)]), all)
        XCTAssertEqual(needs([item(2048, nil)], inFlight: [item(2048, [1])]), all)
        XCTAssertEqual(needs([item(2048, [1]), item(2048, nil)]), all)
        XCTAssertEqual(needs([item(2048, [1])], reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: 16)]), all)
        XCTAssertEqual(needs([item(2048, nil)], reserves: [HostReserve(pageSizeKiB: 2048, node: 0, pages: 16)]), all)
    }

    func testNoPages_noCounters() {
        XCTAssertEqual(needs([]), CounterNeeds(sizes: []))
    }
}
