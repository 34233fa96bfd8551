import Foundation
import XCTest

/// The multi-node guest's scenarios (Tests/MultiNode/scenarios.py), asserted again on fixture
/// trees captured from that guest's real kernel: the same domain XML files, the same per-node
/// pools, the same verdicts. The guest proves the kernel does what these trees say; these
/// tests run everywhere, in seconds.
final class MultiNodeScenarioTests: XCTestCase {
    let twoNodes = "two-nodes-guest-2m-1g"
    let fourNodes = "four-nodes-guest-2m-1g"

    func testStrictOnAFullNode_isRefusedNamingTheNode() throws {
        let h = try HookHarness(self)
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(16), 1: .idle(64)])
        let r = try h.hook("mn-strict-node0", "prepare", "begin", stdin: try MultiNodeFixture.domainXML("strict-node0.xml"))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("hugepage-guard refused"), r.stderr)
        XCTAssertTrue(r.stderr.contains("on node 0"), r.stderr)
        XCTAssertTrue(r.stderr.contains("needs 32, free 16"), r.stderr)
    }

    func testPreferredOnAFullNode_isAdmitted() throws {
        let h = try HookHarness(self)
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(16), 1: .idle(64)])
        let r = try h.hook("mn-preferred-node0", "prepare", "begin", stdin: try MultiNodeFixture.domainXML("preferred-node0.xml"))
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// restrictive gives QEMU no policy, but libvirt's cpuset.mems confines it all the same.
    func testRestrictive_isConfinedToItsNodes_andRefusedNamingTheNode() throws {
        let h = try HookHarness(self)
        let xml = try MultiNodeFixture.domainXML("restrictive-node1.xml")
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(64), 1: .idle(16)])
        let refused = try h.hook("mn-restrictive-node1", "prepare", "begin", stdin: xml)
        XCTAssertEqual(refused.status, 1, "node 0's 64 free pages can't be used: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.contains("on node 1"), refused.stderr)
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(64), 1: .idle(64)])
        let admitted = try h.hook("mn-restrictive-node1", "prepare", "begin", stdin: xml)
        XCTAssertEqual(admitted.status, 0, admitted.stderr)
    }

    /// Both hooks run at once, as libvirt runs two `virsh start`s; the ledger lock orders them.
    func testParallelStrictStarts_whoseSumExceedsTheNode_admitOne() throws {
        let h = try HookHarness(self)
        try MultiNodeFixture.use(h, tree: twoNodes, pools: [0: .idle(64), 1: .idle(48)])
        let names = ["mn-parallel-a", "mn-parallel-b"]
        let running = try names.map { name in
            try h.launch("hugepage-guard-hook", [name, "prepare", "begin", "-"],
                         stdin: try MultiNodeFixture.domainXML("strict-node1.xml", name: name))
        }
        let results = running.map { $0.finish() }
        XCTAssertEqual(results.filter { $0.status == 0 }.count, 1, results.map(\.stderr).joined(separator: "\n"))
        let refused = try XCTUnwrap(results.first { $0.status != 0 })
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("on node 1") && refused.stderr.contains("reserved by other starts 32"), refused.stderr)
    }

    func testFourNodes_strictOverTwoNodes_isRefusedNamingBoth_andAdmittedWhenTheyHoldIt() throws {
        let h = try HookHarness(self)
        let xml = try MultiNodeFixture.domainXML("strict-nodes23.xml")
        try MultiNodeFixture.use(h, tree: fourNodes, pools: [0: .idle(64), 1: .idle(64), 2: .idle(16), 3: .idle(8)])
        let refused = try h.hook("mn-strict-nodes23", "prepare", "begin", stdin: xml)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("on nodes 2-3"), refused.stderr)
        try MultiNodeFixture.use(h, tree: fourNodes, pools: [0: .idle(64), 1: .idle(64), 2: .idle(16), 3: .idle(16)])
        let admitted = try h.hook("mn-strict-nodes23", "prepare", "begin", stdin: xml)
        XCTAssertEqual(admitted.status, 0, admitted.stderr)
    }

    func testFourNodes_cellsBoundToDifferentNodes_areEachCountedOnTheirNode() throws {
        let h = try HookHarness(self)
        let xml = try MultiNodeFixture.domainXML("cells-on-nodes23.xml")
        try MultiNodeFixture.use(h, tree: fourNodes, pools: [0: .idle(64), 1: .idle(64), 2: .idle(64), 3: .idle(8)])
        let refused = try h.hook("mn-cells-on-nodes23", "prepare", "begin", stdin: xml)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("on node 3"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("on node 2"), "node 2 holds its cell: \(refused.stderr)")
        try MultiNodeFixture.use(h, tree: fourNodes, pools: [0: .idle(64), 1: .idle(64), 2: .idle(64), 3: .idle(16)])
        let admitted = try h.hook("mn-cells-on-nodes23", "prepare", "begin", stdin: xml)
        XCTAssertEqual(admitted.status, 0, admitted.stderr)
    }
}
