import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The captured 2-node guest tree's 2 MiB pools as a kernel: a node's pool grows by adding free
/// pages to that node and the global counters, and shrinks by removing free ones. Growth without
/// a node goes to node 0, so pages grown globally never land where a strict binding to node 1
/// could use them unless the kernel put them there.
final class TwoNodeFixtureKernel: PoolWriter, @unchecked Sendable {
    let root: String
    init(root: String) { self.root = root }

    func dir(_ node: Int?) -> String {
        node.map { root + "/sys/devices/system/node/node\($0)/hugepages/hugepages-2048kB" } ?? root + "/sys/kernel/mm/hugepages/hugepages-2048kB"
    }
    func get(_ p: String) -> UInt64 { UInt64((try? String(contentsOfFile: p, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }
    func set(_ p: String, _ v: UInt64) { try? "\(v)\n".write(toFile: p, atomically: false, encoding: .utf8) }
    func nr(_ node: Int?) -> UInt64 { get(dir(node) + "/nr_hugepages") }

    func count(pageSizeKiB: UInt64, node: Int?) throws(HostError) -> UInt64 { nr(node) }

    func setCount(_ pages: UInt64, pageSizeKiB: UInt64, node: Int?) throws(HostError) {
        let target = node ?? 0
        let nr = self.nr(node), free = get(dir(node) + "/free_hugepages")
        let delta = pages > nr ? Int64(pages - nr) : -Int64(min(nr - pages, free))
        for d in [dir(nil), dir(target)] {
            set(d + "/nr_hugepages", UInt64(Int64(get(d + "/nr_hugepages")) + delta))
            set(d + "/free_hugepages", UInt64(Int64(get(d + "/free_hugepages")) + delta))
        }
    }

    func compact(node: Int?) {}
}

/// The multi-node guest's growth scenario (Tests/MultiNode/scenarios.py,
/// growth-grows-the-bound-node-only-and-gives-it-back) on the tree captured from that guest.
final class MultiNodeGrowthTests: XCTestCase {
    func testGrowth_strictStartOnNode1_growsNode1Only_andGivesItBackAtRelease() throws {
        let dir = try temporaryDirectory(self)
        let root = try copyOfFixture("two-nodes-guest-2m-1g", in: dir)
        let kernel = TwoNodeFixtureKernel(root: root)
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
