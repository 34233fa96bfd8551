import Foundation
import HugepageGuardCore
import XCTest

/// started begin, release end, a broken config, a corrupt ledger, parallel starts.
final class HookLedgerTests: XCTestCase {
    func testStartedBegin_marksTheReservationStarted_soItNoLongerCounts() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 64)).status, 0)
        XCTAssertEqual(try h.hook("vm2", "prepare", "begin", stdin: hugepageDomain("vm2", mib: 66)).status, 1,
                       "vm1's 32 pages are still in flight")
        let started = try h.hook("vm1", "started", "begin", stdin: hugepageDomain("vm1", mib: 64))
        XCTAssertEqual(started.status, 0)
        XCTAssertEqual(started.stdout + started.stderr, "")
        XCTAssertEqual(h.ledger()?.entry(domain: "vm1")?.state, .started)
        // The fixture's free count stands for the kernel's, which now includes vm1's pages.
        XCTAssertEqual(try h.hook("vm2", "prepare", "begin", stdin: hugepageDomain("vm2", mib: 66)).status, 0)
        XCTAssertEqual(h.logLines.filter { $0["event"] == LogEvent.reservationCommitted.rawValue }.map { $0["domain"] }, ["vm1"])
    }

    func testReleaseEnd_dropsTheEntry_andIsIdempotent() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 0)
        for _ in 0..<2 {
            let r = try h.hook("vm1", "release", "end", stdin: hugepageDomain("vm1", mib: 32))
            XCTAssertEqual(r.status, 0)
            XCTAssertEqual(r.stdout + r.stderr, "")
            XCTAssertNil(h.ledger()?.entry(domain: "vm1"))
        }
        XCTAssertEqual(h.logLines.filter { $0["event"] == LogEvent.reservationReleased.rawValue }.count, 1)
    }

    func testReleaseEnd_afterARefusedStart_exitsZero() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("big", "prepare", "begin", stdin: hugepageDomain("big", mib: 256)).status, 1)
        XCTAssertEqual(try h.hook("big", "stopped", "end", stdin: hugepageDomain("big", mib: 256)).status, 0)
        XCTAssertEqual(try h.hook("big", "release", "end", stdin: hugepageDomain("big", mib: 256)).status, 0)
        XCTAssertEqual(h.ledger()?.entries, [])
        XCTAssertEqual(h.ledger()?.refusals, 1)
    }

    func testBrokenConfig_refusesStartsNamingTheLine_butNeverFailsBookkeeping() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 0)
        try h.writeConfig("policy = warn\nreserve.2M = lots\n")
        let r = try h.hook("vm2", "prepare", "begin", stdin: hugepageDomain("vm2", mib: 2))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("\(h.configPath) line 2") && r.stderr.contains("reserve.2M"), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
        for (op, sub) in [("started", "begin"), ("reconnect", "begin"), ("release", "end")] {
            let b = try h.hook("vm1", op, sub, stdin: hugepageDomain("vm1", mib: 32))
            XCTAssertEqual(b.status, 0, "\(op) \(sub): \(b.stderr)")
            XCTAssertEqual(b.stdout, "")
        }
        XCTAssertNil(h.ledger()?.entry(domain: "vm1"), "release end still dropped the reservation")
    }

    func testCorruptLedger_refusesOnceNamingTheQuarantinedFile_thenDecidesNormally() throws {
        let h = try HookHarness(self)
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        let garbage = Data("this is not a ledger\n\u{1}\u{2}".utf8)
        try garbage.write(to: URL(fileURLWithPath: h.ledgerPath))
        let first = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(first.status, 1)
        XCTAssertEqual(first.stdout, "")
        let aside = try FileManager.default.contentsOfDirectory(atPath: h.stateDir).filter { $0.hasPrefix("ledger.corrupt.") }
        XCTAssertEqual(aside.count, 1)
        if let name = aside.first {
            XCTAssertTrue(first.stderr.contains(h.stateDir + "/" + name), first.stderr)
            XCTAssertEqual(FileManager.default.contents(atPath: h.stateDir + "/" + name), garbage, "kept byte for byte")
        }
        XCTAssertEqual(h.ledger()?.refusals, 1)
        let second = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(h.ledger()?.entry(domain: "vm1")?.state, .reserved)
    }

    func testCorruptLedger_atReleaseEnd_isMovedAsideAndLogged_andTheHookStillExitsZero() throws {
        let h = try HookHarness(self)
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        try Data("not a ledger\n".utf8).write(to: URL(fileURLWithPath: h.ledgerPath))
        let r = try h.hook("vm1", "release", "end", stdin: "")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout + r.stderr, "")
        let logged = h.logLines.filter { $0["event"] == LogEvent.ledgerCorrupt.rawValue }
        XCTAssertEqual(logged.map { $0["domain"] }, ["vm1"])
        XCTAssertTrue(logged.first?["moved_to"]?.hasPrefix(h.stateDir + "/ledger.corrupt.") ?? false, "\(logged)")
    }

    func testParallelPrepareBegins_admitASetWhoseSumFits() throws {
        let h = try HookHarness(self)
        // Ten VMs of 16 pages each against 64 free pages: exactly four fit.
        let running = try (0..<10).map { i in
            try h.launch("hugepage-guard-hook", ["p\(i)", "prepare", "begin", "-"], stdin: hugepageDomain("p\(i)", mib: 32))
        }
        let results = running.map { $0.finish() }
        XCTAssertEqual(results.filter { $0.status == 0 }.count, 4, results.map(\.stderr).joined())
        XCTAssertEqual(results.filter { $0.status == 1 }.count, 6)
        XCTAssertTrue(results.allSatisfy { $0.stdout.isEmpty })
        guard let ledger = h.ledger() else { return XCTFail("no ledger") }
        let reserved = ledger.entries.filter { $0.state == .reserved }.flatMap(\.items).reduce(0) { $0 + $1.pages }
        XCTAssertEqual(reserved, 64)
        XCTAssertEqual(ledger.entries.count, 4)
        XCTAssertEqual(ledger.refusals, 6)
        let admittedNames = Set(zip(0..<10, results).filter { $0.1.status == 0 }.map { "p\($0.0)" })
        XCTAssertEqual(Set(ledger.entries.map(\.domain)), admittedNames)
    }
}
