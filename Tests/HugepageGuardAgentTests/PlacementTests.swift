import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardHost
import XCTest

/// Per-node accounting from numa_maps, with the model as the labelled fallback.
final class PlacementTests: XCTestCase {
    let twoMiB: UInt64 = 2048

    func twoNodes(free0: UInt64, free1: UInt64) -> HugepagePool {
        HugepagePool(sizes: [twoMiB: PagePool(sizeKiB: twoMiB, nr: 200, free: free0 + free1, resv: 0, surplus: 0,
                                               nodes: [0: NodeCounts(nr: 100, free: free0, surplus: 0),
                                                       1: NodeCounts(nr: 100, free: free1, surplus: 0)])],
                     mounts: [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: twoMiB)], kernelDefaultKiB: twoMiB)
    }

    func vm(_ name: String, pages: UInt64, bound: NodeSet? = nil, placement: [Int: UInt64]?) -> RunningDomain {
        RunningDomain(name: name, uuid: "uuid-\(name)", id: 1,
                      demand: DomainDemand(domain: name, items: [DemandItem(pageSizeKiB: twoMiB, hostNodes: bound, pages: pages)]),
                      placement: placement.map { HugepagePlacement(pages: [twoMiB: $0]) })
    }

    func run(_ p: HugepagePool, _ running: [RunningDomain]) -> ReconcileReport {
        Reconciler.reconcile(pool: p, running: running, ledger: Ledger(), files: [], config: GuardConfig(), now: 1000, isAlive: { _ in true })
    }

    func node(_ r: ReconcileReport, _ n: Int) -> PoolRow { r.rows.first { $0.node == n }! }

    func testNodeRows_ofAnUnboundVM_withNumaMaps_areExact() {
        // 48 pages from anywhere: the kernel put 30 on node 0 and 18 on node 1; node 1 also
        // has 5 pages someone else holds.
        let r = run(twoNodes(free0: 70, free1: 77), [vm("web1", pages: 48, placement: [0: 30, 1: 18])])
        XCTAssertEqual(node(r, 0).committed, 30)
        XCTAssertEqual(node(r, 0).drift, 0)
        XCTAssertEqual(node(r, 1).committed, 18)
        XCTAssertEqual(node(r, 1).drift, 5)
        XCTAssertEqual(r.rows.first { $0.node == nil }?.committed, 48)
    }

    func testNodeRows_withoutNumaMaps_fallBackToTheModel_andAnUnboundVMLeavesDriftUnknown() {
        let r = run(twoNodes(free0: 70, free1: 82), [vm("web1", pages: 48, placement: nil)])
        XCTAssertNil(node(r, 0).drift)
        XCTAssertNil(node(r, 1).drift)
        let bound = run(twoNodes(free0: 52, free1: 100), [vm("db", pages: 48, bound: NodeSet([0]), placement: nil)])
        XCTAssertEqual(node(bound, 0).committed, 48)
        XCTAssertEqual(node(bound, 0).drift, 0)
        XCTAssertEqual(node(bound, 1).drift, 0)
        XCTAssertEqual(bound.hugepageDomains[0].pageShares,
                       [PageShare(pageSizeKiB: twoMiB, node: "0", pages: 48, source: .model)])
    }

    func testNodeRows_mixObservedAndModelledVMs() {
        // web1 observed (20 + 28), db modelled and bound to node 1 (16).
        let r = run(twoNodes(free0: 80, free1: 56),
                    [vm("web1", pages: 48, placement: [0: 20, 1: 28]), vm("db", pages: 16, bound: NodeSet([1]), placement: nil)])
        XCTAssertEqual(node(r, 0).committed, 20)
        XCTAssertEqual(node(r, 1).committed, 44)
        XCTAssertEqual(node(r, 1).drift, 0)
    }

    func testAVMBoundToNode0_withPagesOnNode1_isReported() {
        let r = run(twoNodes(free0: 60, free1: 92), [vm("web1", pages: 48, bound: NodeSet([0]), placement: [0: 40, 1: 8])])
        XCTAssertTrue(r.findings.contains(.pagesOutsideBinding(domain: "web1", uuid: "uuid-web1", pageSizeKiB: twoMiB, node: 1,
                                                                pages: 8, allowed: NodeSet([0]))), "\(r.findings)")
        XCTAssertEqual(StatusView.warnings(r).last, "web1 holds 8 × 2M pages on node 1, outside its binding to node(s) 0.")
        let line = LogLines.finding(r.findings.last!)
        XCTAssertEqual(line.level, .warning)
        XCTAssertEqual(Logfmt.line(line.pairs),
                       "event=pages_outside_binding domain=web1 uuid=uuid-web1 page_size=2048kB node=1 pages=8 bound_to=0")
    }

    func testAnUnboundVM_orOneWithinItsBinding_isNotReported() {
        let inside = run(twoNodes(free0: 52, free1: 100), [vm("web1", pages: 48, bound: NodeSet([0]), placement: [0: 48])])
        let unbound = run(twoNodes(free0: 60, free1: 92), [vm("web2", pages: 48, placement: [0: 40, 1: 8])])
        for r in [inside, unbound] {
            XCTAssertFalse(r.findings.contains { if case .pagesOutsideBinding = $0 { true } else { false } }, "\(r.findings)")
        }
    }

    func testStatusTable_showsWherePagesAre_andLabelsTheModel() {
        let r = run(twoNodes(free0: 54, free1: 82),
                    [vm("web1", pages: 48, placement: [0: 30, 1: 18]), vm("db", pages: 16, bound: NodeSet([0]), placement: nil)])
        let t = StatusView.table(r)
        XCTAssertTrue(t.contains("web1    uuid-web1  48 × 2M  any       2M: N0=30 N1=18\n"), t)
        XCTAssertTrue(t.contains("db      uuid-db    16 × 2M  0         model: 2M: N0=16\n"), t)
        XCTAssertFalse(t.contains("drift '?'"), t)
    }

    func testQEMUCommandLine_mustNameTheDomain() {
        let cmd = "/usr/bin/qemu-system-x86_64\0-name\0guest=web1,debug-threads=on\0-S\0"
        XCTAssertTrue(HostScan.isQEMU(cmdline: cmd, of: "web1"))
        XCTAssertFalse(HostScan.isQEMU(cmdline: cmd, of: "web"))
        XCTAssertFalse(HostScan.isQEMU(cmdline: "/usr/bin/sleep\0100\0", of: "web1"))
        XCTAssertTrue(HostScan.isQEMU(cmdline: "qemu\0-name\0guest=a,,b,debug-threads=on\0", of: "a,b"))
        XCTAssertFalse(HostScan.isQEMU(cmdline: "qemu\0-name\0guest=a,,b,debug-threads=on\0", of: "a"))
    }

    /// A host root with libvirt's pid file and the QEMU process's /proc entries.
    func hostRoot(pid: String, cmdline: String, numaMaps: String?) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hg-placement-\(UUID().uuidString)")
        let run = root.appendingPathComponent("run/libvirt/qemu"), proc = root.appendingPathComponent("proc/4242")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: true)
        try pid.write(to: run.appendingPathComponent("web1.pid"), atomically: true, encoding: .utf8)
        try cmdline.write(to: proc.appendingPathComponent("cmdline"), atomically: true, encoding: .utf8)
        if let numaMaps { try numaMaps.write(to: proc.appendingPathComponent("numa_maps"), atomically: true, encoding: .utf8) }
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root
    }

    func testPlacement_readsThePidFileAndThatProcessesNumaMaps() throws {
        let maps = "7f2a00000000 bind:0 file=/dev/hugepages/x\\040(deleted) huge anon=3 dirty=3 N0=2 N1=1 kernelpagesize_kB=2048\n"
        let root = try hostRoot(pid: "4242\n", cmdline: "qemu\0-name\0guest=web1,debug-threads=on\0", numaMaps: maps)
        let env = GuardEnvironment(sysfsRoot: root.path)
        XCTAssertEqual(HostScan.placement(domain: "web1", environment: env), HugepagePlacement(pages: [2048: [0: 2, 1: 1]]))
    }

    func testPlacement_isNilForAStalePidFile_orUnreadableMaps_soTheModelStandsIn() throws {
        let maps = "7f2a00000000 default huge N0=2 kernelpagesize_kB=2048\n"
        let other = try hostRoot(pid: "4242", cmdline: "/usr/bin/sleep\0100\0", numaMaps: maps)
        XCTAssertNil(HostScan.placement(domain: "web1", environment: GuardEnvironment(sysfsRoot: other.path)))
        let noMaps = try hostRoot(pid: "4242", cmdline: "qemu\0-name\0guest=web1\0", numaMaps: nil)
        XCTAssertNil(HostScan.placement(domain: "web1", environment: GuardEnvironment(sysfsRoot: noMaps.path)))
        let garbled = try hostRoot(pid: "4242", cmdline: "qemu\0-name\0guest=web1\0", numaMaps: "zz default huge\n")
        XCTAssertNil(HostScan.placement(domain: "web1", environment: GuardEnvironment(sysfsRoot: garbled.path)))
        XCTAssertNil(HostScan.placement(domain: "nope", environment: GuardEnvironment(sysfsRoot: garbled.path)))
    }
}
