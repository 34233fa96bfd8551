@testable import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardHost
import XCTest

final class GrowthMetricsTests: XCTestCase {
    func testGrownPagesPerSizeAndNode_andTheCounters() {
        var a = LedgerEntry(domain: "a", uuid: nil, state: .started, operation: "prepare", since: 1, owner: nil, items: [])
        a.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 32), DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([1]), pages: 4)]
        var b = LedgerEntry(domain: "b", uuid: nil, state: .started, operation: "shrink", since: 1, owner: nil, items: [])
        b.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 8)]
        var c = GrowthCounters()
        c.results = ["ok": 3, "cap": 1]
        c.shrinkPages = 40
        var metrics = Metrics()
        metrics.addGrowth(ledger: Ledger(entries: [a, b]), counters: c)
        let text = metrics.text
        XCTAssertEqual(metrics.families.map(\.name), ["pool_grown_pages", "pool_grow_total", "pool_shrink_pages_total"])
        XCTAssertEqual(metrics.families.map(\.kind), [.gauge, .counter, .counter])
        XCTAssertTrue(text.contains("hugepage_guard_pool_grown_pages{page_size_kb=\"2048\",node=\"any\"} 40\n"), text)
        XCTAssertTrue(text.contains("hugepage_guard_pool_grown_pages{page_size_kb=\"2048\",node=\"1\"} 4\n"), text)
        XCTAssertTrue(text.contains("hugepage_guard_pool_grow_total{result=\"ok\"} 3\n"), text)
        XCTAssertTrue(text.contains("hugepage_guard_pool_grow_total{result=\"rollback\"} 0\n"), text)
        XCTAssertTrue(text.contains("hugepage_guard_pool_grow_total{result=\"cap\"} 1\n"), text)
        XCTAssertTrue(text.contains("hugepage_guard_pool_shrink_pages_total 40\n"), text)
    }

    func testWithoutALedger_onlyTheCounters() {
        var metrics = Metrics()
        metrics.addGrowth(ledger: nil, counters: GrowthCounters())
        XCTAssertEqual(metrics.families.map(\.name), ["pool_grow_total", "pool_shrink_pages_total"])
    }

    func testCountersFile_roundTrip() {
        var c = GrowthCounters()
        c.results = ["floor": 2]
        c.shrinkPages = 7
        XCTAssertEqual(GrowthCounters.parse(c.text).results["floor"], 2)
        XCTAssertEqual(GrowthCounters.parse(c.text).shrinkPages, 7)
        XCTAssertEqual(GrowthCounters.parse("garbage").shrinkPages, 0)
    }

    func testStatusRows_grownAndAnEstimateLabelledAsSuch() {
        var a = LedgerEntry(domain: "a", uuid: nil, state: .started, operation: "prepare", since: 1, owner: nil, items: [])
        a.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 32)]
        let pool = HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: 32, free: 0, resv: 0, surplus: 0)])
        var config = GuardConfig()
        config.growth.caps = [GrowCap(pageSizeKiB: 2048, node: nil, pages: 40)]
        let memory = HostMemory(host: .init(availableKiB: 8 << 20, totalKiB: 16 << 20))
        let rows = GrowthStatus.rows(ledger: Ledger(entries: [a]), pool: pool, memory: memory, config: config)
        XCTAssertEqual(rows, [GrowthStatus.Row(pageSizeKiB: 2048, node: nil, grown: 32, growable: 8, limit: .cap)])
        XCTAssertTrue(GrowthStatus.text(rows, config: config).contains("estimate"), "pages grown earlier are shown with growth off")
        let none = GrowthStatus.rows(ledger: Ledger(), pool: pool, memory: memory, config: config)
        XCTAssertEqual(GrowthStatus.text(none, config: config), "", "growth off and nothing grown: no section")
        config.growth.grow = true
        XCTAssertTrue(GrowthStatus.text(none, config: config).contains("pool.grow = on"))
    }
}
