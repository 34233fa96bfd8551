import Foundation
import Glibc
import HugepageGuardCore
import XCTest

/// No file, input or number may crash the hook, make it wait, or fail `started begin` and
/// `release end`.
final class HookHardeningTests: XCTestCase {
    /// Ends every wait on the FIFO at `path` until the test is over, should a regression
    /// ever open it blocking: the reader then sees an empty file instead of the refusal the
    /// test expects, and the test fails instead of hanging.
    private func unblockLater(_ path: String) {
        let over = Flag()
        addTeardownBlock { over.set() }
        Thread.detachNewThread {
            while !over.isSet {
                sleep(5)
                let fd = open(path, O_WRONLY | O_NONBLOCK)
                if fd >= 0 { close(fd) }
            }
        }
    }

    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    private func assertQuietZero(_ r: RunResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 0, "\(what): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout + r.stderr, "", what, file: file, line: line)
    }

    func testStartedAndRelease_withALedgerThatIsAFIFO_exitZero_andMoveItAside() throws {
        let h = try HookHarness(self)
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(h.ledgerPath, 0o600), 0)
        unblockLater(h.ledgerPath)
        assertQuietZero(try h.hook("vm1", "started", "begin", stdin: hugepageDomain("vm1", mib: 32)), "started begin")
        let logged = h.logLines.filter { $0["event"] == LogEvent.ledgerCorrupt.rawValue }
        XCTAssertEqual(logged.first?["error"], "is a FIFO, not a regular file; refusing to use it", "\(h.logLines)")
        assertQuietZero(try h.hook("vm1", "release", "end", stdin: hugepageDomain("vm1", mib: 32)), "release end")
    }

    func testStartedAndRelease_inAnUnsafeStateDir_exitZero_andLogWhy() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(mkdir(h.stateDir, 0o777), 0)
        XCTAssertEqual(chmod(h.stateDir, 0o777), 0)
        for (op, sub) in [("started", "begin"), ("release", "end")] {
            assertQuietZero(try h.hook("vm1", op, sub, stdin: hugepageDomain("vm1", mib: 32)), "\(op) \(sub)")
        }
        let errors = h.logLines.filter { $0["event"] == LogEvent.ledgerError.rawValue }.compactMap { $0["error"] }
        XCTAssertEqual(errors.count, 2)
        XCTAssertTrue(errors.allSatisfy { $0.contains("\(h.stateDir) is writable by its group and others (mode 777)") }, "\(errors)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.stateDir), [], "nothing written there")
    }

    func testPrepareBegin_inAnUnsafeStateDir_isRefusedSayingWhy() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(mkdir(h.stateDir, 0o777), 0)
        XCTAssertEqual(chmod(h.stateDir, 0o777), 0)
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("the state directory \(h.stateDir) is writable by its group and others (mode 777)"), r.stderr)
        XCTAssertTrue(h.logLines.last?["error"]?.contains("is writable by its group and others") ?? false, "\(h.logLines)")
    }

    func testStartedAndRelease_withUnreadableStdin_findTheEntryByName() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 0)
        assertQuietZero(try h.hook("vm1", "started", "begin", stdin: "<<<not xml\u{0}"), "started begin")
        XCTAssertEqual(h.ledger()?.entry(domain: "vm1")?.state, .started)
        let huge = String(repeating: " ", count: 16 << 20) + hugepageDomain("vm1", mib: 32)
        assertQuietZero(try h.hook("vm1", "release", "end", stdin: huge), "release end")
        XCTAssertNil(h.ledger()?.entry(domain: "vm1"))
        let released = h.logLines.first { $0["event"] == LogEvent.reservationReleased.rawValue }
        XCTAssertTrue(released?["matched_by"]?.contains("larger than 16 MiB") ?? false, "\(String(describing: released))")
    }

    func testStartedBegin_readsOnlyTheConfigsStateDir_soNoOtherLineCanFailIt() throws {
        let h = try HookHarness(self)
        h.overridesStateDir = false
        try h.writeConfig("state_dir = \(h.stateDir)\n")
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 0)
        try h.writeConfig("state_dir = \(h.stateDir)\nreserve.17592186044416G = 1\npolicy = maybe\n")
        assertQuietZero(try h.hook("vm1", "started", "begin", stdin: hugepageDomain("vm1", mib: 32)), "started begin")
        XCTAssertEqual(h.ledger()?.entry(domain: "vm1")?.state, .started)
    }

    func testPrepareBegin_withAConfigThatIsAFIFO_refusesNamingIt_withoutWaiting() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(mkfifo(h.configPath, 0o600), 0)
        unblockLater(h.configPath)
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("\(h.configPath): cannot be read: is a FIFO, not a regular file"), r.stderr)
        assertQuietZero(try h.hook("vm1", "release", "end", stdin: hugepageDomain("vm1", mib: 32)), "release end")
    }

    func testPrepareBegin_withStdinOver16MiB_refusesNamingIt() throws {
        let h = try HookHarness(self)
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32) + String(repeating: " ", count: 16 << 20))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("cannot read the domain XML on stdin: larger than 16 MiB"), r.stderr)
        XCTAssertEqual(r.stdinBytesRead, UInt64(16 << 20) + 1, "read one byte past the limit, no more")
    }

    func testPrepareBegin_whoseXMLNamesAnotherDomain_isRefused() throws {
        let h = try HookHarness(self)
        let r = try h.hook("web1 ", "prepare", "begin", stdin: hugepageDomain("web1", mib: 32))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("the domain XML names the domain web1, but libvirt ran the hook for \"web1 \""), r.stderr)
        XCTAssertNil(h.ledger()?.entry(domain: "web1"))
    }

    func testWhitespaceVariantsOfOneName_eachTakeTheirOwnPages() throws {
        let h = try HookHarness(self)
        // 40 pages each against 64 free: one fits, and the others can't ride on its reservation.
        let statuses = try ["web1", "web1 ", "\tweb1"].map { try h.hook($0, "prepare", "begin", stdin: hugepageDomain($0, mib: 80)).status }
        XCTAssertEqual(statuses, [0, 1, 1])
        XCTAssertEqual(h.ledger()?.entries.map(\.domain), ["web1"])
    }

    func testANameWithSurroundingSpaces_isReservedAndReleasedUnderThatName() throws {
        let h = try HookHarness(self)
        let name = "  web 1 "
        XCTAssertEqual(try h.hook(name, "prepare", "begin", stdin: hugepageDomain(name, mib: 32)).status, 0)
        XCTAssertEqual(h.ledger()?.entries.map(\.domain), [name])
        assertQuietZero(try h.hook(name, "started", "begin", stdin: hugepageDomain(name, mib: 32)), "started begin")
        XCTAssertEqual(h.ledger()?.entry(domain: name)?.state, .started)
        assertQuietZero(try h.hook(name, "release", "end", stdin: ""), "release end without XML: found by name")
        XCTAssertEqual(h.ledger()?.entries, [])
    }
}
