@testable import HugepageGuardCore
import XCTest

final class PlanTests: XCTestCase {
    func input(_ pool: HugepagePool, _ demand: DomainDemand, growth g: GrowthConfig = GrowthConfig(), reserves: [HostReserve] = [],
               memory m: HostMemory = memory(), inFlight: [DemandItem] = []) -> PlanInput {
        var c = config(reserves: reserves)
        c.growth = g
        return PlanInput(demand: demand, pool: pool, inFlight: inFlight, config: c, memory: m)
    }

    func testAsIs_countsWholeCopiesAfterInFlightAndReserve() {
        let r = Planner.plan(input(pool2M(free: [90]), demand2M([(nil, 32)]), reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: 5)],
                                   inFlight: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 1)]))
        XCTAssertEqual(r.asIs, 2)       // 84 usable; 89 without the reserve, still short of 96
        XCTAssertEqual(r.asIsLimit, .pool)
        XCTAssertNil(r.withGrowth)
    }

    func testAsIs_namesTheReserveWhenItHoldsTheNextCopy() {
        let r = Planner.plan(input(pool2M(free: [96]), demand2M([(nil, 32)]), reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: 5)]))
        XCTAssertEqual(r.asIs, 2)
        XCTAssertEqual(r.asIsLimit, .reserve)
    }

    func testWithGrowth_stopsAtTheCap() {
        let r = Planner.plan(input(pool2M(free: [10]), demand2M([(nil, 32)]),
                                   growth: growth(caps: [GrowCap(pageSizeKiB: 2048, node: nil, pages: 100)])), count: 4)
        // Pool 10 + growth up to 100 pages in all: 3 copies (96).
        XCTAssertEqual(r.asIs, 0)
        XCTAssertEqual(r.withGrowth, 3)
        XCTAssertEqual(r.growthLimit, .cap)
        XCTAssertEqual(r.countFits, false)
        XCTAssertEqual(r.countShort.map(\.short), [128 - 10])
        XCTAssertTrue(r.text.contains("With growth: 3 more (limited by a pool.grow.max cap)"), r.text)
    }

    func testWithGrowth_stopsAtTheFloor() {
        // 3 GiB available, 2 GiB floor: 512 pages may grow; 16 pages per copy.
        let r = Planner.plan(input(pool2M(free: [0]), demand2M([(nil, 16)]), growth: growth(floor: .kib(2 * 1024 * 1024)),
                                   memory: memory(availableGiB: 3, nodeFreeGiB: [3])))
        XCTAssertEqual(r.withGrowth, 32)
        XCTAssertEqual(r.growthLimit, .floor)
    }

    func testWithGrowth_stopsAtFragmentation() {
        var buddy = [UInt64](repeating: 0, count: 11)
        buddy[9] = 40
        let r = Planner.plan(input(pool2M(free: [0]), demand2M([(nil, 16)]), growth: growth(), memory: memory(nodeFreeGiB: [4], buddy: [0: buddy])))
        XCTAssertEqual(r.withGrowth, 2)
        XCTAssertEqual(r.growthLimit, .fragmentation)
        XCTAssertTrue(r.limitDetail.contains("estimate"), r.limitDetail)
    }

    func testConfinedShape_listsItsNodes() {
        let r = Planner.plan(input(pool2M(free: [8, 4]), demand2M([(NodeSet([1]), 4)]),
                                   growth: growth(caps: [GrowCap(pageSizeKiB: 2048, node: 1, pages: 12)])))
        XCTAssertEqual(r.asIs, 1)
        XCTAssertEqual(r.withGrowth, 3)
        XCTAssertEqual(r.nodes, [PlanNodeRow(pageSizeKiB: 2048, node: 1, free: 4, growable: 8, growLimit: .cap)])
    }

    func testDomainWithGrowOff_hasNoGrowthFigure() {
        var i = input(pool2M(free: [10]), demand2M([(nil, 4)]), growth: growth())
        i.growAllowed = false
        XCTAssertNil(Planner.plan(i).withGrowth)
    }
}
