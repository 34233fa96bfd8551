import HugepageGuardAgent
import HugepageGuardCore
import XCTest

final class ReconcileTests: XCTestCase {
    let twoMiB: UInt64 = 2048

    func pool(nr: UInt64, free: UInt64, resv: UInt64 = 0, nodes: [Int: NodeCounts]? = nil) -> HugepagePool {
        HugepagePool(sizes: [twoMiB: PagePool(sizeKiB: twoMiB, nr: nr, free: free, resv: resv, surplus: 0,
                                               nodes: nodes ?? [0: NodeCounts(nr: nr, free: free, surplus: 0)])],
                     mounts: [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: twoMiB)], kernelDefaultKiB: twoMiB)
    }

    func vm(_ name: String, id: UInt32, pages: UInt64, nodes: NodeSet? = nil) -> RunningDomain {
        RunningDomain(name: name, uuid: "uuid-\(name)", id: id,
                      demand: DomainDemand(domain: name, items: pages == 0 ? [] : [DemandItem(pageSizeKiB: twoMiB, hostNodes: nodes, pages: pages)]))
    }

    func run(_ p: HugepagePool, _ running: [RunningDomain], ledger: Ledger = Ledger(), files: [HugetlbfsFile] = [],
             config: GuardConfig = GuardConfig(), now: Int64 = 1000) -> ReconcileReport {
        Reconciler.reconcile(pool: p, running: running, ledger: ledger, files: files, config: config, now: now, isAlive: { _ in true })
    }

    func testReconcile_whenRunningVMsExplainEveryPage_reportsNoDriftAndAdoptsThem() {
        let r = run(pool(nr: 100, free: 52), [vm("web1", id: 3, pages: 48), vm("plain", id: 4, pages: 0)])
        let all = r.rows.first { $0.node == nil }!
        XCTAssertEqual(all.committed, 48)
        XCTAssertEqual(all.inUse, 48)
        XCTAssertEqual(all.drift, 0)
        XCTAssertEqual(r.findings, [.adopted(domain: "web1", uuid: "uuid-web1", items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 48)])])
        XCTAssertEqual(r.ledger.entries.map(\.domain), ["web1"])
        XCTAssertEqual(r.ledger.entries.first?.operation, "adopt")
        XCTAssertEqual(r.ledger.entries.first?.state, .started)
        XCTAssertEqual(r.hugepageDomains.map(\.name), ["web1"])
    }

    func testReconcile_matchesLedgerEntriesByUUID_soARedefinedDomainsOldEntryIsStale() {
        let old = "11111111-2222-3333-4444-555555555555", new = "66666666-7777-8888-9999-aaaaaaaaaaaa"
        let items = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 48)]
        let ledger = Ledger(entries: [
            // web1 was undefined and defined again: same name, another UUID.
            LedgerEntry(domain: "web1", uuid: old, state: .started, operation: "prepare", since: 10, owner: nil, items: items),
            // The running web1, written with its UUID in upper case as a hand-made XML may have it.
            LedgerEntry(domain: "web1", uuid: new.uppercased(), state: .started, operation: "prepare", since: 20, owner: nil, items: items),
        ])
        let running = RunningDomain(name: "web1", uuid: new, id: 3, demand: DomainDemand(domain: "web1", items: items))
        let r = run(pool(nr: 100, free: 52), [running], ledger: ledger)
        XCTAssertEqual(r.ledger.entries.map(\.since), [20], "only the running definition's entry stays: \(r.ledger.entries)")
        XCTAssertEqual(r.findings, [.staleLedgerEntry(domain: "web1", state: "started", reason: "domain is not running")])
    }

    func testReconcile_whenPagesAreHeldByNoVM_classifiesThemAsNonLibvirtConsumer() {
        let r = run(pool(nr: 100, free: 40), [vm("web1", id: 3, pages: 48)])
        XCTAssertTrue(r.findings.contains(.nonLibvirtConsumer(pageSizeKiB: 2048, pages: 12)), "\(r.findings)")
    }

    func testReconcile_whenALeakedLibvirtFileHoldsPages_attributesTheDriftToTheFile() {
        let leaked = HugetlbfsFile(path: "/dev/hugepages/libvirt/qemu/9-gone/qemu_back_mem", pageSizeKiB: 2048, domainDir: "9-gone", pages: 4)
        let live = HugetlbfsFile(path: "/dev/hugepages/libvirt/qemu/3-web1/f", pageSizeKiB: 2048, domainDir: "3-web1", pages: 48)
        let r = run(pool(nr: 100, free: 48), [vm("web1", id: 3, pages: 48)], files: [leaked, live])
        XCTAssertTrue(r.findings.contains(.leakedFile(leaked)))
        XCTAssertFalse(r.findings.contains(.leakedFile(live)))
        XCTAssertFalse(r.findings.contains { if case .nonLibvirtConsumer = $0 { true } else { false } }, "\(r.findings)")
        XCTAssertEqual(r.leakedPages, [2048: 4])
    }

    func testReconcile_removesStartedEntriesOfStoppedDomainsAndExpiredReservations() {
        let ledger = Ledger(entries: [
            LedgerEntry(domain: "gone", uuid: nil, state: .started, operation: "prepare", since: 10, owner: nil, items: []),
            LedgerEntry(domain: "stuck", uuid: nil, state: .reserved, operation: "prepare", since: 10, owner: nil,
                        items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 8)]),
            LedgerEntry(domain: "starting", uuid: nil, state: .reserved, operation: "prepare", since: 990, owner: nil,
                        items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)]),
        ])
        let r = run(pool(nr: 100, free: 100), [], ledger: ledger, now: 1000)
        XCTAssertEqual(r.ledger.entries.map(\.domain), ["starting"])
        XCTAssertTrue(r.findings.contains(.staleLedgerEntry(domain: "gone", state: "started", reason: "domain is not running")))
        XCTAssertTrue(r.findings.contains { if case .staleLedgerEntry("stuck", "reserved", _) = $0 { true } else { false } })
        XCTAssertEqual(r.rows.first { $0.node == nil }?.reservedInFlight, 16)
        XCTAssertEqual(r.rows.first { $0.node == nil }?.headroom, 84)
    }

    func testReconcile_whenADimmIsHotplugged_updatesTheCommitmentInTheLedger() {
        let before = Ledger(entries: [LedgerEntry(domain: "web1", uuid: "uuid-web1", state: .started, operation: "prepare", since: 1,
                                                  owner: nil, items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 48)])])
        let r = run(pool(nr: 100, free: 36), [vm("web1", id: 3, pages: 64)], ledger: before)
        XCTAssertEqual(r.ledger.entries.first?.items.first?.pages, 64)
        XCTAssertTrue(r.findings.contains { if case .commitmentChanged("web1", _, _, _) = $0 { true } else { false } })
        XCTAssertEqual(r.rows.first { $0.node == nil }?.committed, 64)
    }

    func testReconcile_whenFreePagesFallBelowTheReserve_warns() {
        var config = GuardConfig()
        config.reserves = [HostReserve(pageSizeKiB: 2048, node: nil, pages: 20)]
        let r = run(pool(nr: 100, free: 10, nodes: [0: NodeCounts(nr: 50, free: 5, surplus: 0), 1: NodeCounts(nr: 50, free: 5, surplus: 0)]),
                    [vm("big", id: 1, pages: 90, nodes: NodeSet([0]))], config: config)
        XCTAssertTrue(r.findings.contains(.belowReserve(pageSizeKiB: 2048, node: nil, available: 10, reserve: 20)))
        XCTAssertEqual(r.rows.first { $0.node == nil }?.headroom, -10)
        // Demand confined to node 0 is attributed there; node 1 gets none of it.
        XCTAssertEqual(r.rows.first { $0.node == 0 }?.committed, 90)
        XCTAssertEqual(r.rows.first { $0.node == 1 }?.committed, 0)
    }

    func testReconcile_onTwoNodes_withUnconfinedDemand_leavesPerNodeDriftUnknown() {
        let r = run(pool(nr: 100, free: 52, nodes: [0: NodeCounts(nr: 50, free: 26, surplus: 0), 1: NodeCounts(nr: 50, free: 26, surplus: 0)]),
                    [vm("web1", id: 3, pages: 48)])
        XCTAssertNil(r.rows.first { $0.node == 0 }?.drift)
        XCTAssertEqual(r.rows.first { $0.node == nil }?.drift, 0)
    }

    func testReconcile_keepsAStartedEntryWrittenAfterTheDomainListWasTaken() {
        let ledger = Ledger(entries: [LedgerEntry(domain: "racing", uuid: nil, state: .started, operation: "prepare", since: 1000,
                                                  owner: nil, items: [])])
        let r = Reconciler.reconcile(pool: pool(nr: 10, free: 10), running: [], ledger: ledger, files: [], config: GuardConfig(),
                                     now: 1001, listedAt: 1000, isAlive: { _ in true })
        XCTAssertEqual(r.ledger.entries.map(\.domain), ["racing"])
        XCTAssertTrue(r.findings.isEmpty, "\(r.findings)")
    }

    func testReconcile_whileAVMIsStillPreallocating_doesNotReportMissingPages() {
        let ledger = Ledger(entries: [LedgerEntry(domain: "web1", uuid: "uuid-web1", state: .reserved, operation: "prepare", since: 999,
                                                  owner: nil, items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 48)])])
        let r = run(pool(nr: 100, free: 90), [vm("web1", id: 3, pages: 48)], ledger: ledger)
        XCTAssertTrue(r.findings.isEmpty, "\(r.findings)")
        let after = run(pool(nr: 100, free: 90), [vm("web1", id: 3, pages: 48)])
        XCTAssertTrue(after.findings.contains(.missingPages(pageSizeKiB: 2048, pages: 38)), "\(after.findings)")
    }

    func testShortName_truncatesTheNameLikeLibvirt() {
        XCTAssertEqual(Reconciler.shortName(id: 7, name: "a-very-long-domain-name-indeed"), "7-a-very-long-domain-n")
    }
}
