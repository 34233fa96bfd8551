import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardLibvirt
import Logging
import XCTest

final class OutputTests: XCTestCase {
    func testEventLine_readsLikeTheIssueExample_andEscapesAForgedName() {
        let pool = HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: 4096, free: 1536, resv: 0, surplus: 0)])
        let e = DomainEvent(domain: DomainRef(name: "web1", uuid: "u-1"), kind: .lifecycle(event: 2, detail: 0))
        let fields = LogLines.event(e, demand: [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0]), pages: 512)], pool: pool)
        XCTAssertEqual(Logfmt.line(fields), "event=started detail=booted domain=web1 uuid=u-1 pages_2048kB=512 nodes=0 free_2048kB=1536/4096")

        let evil = DomainEvent(domain: DomainRef(name: "x\nlevel=error event=forged", uuid: "u"), kind: .lifecycle(event: 5, detail: 1))
        let line = Logfmt.line(LogLines.event(evil, demand: nil, pool: nil))
        XCTAssertFalse(line.contains("\n"))
        XCTAssertEqual(Logfmt.parse(Substring(line))?.first { $0.0 == "domain" }?.1, "x\nlevel=error event=forged")
    }

    func testLogHandler_writesOneOrderedLogfmtLinePerRecord() {
        let box = Lines()
        let logger = Logger(label: "t") { LogfmtLogHandler(label: $0, write: { box.append($0) }) }
        logger.fields(.warning, [("event", "drift"), ("domain", "a b"), ("pages", "3")], "something")
        XCTAssertEqual(box.all, ["level=warning event=drift domain=\"a b\" pages=3 msg=something\n"])
    }

    func testPrometheus_escapesLabelValuesAndNamesEveryFamily() {
        let vm = RunningDomain(name: "we\"b\\1\n", uuid: "u", id: 1,
                               demand: DomainDemand(domain: "x", items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 4)]))
        let p = HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: 8, free: 4, resv: 0, surplus: 0)])
        let report = Reconciler.reconcile(pool: p, running: [vm], ledger: Ledger(), files: [], config: GuardConfig(), now: 0, isAlive: { _ in true })
        var c = ReconcileCounters(); c.runs = 3; c.errors = 1; c.lastSuccessUnix = 1700000000
        let text = PrometheusText.render(report: report, refusals: 2, counters: c)
        XCTAssertTrue(text.contains("hugepage_guard_domain_committed_pages{domain=\"we\\\"b\\\\1\\n\",uuid=\"u\",page_size_kb=\"2048\"} 4\n"), text)
        for name in ["pool_total_pages", "pool_free_pages", "pool_surplus_pages", "pool_reserved_in_flight_pages", "drift_pages",
                     "hook_refusals_total", "reconcile_runs_total", "reconcile_errors_total", "reconcile_last_success_timestamp_seconds"] {
            XCTAssertTrue(text.contains("# TYPE hugepage_guard_\(name) "), name)
        }
        XCTAssertTrue(text.contains("hugepage_guard_hook_refusals_total 2\n"))
        XCTAssertTrue(text.contains("hugepage_guard_drift_pages{page_size_kb=\"2048\",node=\"all\"} 0\n"))
        XCTAssertFalse(text.split(separator: "\n").contains { $0.isEmpty })
    }

    func testStatusTable_listsPoolsDomainsAndWarnings() {
        let p = HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: 100, free: 40, resv: 0, surplus: 0, nodes: [0: NodeCounts(nr: 100, free: 40, surplus: 0)])])
        let vm = RunningDomain(name: "web1", uuid: "u", id: 1, demand: DomainDemand(domain: "web1", items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 48)]))
        let r = Reconciler.reconcile(pool: p, running: [vm], ledger: Ledger(), files: [], config: GuardConfig(), now: 0, isAlive: { _ in true })
        let t = StatusView.table(r)
        XCTAssertTrue(t.contains("page size  node  total  free  in flight  committed  drift  reserve  headroom"), t)
        XCTAssertTrue(t.contains("web1"), t)
        XCTAssertTrue(t.contains("12 × 2M pages are in use by something other than a running VM"), t)
        XCTAssertTrue(StatusView.json(r).rendered().hasPrefix("{\"pools\":[{\"pageSizeKiB\":2048,\"node\":null,\"total\":100"))
    }
}

private final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
