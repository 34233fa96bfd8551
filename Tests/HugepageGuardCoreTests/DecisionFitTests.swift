@testable import HugepageGuardCore
import XCTest

/// Free minus resv, minus other in-flight starts, minus the host reserve.
final class DecisionFitTests: XCTestCase {
    func testDecision_demandWithinFreePages_admits() {
        let d = decide(demand2M([(nil, 48)]), pool2M(free: [48]))
        XCTAssertEqual(d.verdict, .admit)
        XCTAssertTrue(d.fits)
        XCTAssertEqual(d.reasons, [])
    }

    func testDecision_demandAboveFreePages_refusesWithTheShortfall() {
        let d = decide(demand2M([(nil, 48)]), pool2M(free: [40]))
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls, [Shortfall(pageSizeKiB: 2048, hostNodes: nil, needed: 48, free: 40,
                                                reservedByOtherStarts: 0, hostReserve: 0, short: 8)])
    }

    func testDecision_resvPages_areNotAvailable() {
        XCTAssertEqual(decide(demand2M([(nil, 48)]), pool2M(free: [68], resv: 20)).verdict, .admit)
        let d = decide(demand2M([(nil, 48)]), pool2M(free: [60], resv: 20))
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls.first?.free, 40)
        XCTAssertEqual(d.shortfalls.first?.short, 8)
    }

    func testDecision_pagesReservedByOtherInFlightStarts_count() {
        let others = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 60)]
        XCTAssertEqual(decide(demand2M([(nil, 40)]), pool2M(free: [100]), inFlight: others).verdict, .admit)
        let d = decide(demand2M([(nil, 48)]), pool2M(free: [100]), inFlight: others)
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls.first?.reservedByOtherStarts, 60)
        XCTAssertEqual(d.shortfalls.first?.short, 8)
    }

    func testDecision_inFlightOfAnotherPageSize_doesNotCount() {
        let others = [DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 60)]
        XCTAssertEqual(decide(demand2M([(nil, 48)]), pool2M(free: [48]), inFlight: others).verdict, .admit)
    }

    func testDecision_globalHostReserve_isKeptFree() {
        let c = config(reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: 60)])
        XCTAssertEqual(decide(demand2M([(nil, 40)]), pool2M(free: [100]), config: c).verdict, .admit)
        let d = decide(demand2M([(nil, 48)]), pool2M(free: [100]), config: c)
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.shortfalls.first?.hostReserve, 60)
        XCTAssertEqual(d.shortfalls.first?.short, 8)
    }

    func testDecision_perNodeHostReserve_onlyBindsThatNode() {
        let c = config(reserves: [HostReserve(pageSizeKiB: 2048, node: 0, pages: 50)])
        let pool = pool2M(free: [50, 50])
        XCTAssertEqual(decide(demand2M([(nil, 50)]), pool, config: c).verdict, .admit, "node 1 holds it")
        XCTAssertEqual(decide(demand2M([(nil, 51)]), pool, config: c).verdict, .refuse)
        XCTAssertEqual(decide(demand2M([(NodeSet([1]), 50)]), pool, config: c).verdict, .admit)
        let strict0 = decide(demand2M([(NodeSet([0]), 10)]), pool, config: c)
        XCTAssertEqual(strict0.verdict, .refuse)
        XCTAssertEqual(strict0.shortfalls.first?.hostReserve, 50)
    }

    func testDecision_reserveOfAnotherPageSize_doesNotCount() {
        let c = config(reserves: [HostReserve(pageSizeKiB: kib1G, node: nil, pages: 4)])
        XCTAssertEqual(decide(demand2M([(nil, 48)]), pool2M(free: [48]), config: c).verdict, .admit)
    }

    func testDecision_zeroDemand_admitsWithoutAPool() {
        let d = decide(DomainDemand(domain: "plain", items: []), HugepagePool(sizes: [:]))
        XCTAssertEqual(d.verdict, .admit)
        XCTAssertEqual(d.reasons, [])
    }

    func testDecision_unsupportedPageSize_refuses() {
        let d = decide(DomainDemand(domain: "big", items: [DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 1)]),
                       pool2M(free: [100]))
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.reasons, [.unsupportedPageSize(pageSizeKiB: kib1G)])
    }

    func testDecision_noHugetlbfsMount_refusesEvenWithFreePages() {
        let d = decide(demand2M([(nil, 8)]), pool2M(free: [100], mounted: false))
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.reasons, [.noMount(pageSizeKiB: 2048)])
    }

    func testDecision_memfdWithoutMount_isFine() {
        XCTAssertEqual(decide(demand2M([(nil, 8)]), pool2M(free: [100], mounted: false), memfd: true).verdict, .admit)
    }

    func testDecision_poolWithoutPerNodeCounters_isOneNode() {
        var pool = pool2M(free: [40])
        pool.sizes[2048]!.nodes = [:]
        XCTAssertEqual(decide(demand2M([(nil, 40)]), pool).verdict, .admit)
        XCTAssertEqual(decide(demand2M([(nil, 41)]), pool).verdict, .refuse)
    }
}
