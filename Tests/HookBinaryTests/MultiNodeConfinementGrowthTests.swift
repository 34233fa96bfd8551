import Foundation
import XCTest

/// The multi-node guest's scenarios for cgroup confinement and per-node pool growth, on the
/// tree captured from that guest (which mounts cgroup2 with the cpuset controller, as libvirt
/// needs for confinement).
final class MultiNodeConfinementGrowthTests: XCTestCase {
    let twoNodes = "two-nodes-guest-2m-1g"

    /// Under <memory mode='strict' nodeset='1'/>, libvirt sets the emulator's cpuset.mems to 1,
    /// and the kernel intersects a preferred memnode's nodes (0-1) with it: the real guest's
    /// kernel took all 32 pages from node 1. The guard counts them there.
    func testPreferredMemnodeUnderGlobalStrict_isCountedOnTheGlobalNode() throws {
        let h = try HookHarness(self)
        let xml = try MultiNodeFixture.domainXML("preferred-memnode-under-strict.xml")
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(64), 1: .idle(16)])
        let xmlPath = h.dir + "/domain.xml"
        try xml.write(toFile: xmlPath, atomically: true, encoding: .utf8)
        let check = try h.check(["--xml", xmlPath, "--json"])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any], check.stderr)
        let demand = try XCTUnwrap(json["demand"] as? [[String: Any]])
        XCTAssertEqual(demand.count, 1, "\(demand)")
        XCTAssertEqual(demand.first?["hostNodes"] as? [Int], [1], "\(demand)")
        XCTAssertEqual(demand.first?["pages"] as? Int, 32, "\(demand)")

        let refused = try h.hook("mn-preferred-memnode-under-strict", "prepare", "begin", stdin: xml)
        XCTAssertEqual(refused.status, 1, "node 1 has 16 free for 32 pages; node 0's 64 can't be used: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.contains("on node 1"), refused.stderr)
        XCTAssertEqual(try h.hook("mn-preferred-memnode-under-strict", "release", "end", stdin: xml).status, 0)

        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(64), 1: .idle(64)])
        let admitted = try h.hook("mn-preferred-memnode-under-strict", "prepare", "begin", stdin: xml)
        XCTAssertEqual(admitted.status, 0, admitted.stderr)
    }

    /// Both pools at 0, growth and shrink on: a start strict on node 1 grows node 1's pool by its
    /// 32 pages and leaves node 0's alone; `release end` gives them back.
    func testGrowth_strictStartOnNode1_growsNode1Only_andGivesItBackAtRelease() throws {
        let h = try HookHarness(self)
        try h.writeConfig("pool.grow = on\npool.shrink = on\npool.grow.min_available = 256M\n")
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [:])
        let xml = try MultiNodeFixture.domainXML("strict-node1.xml")
        let r = try h.hook("mn-strict-node1", "prepare", "begin", stdin: xml)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(MultiNodeFixture.nodeCount(h, node: 1), 32)
        XCTAssertEqual(MultiNodeFixture.nodeCount(h, node: 0), 0)
        XCTAssertEqual(try h.hook("mn-strict-node1", "release", "end", stdin: xml).status, 0)
        XCTAssertEqual(MultiNodeFixture.nodeCount(h, node: 1), 0)
        XCTAssertEqual(MultiNodeFixture.nodeCount(h, node: 0), 0)
    }
}
