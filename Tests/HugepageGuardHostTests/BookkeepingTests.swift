import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// `started begin` and `release end`, without spawning the hook.
final class BookkeepingTests: XCTestCase {
    private let uuidA = "6f1c2a1e-0000-4000-8000-00000000000a", uuidB = "6f1c2a1e-0000-4000-8000-00000000000b"

    private func entry(_ name: String, uuid: String?) -> LedgerEntry {
        LedgerEntry(domain: name, uuid: uuid, state: .reserved, operation: "prepare", since: 1, owner: nil,
                    items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)])
    }

    private func store(_ env: GuardEnvironment) -> LedgerStore { LedgerStore(directory: env.stateDirOverride!) }

    private func seed(_ env: GuardEnvironment, _ entries: [LedgerEntry]) throws {
        try store(env).withLock { ledger, _ in ledger = Ledger(entries: entries) }
    }

    func testStarted_marksTheEntryOfTheXMLsUUID_andLogsIt() throws {
        let env = try fixtureEnvironment(self)
        // Two reservations named web1: an old one of a domain since redefined, and this one.
        try seed(env, [entry("web1", uuid: uuidA), entry("web1", uuid: uuidB)])
        let lines = Bookkeeping(environment: env).record(.started, hookName: "web1", xml: hostDomain("web1", uuid: uuidB, mib: 32), now: 50)
        XCTAssertEqual(try store(env).read().entries.map(\.state), [.reserved, .started])
        XCTAssertEqual(lines.map(\.level), [.info])
        XCTAssertEqual(lines.map(\.text), ["level=info event=reservation_committed op=started domain=web1 uuid=\(uuidB)"])
    }

    func testRelease_withoutReadableXML_fallsBackToTheExactName() throws {
        let env = try fixtureEnvironment(self)
        try seed(env, [entry("web1", uuid: uuidA), entry("web1 ", uuid: uuidB)])
        for xml in [nil, "<<<not xml"] {
            try seed(env, [entry("web1", uuid: uuidA), entry("web1 ", uuid: uuidB)])
            let lines = Bookkeeping(environment: env).record(.release, hookName: "web1 ", xml: xml, now: 50)
            XCTAssertEqual(try store(env).read().entries.map(\.domain), ["web1"], "\(String(describing: xml))")
            XCTAssertEqual(lines.map(\.level), [.info])
            XCTAssertTrue(lines.first?.text.contains("event=reservation_released op=release domain=\"web1 \" matched_by=") ?? false, "\(lines)")
        }
    }

    func testXMLOfAnotherDomain_isNotTrustedForTheUUID() throws {
        let env = try fixtureEnvironment(self)
        try seed(env, [entry("web1", uuid: uuidA), entry("db", uuid: uuidB)])
        _ = Bookkeeping(environment: env).record(.release, hookName: "web1", xml: hostDomain("db", uuid: uuidB, mib: 32), now: 50)
        XCTAssertEqual(try store(env).read().entries.map(\.domain), ["db"])
    }

    func testNothingToDo_logsNothing() throws {
        let env = try fixtureEnvironment(self)
        XCTAssertEqual(Bookkeeping(environment: env).record(.release, hookName: "web1", xml: nil, now: 50), [])
        XCTAssertEqual(Bookkeeping(environment: env).record(.started, hookName: "web1", xml: nil, now: 50), [])
    }

    func testCorruptLedger_isMovedAsideAndLogged() throws {
        let env = try fixtureEnvironment(self)
        try FileManager.default.createDirectory(atPath: env.stateDirOverride!, withIntermediateDirectories: true)
        try write("not a ledger\n", to: store(env).ledgerPath)
        let lines = Bookkeeping(environment: env).record(.release, hookName: "web1", xml: nil, now: 50)
        XCTAssertEqual(lines.map(\.level), [.error])
        XCTAssertTrue(lines.first?.text.hasPrefix("level=error event=ledger_corrupt op=release domain=web1 error=") ?? false, "\(lines)")
        XCTAssertTrue(lines.first?.text.contains("moved_to=\(store(env).ledgerPath).corrupt.") ?? false, "\(lines)")
    }

    func testUnsafeStateDirectory_isALogLineNotAFailure() throws {
        let env = try fixtureEnvironment(self)
        XCTAssertEqual(mkdir(env.stateDirOverride!, 0o777), 0)
        XCTAssertEqual(chmod(env.stateDirOverride!, 0o777), 0)
        let lines = Bookkeeping(environment: env).record(.started, hookName: "web1", xml: nil, now: 50)
        XCTAssertEqual(lines.map(\.level), [.error])
        XCTAssertTrue(lines.first?.text.contains("event=ledger_error") ?? false, "\(lines)")
        XCTAssertTrue(lines.first?.text.contains("writable by its group and others") ?? false, "\(lines)")
    }

    func testWithTheStateDirectoryGiven_theConfigIsNeverRead() throws {
        let env = try fixtureEnvironment(self)
        XCTAssertEqual(mkfifo(env.configPath, 0o600), 0)  // reading it would be an error (or a wait)
        try seed(env, [entry("web1", uuid: uuidA)])
        let lines = Bookkeeping(environment: env).record(.release, hookName: "web1", xml: nil, now: 50)
        XCTAssertEqual(lines.map(\.level), [.info], "\(lines)")
    }

    func testOnlyTheConfigsStateDir_isRead_whateverElseTheFileSays() throws {
        var env = try fixtureEnvironment(self)
        env.stateDirOverride = nil
        // Lines the full parser refuses (or once trapped on) don't matter here.
        try write("policy = maybe\nreserve.17592186044416G = 1\n state_dir = /somewhere/else # here\n", to: env.configPath)
        XCTAssertEqual(Bookkeeping(environment: env).stateDirectory().0, "/somewhere/else")
        XCTAssertNil(Bookkeeping(environment: env).stateDirectory().1)
        try write("policy = maybe\n", to: env.configPath)
        XCTAssertEqual(Bookkeeping(environment: env).stateDirectory().0, GuardConfig().stateDir)
    }

    func testUnusableStateDirInTheConfig_meansTheDefault_andSaysSo() throws {
        var env = try fixtureEnvironment(self)
        env.stateDirOverride = nil
        try write("state_dir = relative/path\n", to: env.configPath)
        let (dir, problem) = Bookkeeping(environment: env).stateDirectory()
        XCTAssertEqual(dir, GuardConfig().stateDir)
        XCTAssertEqual(problem, "\(env.configPath) line 1: state_dir 'relative/path' must be an absolute path; using the default state_dir")
        XCTAssertEqual(unlink(env.configPath), 0)
        XCTAssertEqual(mkfifo(env.configPath, 0o600), 0)
        XCTAssertEqual(Bookkeeping(environment: env).stateDirectory().1,
                       "\(env.configPath) cannot be read: is a FIFO, not a regular file; using the default state_dir")
    }
}
