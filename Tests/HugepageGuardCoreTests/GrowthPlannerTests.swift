@testable import HugepageGuardCore
import XCTest

/// 16 GiB host with 8 GiB available; two nodes with 4 GiB free each.
func memory(availableGiB: UInt64 = 8, nodeFreeGiB: [UInt64] = [4, 4], buddy: [Int: [UInt64]] = [:]) -> HostMemory {
    let g: UInt64 = 1024 * 1024
    var nodes: [Int: HostMemory.Figures] = [:]
    for (i, f) in nodeFreeGiB.enumerated() { nodes[i] = .init(availableKiB: f * g, totalKiB: 8 * g) }
    return HostMemory(host: .init(availableKiB: availableGiB * g, totalKiB: 16 * g), nodes: nodes, freeBlocks: buddy)
}

func growth(floor: MemoryFloor = .kib(1024 * 1024), caps: [GrowCap] = []) -> GrowthConfig {
    var g = GrowthConfig()
    g.grow = true
    g.minAvailable = floor
    g.caps = caps
    return g
}

final class GrowthPlannerTests: XCTestCase {
    func testUnconfinedShortfall_growsTheWholePoolByExactlyTheShortfall() {
        let pool = pool2M(free: [10, 6])
        let d = decide(demand2M([(nil, 48)]), pool, inFlight: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 4)],
                       config: config(reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: 2)]))
        XCTAssertEqual(d.shortfalls.map(\.short), [48 - (16 - 4 - 2)])
        XCTAssertEqual(GrowthPlanner.plan(decision: d, pool: pool, memory: memory(), config: growth()),
                       .grow([GrowStep(pageSizeKiB: 2048, node: nil, pages: 38)]))
    }

    func testConfinedShortfall_spreadsOverItsNodesByWhatEachCanGive() {
        let pool = pool2M(free: [0, 0])
        let d = decide(demand2M([(NodeSet([0, 1]), 100)]), pool)
        // Node 1 gives what its cap allows (most room first), node 0 the rest.
        let cfg = growth(caps: [GrowCap(pageSizeKiB: 2048, node: 0, pages: 10), GrowCap(pageSizeKiB: 2048, node: 1, pages: 90)])
        guard case .grow(let steps) = GrowthPlanner.plan(decision: d, pool: pool, memory: memory(), config: cfg) else {
            return XCTFail("expected a plan")
        }
        XCTAssertEqual(Set(steps), [GrowStep(pageSizeKiB: 2048, node: 1, pages: 90), GrowStep(pageSizeKiB: 2048, node: 0, pages: 10)])
    }

    func testCapBelowTheShortfall_refusesNamingTheCap() {
        let pool = pool2M(free: [0, 0])
        let d = decide(demand2M([(nil, 32)]), pool)
        let r = GrowthPlanner.plan(decision: d, pool: pool, memory: memory(), config: growth(caps: [GrowCap(pageSizeKiB: 2048, node: nil, pages: 31)]))
        guard case .refused(let refusal) = r else { return XCTFail("\(r)") }
        XCTAssertEqual(refusal.limit, .cap)
        XCTAssertEqual(refusal.asked, 32)
        XCTAssertEqual(refusal.allowed, 31)
        XCTAssertTrue(refusal.detail.contains("pool.grow.max.2M = 31"), refusal.detail)
    }

    func testCapCountsThePoolAsItStands() {
        let pool = pool2M(free: [0, 0], nr: [20, 20])  // 40 pages all in use
        let d = decide(demand2M([(nil, 8)]), pool)
        let r = GrowthPlanner.plan(decision: d, pool: pool, memory: memory(), config: growth(caps: [GrowCap(pageSizeKiB: 2048, node: nil, pages: 47)]))
        guard case .refused(let refusal) = r else { return XCTFail("\(r)") }
        XCTAssertEqual(refusal.allowed, 7)
    }

    func testFloor_refusesWhenGrowthWouldLeaveLessThanMinAvailable() {
        let pool = pool2M(free: [0, 0])
        let d = decide(demand2M([(nil, 1024)]), pool)  // 2 GiB
        let r = GrowthPlanner.plan(decision: d, pool: pool, memory: memory(availableGiB: 3), config: growth(floor: .kib(2 * 1024 * 1024)))
        guard case .refused(let refusal) = r else { return XCTFail("\(r)") }
        XCTAssertEqual(refusal.limit, .floor)
        XCTAssertEqual(refusal.allowed, 512)
        XCTAssertTrue(refusal.detail.contains("pool.grow.min_available = 2 GiB"), refusal.detail)
        XCTAssertTrue(refusal.detail.contains("MemAvailable"), refusal.detail)
        // Exactly at the floor is allowed.
        XCTAssertEqual(GrowthPlanner.plan(decision: d, pool: pool, memory: memory(availableGiB: 4), config: growth(floor: .kib(2 * 1024 * 1024))),
                       .grow([GrowStep(pageSizeKiB: 2048, node: nil, pages: 1024)]))
    }

    func testNodeBoundGrowth_checksTheNodesMemFree() {
        let pool = pool2M(free: [0, 0])
        let d = decide(demand2M([(NodeSet([1]), 1024)]), pool)  // 2 GiB on node 1, which has 2.5 GiB free
        let mem = memory(availableGiB: 8, nodeFreeGiB: [4, 2])
        let r = GrowthPlanner.plan(decision: d, pool: pool, memory: mem, config: growth(floor: .kib(512 * 1024)))
        guard case .refused(let refusal) = r else { return XCTFail("\(r)") }
        XCTAssertEqual(refusal.limit, .floor)
        XCTAssertTrue(refusal.detail.contains("node 1's MemFree"), refusal.detail)
    }

    func testNoMount_growthCantHelp() {
        let pool = pool2M(free: [0], mounted: false)
        let d = decide(demand2M([(nil, 4)]), pool)
        XCTAssertEqual(GrowthPlanner.plan(decision: d, pool: pool, memory: memory(), config: growth()), .notApplicable)
    }

    func testRefusalParagraph_namesTheGrowthLimit() {
        let pool = pool2M(free: [0, 0])
        let d = decide(demand2M([(nil, 32)]), pool)
        guard case .refused(let r) = GrowthPlanner.plan(decision: d, pool: pool, memory: memory(), config: growth(caps: [GrowCap(pageSizeKiB: 2048, node: nil, pages: 1)])) else {
            return XCTFail()
        }
        var report = DecisionReport(decision: d, pool: pool, operation: "prepare")
        report.growth = .refused(r)
        XCTAssertTrue(report.refusalParagraph.contains("The pool was not grown"), report.refusalParagraph)
        XCTAssertTrue(report.refusalParagraph.contains("raise pool.grow.max.2M"), report.refusalParagraph)
        XCTAssertEqual(report.logLine["grow"], "cap", report.logLine.text)
    }
}
