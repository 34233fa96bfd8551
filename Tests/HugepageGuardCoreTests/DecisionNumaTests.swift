@testable import HugepageGuardCore
import XCTest

/// Strict numatune: pages must come from the bound nodes. The check is a max-flow.
final class DecisionNumaTests: XCTestCase {
    /// Eight nodes with 10 free pages each, except node 3 with 4.
    private let eight = pool2M(free: [10, 10, 10, 4, 10, 10, 10, 10])

    func testDecision_strictOnAShortNode_refusesEvenWhenOtherNodesHaveRoom() {
        let d = decide(demand2M([(NodeSet([3]), 8)]), eight)
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls, [Shortfall(pageSizeKiB: 2048, hostNodes: NodeSet([3]), needed: 8, free: 4,
                                                reservedByOtherStarts: 0, hostReserve: 0, short: 4)])
    }

    func testDecision_unconfinedDemand_usesTheWholePool() {
        XCTAssertEqual(decide(demand2M([(nil, 74)]), eight).verdict, .admit)
        XCTAssertEqual(decide(demand2M([(nil, 75)]), eight).verdict, .refuse)
    }

    func testDecision_strictOnSeveralNodes_sumsThoseNodes() {
        XCTAssertEqual(decide(demand2M([(NodeSet([2, 3]), 14)]), eight).verdict, .admit)
        XCTAssertEqual(decide(demand2M([(NodeSet([2, 3]), 15)]), eight).verdict, .refuse)
    }

    func testDecision_strictOnANodeTheHostLacks_refuses() {
        XCTAssertEqual(decide(demand2M([(NodeSet([9]), 1)]), eight).verdict, .refuse)
    }

    func testDecision_inFlightConfinedElsewhere_doesNotBlockAnotherNode() {
        let others = [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0]), pages: 10)]
        XCTAssertEqual(decide(demand2M([(NodeSet([1]), 10)]), eight, inFlight: others).verdict, .admit)
        XCTAssertEqual(decide(demand2M([(NodeSet([0]), 1)]), eight, inFlight: others).verdict, .refuse)
    }

    func testDecision_unconfinedInFlight_isPlacedWhereItLeavesTheMostRoom() {
        // The other start may take any node; this VM is bound to node 0. Both fit together.
        let pool = pool2M(free: [10, 10])
        let others = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 10)]
        XCTAssertEqual(decide(demand2M([(NodeSet([0]), 10)]), pool, inFlight: others).verdict, .admit)
    }

    func testDecision_overlappingGroupsThatFitOnlyInOneOrder_admits() {
        // B {1,2}: 5 listed first; a greedy that fills B from node 1 leaves A {0,1}: 20 short by 5.
        let pool = pool2M(free: [10, 10, 10])
        let d = decide(demand2M([(NodeSet([1, 2]), 5), (NodeSet([0, 1]), 20)]), pool)
        XCTAssertEqual(d.verdict, .admit)
    }

    func testDecision_overlappingGroupsThatFitAloneAndInTotalButNotTogether_refuses() {
        // A {0}: 8 and B {0,1}: 15 each fit alone, and 23 <= 25 in total, but nodes 0-1 hold 15.
        let pool = pool2M(free: [10, 5, 10])
        let d = decide(demand2M([(NodeSet([0]), 8), (NodeSet([0, 1]), 15)]), pool)
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls.reduce(0) { $0 + $1.short }, 8)
    }

    func testDecision_inFlightAndVMOnOverlappingSets_isExact() {
        // Other start: {0,1}: 12. VM: {1}: 8. Nodes 0:10 1:10: the other takes 10+2, VM gets 8.
        let pool = pool2M(free: [10, 10])
        let others = [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 1]), pages: 12)]
        XCTAssertEqual(decide(demand2M([(NodeSet([1]), 8)]), pool, inFlight: others).verdict, .admit)
        XCTAssertEqual(decide(demand2M([(NodeSet([1]), 9)]), pool, inFlight: others).verdict, .refuse)
    }
}
