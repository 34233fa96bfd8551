import Foundation
import HugepageGuardCore
import XCTest

/// prepare/migrate/restore begin against the one-node fixture (64 free 2 MiB pages).
final class HookDecisionTests: XCTestCase {
    func testPrepareBegin_thatFits_admitsAndReserves() throws {
        let h = try HookHarness(self)
        XCTAssertNil(h.ledger(), "no ledger yet: a missing ledger is fine")
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "")
        XCTAssertGreaterThan(r.stdinBytesRead, 0, "a deciding op reads the XML (this proves the pass-through check can fail)")
        let entry = h.ledger()?.entry(domain: "vm1")
        XCTAssertEqual(entry?.state, .reserved)
        XCTAssertEqual(entry?.operation, "prepare")
        XCTAssertEqual(entry?.items, [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)])
        let log = h.logLines.last
        XCTAssertEqual(log?["event"], "decision")
        XCTAssertEqual(log?["decision"], "admit")
        XCTAssertEqual(log?["domain"], "vm1")
        XCTAssertEqual(log?["pages_2048kB"], "16")
    }

    func testPrepareBegin_thatDoesNotFit_refusesWithOneParagraph_andLeavesTheLedgerButTheCounter() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 0)
        let before = h.ledger()
        let r = try h.hook("big", "prepare", "begin", stdin: hugepageDomain("big", mib: 256))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasSuffix("\n"), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one paragraph: \(r.stderr)")
        for part in ["refused to start domain 'big'", "needs 128", "free 64", "reserved by other starts 16",
                     "host reserve 0", "80 short", "sysctl vm.nr_hugepages=144", "virsh allocpages 2048 80 --add"] {
            XCTAssertTrue(r.stderr.contains(part), "missing '\(part)' in: \(r.stderr)")
        }
        let after = h.ledger()
        XCTAssertEqual(after?.entries, before?.entries)
        XCTAssertEqual(after?.refusals, (before?.refusals ?? 0) + 1)
        XCTAssertEqual(h.logLines.last?["decision"], "refuse")
        XCTAssertEqual(h.logLines.last?["domain"], "big")
    }

    func testMigrateAndRestoreBegin_decideToo_andNeverPrintToStdout() throws {
        let h = try HookHarness(self)
        for op in ["migrate", "restore"] {
            let refused = try h.hook("big-\(op)", op, "begin", stdin: hugepageDomain("big-\(op)", mib: 256))
            XCTAssertEqual(refused.status, 1, op)
            XCTAssertEqual(refused.stdout, "", op)
            let admitted = try h.hook("vm-\(op)", op, "begin", stdin: hugepageDomain("vm-\(op)", mib: 16))
            XCTAssertEqual(admitted.status, 0, op)
            XCTAssertEqual(admitted.stdout, "", op)
            XCTAssertEqual(h.ledger()?.entry(domain: "vm-\(op)")?.operation, op)
        }
    }

    func testPrepareBegin_withoutHugepages_admitsWithoutTouchingTheLedger() throws {
        let h = try HookHarness(self)
        let r = try h.hook("plain", "prepare", "begin", stdin: plainDomain)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr, "")
        XCTAssertNil(h.ledger())
        XCTAssertEqual(h.logLines.last?["pages"], "0")
        XCTAssertEqual(h.logLines.last?["decision"], "admit")
    }

    func testPrepareBegin_withUnreadableXML_refusesSayingSo() throws {
        let h = try HookHarness(self)
        let r = try h.hook("web1", "prepare", "begin", stdin: "<domain><name>web1")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("'web1'") && r.stderr.contains("cannot read the domain XML"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testStrictNumatune_onTwoNodes_pagesMustComeFromTheBoundNode() throws {
        let h = try HookHarness(self, fixture: "two-nodes-2m-1g")
        // Node 1 has 40 free; the pool as a whole has 96 available.
        let strict = try h.hook("pinned", "prepare", "begin",
                                stdin: hugepageDomain("pinned", mib: 96, numatune: "<memory mode='strict' nodeset='1'/>"))
        XCTAssertEqual(strict.status, 1)
        XCTAssertTrue(strict.stderr.contains("on node 1 (strict numatune): needs 48"), strict.stderr)
        XCTAssertTrue(strict.stderr.contains("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"), strict.stderr)
        let loose = try h.hook("loose", "prepare", "begin",
                               stdin: hugepageDomain("loose", mib: 96, numatune: "<memory mode='preferred' nodeset='1'/>"))
        XCTAssertEqual(loose.status, 0, loose.stderr)
    }

    func testDomainMetadataPolicyWarn_admitsAndLogsTheShortfall() throws {
        let h = try HookHarness(self)
        let meta = "<hg:guard xmlns:hg='http://hugepage-guard.org/xmlns/domain/1' policy='warn'/>"
        let r = try h.hook("big", "prepare", "begin", stdin: hugepageDomain("big", mib: 256, metadata: meta))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(h.logLines.last?["policy"], "warn")
        XCTAssertEqual(h.logLines.last?["short_2048kB"], "64")
    }

    func testConfigPolicyOff_admitsWithoutReserving() throws {
        let h = try HookHarness(self)
        try h.writeConfig("policy = off\n")
        XCTAssertEqual(try h.hook("big", "prepare", "begin", stdin: hugepageDomain("big", mib: 256)).status, 0)
        XCTAssertNil(h.ledger()?.entry(domain: "big"))
    }

    func testHostReserveFromConfig_isKept() throws {
        let h = try HookHarness(self)
        try h.writeConfig("# keep 8 pages for the host\nreserve.2M = 8\n")
        XCTAssertEqual(try h.hook("fits", "prepare", "begin", stdin: hugepageDomain("fits", mib: 112)).status, 0)
        XCTAssertEqual(try h.hook("fits", "release", "end", stdin: hugepageDomain("fits", mib: 112)).status, 0)
        try h.writeConfig("reserve.2M = 9\n")
        let r = try h.hook("tight", "prepare", "begin", stdin: hugepageDomain("tight", mib: 112))
        XCTAssertEqual(r.status, 1, "56 pages + reserve 9 > 64")
        XCTAssertTrue(r.stderr.contains("host reserve 9"), r.stderr)
    }

    func testNoHugetlbfsMount_refusesSayingSo() throws {
        let h = try HookHarness(self)
        let root = h.dir + "/root"
        try FileManager.default.copyItem(atPath: h.sysfsRoot, toPath: root)
        try Data("proc /proc proc rw 0 0\n".utf8).write(to: URL(fileURLWithPath: root + "/proc/mounts"))
        h.sysfsRoot = root
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("No hugetlbfs is mounted for 2 MiB pages"), r.stderr)
    }
}

/// A start that fits is decided on free pages per node alone; one that doesn't is decided
/// again on every counter, so its advice names the node's real total.
final class HookNodeAdviceTests: XCTestCase {
    func testRefusalOnOneNode_advisesTheNodesTotalPlusTheShortfall() throws {
        let h = try HookHarness(self, fixture: "two-nodes-2m-1g")
        // 64 pages on node 1, which has 40 free of 64, less the pool's 4 reserved pages (they
        // may be faulted from it): 28 short, so the node needs 92 in all.
        let r = try h.hook("bound", "prepare", "begin",
                           stdin: hugepageDomain("bound", mib: 128, numatune: "<memory mode='strict' nodeset='1'/>"))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("'echo 92 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages'"), r.stderr)

        let fits = try h.hook("small", "prepare", "begin",
                              stdin: hugepageDomain("small", mib: 64, numatune: "<memory mode='strict' nodeset='1'/>"))
        XCTAssertEqual(fits.status, 0, fits.stderr)
    }
}
