import HugepageGuardCore
import XCTest

/// Every operation but prepare/migrate/restore begin, started begin and release end passes
/// straight through: exit 0, no output, stdin not read, nothing written.
final class HookPassThroughTests: XCTestCase {
    private let passThrough = [("start", "begin"), ("stopped", "end"), ("reconnect", "begin"),
                               ("attach", "begin"), ("prepare", "end"), ("migrate", "end"), ("restore", "end")]

    func testPassThroughOps_exitZeroWithoutReadingStdinOrWriting() throws {
        let h = try HookHarness(self)
        for (op, sub) in passThrough {
            let r = try h.hook("web1", op, sub, stdin: hugepageDomain("web1", mib: 4096))
            XCTAssertEqual(r.status, 0, "\(op) \(sub)")
            XCTAssertEqual(r.stdout, "", "\(op) \(sub)")
            XCTAssertEqual(r.stderr, "", "\(op) \(sub)")
            XCTAssertEqual(r.stdinBytesRead, 0, "\(op) \(sub) must not read stdin")
        }
        XCTAssertNil(h.ledger(), "pass-through never touches the ledger")
    }

    func testReconnectBegin_exitsZeroWithGarbageStdinAndABrokenConfig() throws {
        let h = try HookHarness(self)
        try h.writeConfig("policy = maybe\n")
        let r = try h.hook("web1", "reconnect", "begin", stdin: "<<<not xml\u{0}")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "")
    }

    func testReconnectBegin_exitsZeroWithACorruptLedgerAndBrokenSysfs() throws {
        let h = try HookHarness(self)
        h.sysfsRoot = h.dir + "/no-such-root"
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: h.ledgerPath))
        XCTAssertEqual(try h.hook("web1", "reconnect", "begin", stdin: hugepageDomain("web1", mib: 64)).status, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: h.ledgerPath), Data("garbage\n".utf8))
    }

    func testTooFewArguments_isAUsageErrorOnStderr() throws {
        let h = try HookHarness(self)
        let r = try h.launch("hugepage-guard-hook", ["web1"], stdin: "").finish()
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("usage"), r.stderr)
    }
}
