import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The multi-node guest's growth scenario (Tests/MultiNode/scenarios.py,
/// growth-grows-the-bound-node-only-and-gives-it-back) on the tree captured from that guest.
final class MultiNodeGrowthTests: XCTestCase {
    func testGrowth_strictStartOnNode1_growsNode1Only_andGivesItBackAtRelease() throws {
        let dir = try temporaryDirectory(self)
        let root = try copyOfFixture("two-nodes-guest-2m-1g", in: dir)
        let kernel = SysfsTreeKernel(root: root)
        for node in [nil, 0, 1] as [Int?] {
            kernel.set(kernel.dir(node) + "/nr_hugepages", 0)
            kernel.set(kernel.dir(node) + "/free_hugepages", 0)
        }
        let state = dir + "/state", conf = dir + "/guard.conf"
        try write("pool.grow = on\npool.shrink = on\npool.grow.min_available = 256M\n", to: conf)
        let environment = GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf)
        let xmlURL = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MultiNode/domains/strict-node1.xml")
        let xml = try String(contentsOf: xmlURL, encoding: .utf8)

        guard case let .decided(_, report, _) = Admission(environment: environment, poolWriter: kernel)
            .decide(xml: xml, operation: "prepare", reserveFor: nil, reserve: true) else { return XCTFail("no decision") }
        XCTAssertEqual(report.decision.verdict, .admit, report.refusalParagraph)
        XCTAssertEqual(kernel.nr(1), 32)
        XCTAssertEqual(kernel.nr(0), 0)
        XCTAssertEqual(kernel.nr(nil), 32)

        let growth = PoolGrowth(environment: environment, stateDir: state, writer: kernel)
        let config = try ConfigFile.load(path: conf)
        let released = try LedgerStore(directory: state).withLock { ledger, _ -> Bool in
            ledger.markStarted(domain: "mn-strict-node1", at: 2)
            guard let entry = ledger.drop(domain: "mn-strict-node1") else { return false }
            _ = growth.release(entry, ledger: &ledger, config: config, now: 7)
            return true
        }
        XCTAssertTrue(released, "mn-strict-node1 is in the ledger")
        XCTAssertEqual(kernel.nr(1), 0)
        XCTAssertEqual(kernel.nr(0), 0)
    }
}
