import Foundation
import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardHost
import XCTest

/// The multi-node guest's agent scenario (Tests/MultiNode/scenarios.py,
/// agent-per-node-figures-equal-the-kernels-for-a-strict-domain) on the tree captured from that
/// guest: its per-node pools as the kernel left them with the domain running, the domain's own
/// XML, and the reconciliation the agent runs. Committed per node must equal the kernel's
/// nr - free per node, with no drift.
final class MultiNodeReconcileTests: XCTestCase {
    /// A copy of the captured tree with node 0 idle at 64 and node 1 at 64 with 32 in use: what
    /// the guest's kernel showed with mn-strict-node1 running.
    func poolWithStrictDomainOnNode1() throws -> HugepagePool {
        let src = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hg-mn-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: src.appendingPathComponent("Fixtures/sysfs/two-nodes-guest-2m-1g").path, toPath: root)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        let counts: [(String, String)] = [
            ("sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "64"),
            ("sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", "64"),
            ("sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "64"),
            ("sys/devices/system/node/node1/hugepages/hugepages-2048kB/free_hugepages", "32"),
            ("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "128"),
            ("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "96"),
            ("sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "0"),
        ]
        for (path, value) in counts { try "\(value)\n".write(toFile: root + "/" + path, atomically: true, encoding: .utf8) }
        return try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()
    }

    func strictDomainOnNode1() throws -> RunningDomain {
        let src = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
        let xml = try String(contentsOf: src.appendingPathComponent("MultiNode/domains/strict-node1.xml"), encoding: .utf8)
        let demand = DomainDemand(spec: try DomainSpec(xml: xml), context: PageSizeContext())
        return RunningDomain(name: "mn-strict-node1", uuid: "uuid-mn-strict-node1", id: 1, demand: demand)
    }

    func testStrictDomainOnNode1_committedPerNodeEqualsTheKernelsInUse_withNoDrift() throws {
        let pool = try poolWithStrictDomainOnNode1()
        let report = Reconciler.reconcile(pool: pool, running: [try strictDomainOnNode1()], ledger: Ledger(), files: [],
                                          config: GuardConfig(), now: 1000, isAlive: { _ in true })
        let rows = report.rows.filter { $0.pageSizeKiB == 2048 && $0.node != nil }
        XCTAssertEqual(rows.map(\.node), [0, 1])
        for row in rows {
            let node = try XCTUnwrap(pool.sizes[2048]?.nodes[row.node!])
            XCTAssertEqual(row.committed, node.nr - node.free, "node \(row.node!)")
            XCTAssertEqual(row.inUse, node.nr - node.free, "node \(row.node!)")
            XCTAssertEqual(row.drift, 0, "node \(row.node!)")
        }
        XCTAssertEqual(rows.map(\.committed), [0, 32])
    }
}
