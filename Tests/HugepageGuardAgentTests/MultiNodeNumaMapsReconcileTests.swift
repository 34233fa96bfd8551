import Foundation
import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardHost
import XCTest

/// The multi-node guest's numa_maps scenario (Tests/MultiNode/scenarios.py,
/// agent-per-node-figures-equal-numa-maps-for-a-preferred-domain) on the host as the agent saw
/// it there: the tree captured with mn-preferred-node0 running, its QEMU's real pid file,
/// cmdline and numa_maps. The domain prefers node 0, which had 16 pages, so the kernel took 16
/// from node 0 and 16 from node 1; only numa_maps knows that.
final class MultiNodeNumaMapsReconcileTests: XCTestCase {
    func testPreferredDomainSplitOverTwoNodes_perNodeFiguresFollowNumaMaps_withNoDrift() throws {
        let src = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
        let environment = GuardEnvironment(sysfsRoot: src.appendingPathComponent("Fixtures/sysfs/two-nodes-guest-preferred-split").path)
        let pool = try SysfsPoolReader(environment: environment).read()
        let placement = try XCTUnwrap(HostScan.placement(domain: "mn-preferred-node0", environment: environment))
        XCTAssertEqual(placement.pages(ofSize: 2048, node: 0), 16)
        XCTAssertEqual(placement.pages(ofSize: 2048, node: 1), 16)

        let xml = try String(contentsOf: src.appendingPathComponent("MultiNode/domains/preferred-node0.xml"), encoding: .utf8)
        let demand = DomainDemand(spec: try DomainSpec(xml: xml), context: PageSizeContext())
        let running = RunningDomain(name: "mn-preferred-node0", uuid: "uuid-mn-preferred-node0", id: 1, demand: demand, placement: placement)
        let report = Reconciler.reconcile(pool: pool, running: [running], ledger: Ledger(), files: [], config: GuardConfig(),
                                          now: 1000, isAlive: { _ in true })
        let rows = report.rows.filter { $0.pageSizeKiB == 2048 && $0.node != nil }
        XCTAssertEqual(rows.map(\.node), [0, 1])
        for row in rows {
            let node = try XCTUnwrap(pool.sizes[2048]?.nodes[row.node!])
            XCTAssertEqual(row.committed, node.nr - node.free, "node \(row.node!)")
            XCTAssertEqual(row.drift, 0, "node \(row.node!)")
        }
        XCTAssertEqual(rows.map(\.committed), [16, 16])
    }
}
