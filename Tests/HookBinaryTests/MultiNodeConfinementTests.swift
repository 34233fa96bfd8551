import Foundation
import XCTest

/// The multi-node guest's confinement scenario (Tests/MultiNode/scenarios.py,
/// preferred-memnode-under-global-strict-counts-and-lands-on-the-global-nodes) on the tree
/// captured from that guest, which mounts cgroup2 with the cpuset controller libvirt confines
/// QEMU with.
final class MultiNodeConfinementTests: XCTestCase {
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
}
