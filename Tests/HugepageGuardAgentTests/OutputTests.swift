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
        XCTAssertEqual(Logfmt.line(fields.pairs), "event=started detail=booted domain=web1 uuid=u-1 pages_2048kB=512 nodes=0 free_2048kB=1536/4096")

        let evil = DomainEvent(domain: DomainRef(name: "x\nlevel=error event=forged", uuid: "u"), kind: .lifecycle(event: 5, detail: 1))
        let line = Logfmt.line(LogLines.event(evil, demand: nil, pool: nil).pairs)
        XCTAssertFalse(line.contains("\n"))
        XCTAssertEqual(Logfmt.parse(Substring(line))?.first { $0.0 == "domain" }?.1, "x\nlevel=error event=forged")
    }

    func testLogHandler_writesOneOrderedLogfmtLinePerRecord() {
        let box = Lines()
        let logger = Logger(label: "t") { LogfmtLogHandler(label: $0, write: { box.append($0) }) }
        logger.fields(.warning, [("event", "drift"), ("domain", "a b"), ("pages", "3")], "something")
        XCTAssertEqual(box.all, ["level=warning event=drift domain=\"a b\" pages=3 msg=something\n"])
    }

    func testEventLine_ofALifecycleCodeNewerThanThisBuild_isADomainEventWithItsCode() {
        let e = DomainEvent(domain: DomainRef(name: "web1", uuid: "u-1"), kind: .lifecycle(event: 42, detail: 0))
        XCTAssertEqual(Logfmt.line(LogLines.event(e, demand: nil, pool: nil).pairs), "event=domain_event code=42 detail=detail0 domain=web1 uuid=u-1")
    }

    func testClearedLine_isTheFindingsEventWithTheClearedSuffix() {
        let f = Finding.leakedFile(HugetlbfsFile(path: "/dev/hugepages/libvirt/qemu/x", pageSizeKiB: 2048, domainDir: nil, pages: 4))
        let line = LogLines.cleared(f)
        XCTAssertEqual(line.event, .leakedHugetlbfsFile)
        XCTAssertEqual(Logfmt.line(line.pairs), "event=leaked_hugetlbfs_file_cleared path=/dev/hugepages/libvirt/qemu/x page_size=2048kB pages=4")
    }

    /// The whole metrics file for a two-node host with a leak, a VM bound to node 1, a VM on
    /// any node whose numa_maps couldn't be read, one whose could, and a name that needs escaping, against `Tests/Fixtures/metrics/agent.prom`.
    func testMetrics_matchTheGoldenFile() throws {
        let p = HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: 512, free: 340, resv: 2, surplus: 0,
                                                    nodes: [0: NodeCounts(nr: 256, free: 170, surplus: 0), 1: NodeCounts(nr: 256, free: 170, surplus: 0)]),
                                     1048576: PagePool(sizeKiB: 1048576, nr: 0, free: 0, resv: 0, surplus: 0)],
                                 mounts: [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: 2048)], kernelDefaultKiB: 2048)
        let bound = RunningDomain(name: "we\"b\\1\n", uuid: "u-1", id: 1,
                                  demand: DomainDemand(domain: "x", items: [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([1]), pages: 48)]))
        let anywhere = RunningDomain(name: "db", uuid: "u-2", id: 2,
                                     demand: DomainDemand(domain: "db", items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 60)]))
        var observed = anywhere
        observed.name = "app"; observed.uuid = "u-3"
        observed.placement = HugepagePlacement(pages: [2048: [0: 50, 1: 10]])
        let leak = HugetlbfsFile(path: "/dev/hugepages/libvirt/qemu/9-gone/ram", pageSizeKiB: 2048, domainDir: "9-gone", pages: 4)
        var config = GuardConfig()
        config.reserves = [HostReserve(pageSizeKiB: 2048, node: nil, pages: 16)]
        let report = Reconciler.reconcile(pool: p, running: [bound, anywhere, observed], ledger: Ledger(), files: [leak], config: config,
                                          now: 0, isAlive: { _ in true })
        var c = ReconcileCounters(); c.runs = 3; c.errors = 1; c.lastSuccessUnix = 1700000000; c.lastDurationSeconds = 0.25
        let text = Metrics.agent(report: report, refusals: 2, counters: c, intervalSeconds: 60).text
        try assertGolden(text, "agent.prom")
        XCTAssertFalse(text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().contains { $0.isEmpty })
    }

    func testMetrics_afterAFailedReconcile_holdOnlyTheCounters() throws {
        var c = ReconcileCounters(); c.runs = 1; c.errors = 1
        try assertGolden(Metrics.agent(report: nil, refusals: 0, counters: c, intervalSeconds: 60).text, "agent-failed.prom")
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

/// Compares with `Tests/Fixtures/metrics/<name>`; with HUGEPAGE_GUARD_UPDATE_GOLDEN=1 set,
/// rewrites the file instead (review the diff before committing it).
func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/metrics/\(name)")
    if ProcessInfo.processInfo.environment["HUGEPAGE_GUARD_UPDATE_GOLDEN"] == "1" {
        try text.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    XCTAssertEqual(text, golden, "metrics differ from \(url.path)", file: file, line: line)
}

private final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
