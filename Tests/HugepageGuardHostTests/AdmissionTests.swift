import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// A domain of 2 MiB pages (MiB / 2 pages) with its own UUID.
func hostDomain(_ name: String, uuid: String, mib: Int) -> String {
    """
    <domain type='kvm'><name>\(name)</name><uuid>\(uuid)</uuid><memory unit='MiB'>\(mib)</memory>
    <memoryBacking><hugepages/></memoryBacking><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>
    """
}

/// A fixture host: the one-node 2 MiB pool (64 free), a state dir and a config path of its own.
func fixtureEnvironment(_ test: XCTestCase) throws -> GuardEnvironment {
    let dir = try temporaryDirectory(test)
    return GuardEnvironment(sysfsRoot: fixtureRoot("one-node-2m"), stateDirOverride: dir + "/state",
                            configPath: dir + "/hugepage-guard.conf")
}

final class AdmissionTests: XCTestCase {
    private func verdict(_ outcome: Admission.Outcome) -> String {
        switch outcome {
        case .noHugepages: return "no hugepages"
        case let .decided(_, report, _): return report.decision.verdict.rawValue
        case let .failed(message): return "failed: \(message)"
        }
    }

    private func start(_ env: GuardEnvironment, _ name: String, uuid: String, mib: Int) -> Admission.Outcome {
        Admission(environment: env).decide(xml: hostDomain(name, uuid: uuid, mib: mib), operation: "prepare",
                                           reserveFor: nil, reserve: true, hookName: name)
    }

    func testNamesThatDifferOnlyInWhitespace_shareNoReservation() throws {
        let env = try fixtureEnvironment(self)
        let names = ["web1", "web1 ", "\tweb1"]
        let outcomes = names.enumerated().map { i, name in
            start(env, name, uuid: "6f1c2a1e-0000-4000-8000-00000000000\(i)", mib: 80)
        }
        // 40 pages each against 64 free: only the first fits.
        XCTAssertEqual(outcomes.map(verdict), ["admit", "refuse", "refuse"])
        let ledger = try LedgerStore(directory: env.stateDirOverride!).read()
        XCTAssertEqual(ledger.entries.map(\.domain), ["web1"])
        XCTAssertEqual(ledger.entries.map(\.uuid), ["6f1c2a1e-0000-4000-8000-000000000000"])
    }

    func testTheNameIsKeptExactly_surroundingWhitespaceAndAll() throws {
        let env = try fixtureEnvironment(self)
        XCTAssertEqual(verdict(start(env, " web1\n", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 32)), "admit")
        XCTAssertEqual(try LedgerStore(directory: env.stateDirOverride!).read().entries.map(\.domain), [" web1\n"])
    }

    func testArgvNameAndXMLNameThatDisagree_areRefusedNamingBoth() throws {
        let env = try fixtureEnvironment(self)
        let outcome = Admission(environment: env).decide(
            xml: hostDomain("web1", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 32), operation: "prepare",
            reserveFor: nil, reserve: true, hookName: "web1 ")
        XCTAssertEqual(verdict(outcome), "failed: the domain XML names the domain web1, but libvirt ran the hook for \"web1 \"; they must be the same name")
        XCTAssertEqual(try LedgerStore(directory: env.stateDirOverride!).read(), Ledger(), "nothing reserved")
    }

    func testARestartOfTheSameUUID_replacesItsReservation() throws {
        let env = try fixtureEnvironment(self)
        let uuid = "6f1c2a1e-0000-4000-8000-000000000001"
        XCTAssertEqual(verdict(start(env, "web1", uuid: uuid, mib: 80)), "admit")
        XCTAssertEqual(verdict(start(env, "web1", uuid: uuid.uppercased(), mib: 80)), "admit", "its own reservation doesn't count")
        XCTAssertEqual(try LedgerStore(directory: env.stateDirOverride!).read().entries.count, 1)
    }

    private func seed(_ env: GuardEnvironment, _ text: String) throws {
        let dir = env.stateDirOverride!
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try write(LedgerCodec.header + "\n" + text, to: dir + "/ledger")
    }

    func testLedgerWhoseItemsOverflow_isMovedAsideOnce_thenStartsAreDecided() throws {
        let env = try fixtureEnvironment(self)
        // 2^52 pages of 2 MiB are 2^63 KiB each: either one alone can be counted, not both.
        try seed(env, "domain=a state=reserved since=1 demand=2048@*:4503599627370496\n"
                 + "domain=b state=reserved since=1 demand=2048@*:4503599627370496\n")
        let first = start(env, "vm1", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 32)
        XCTAssertTrue(verdict(first).contains("could not be used (line 3: demand of 4503599627370496 pages"), verdict(first))
        XCTAssertEqual(verdict(start(env, "vm1", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 32)), "admit")
    }

    func testReservationFromTheMinimumSince_expires_andTheStartIsDecided() throws {
        let env = try fixtureEnvironment(self)
        try seed(env, "domain=old state=reserved since=-9223372036854775808 demand=2048@*:64\n")
        guard case let .decided(_, report, notes) = start(env, "vm1", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 32) else {
            return XCTFail("not decided")
        }
        XCTAssertEqual(report.decision.verdict, .admit)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.text.contains("event=reservation_expired domain=old op=prepare age_s=unknown") ?? false, "\(notes)")
        XCTAssertEqual(notes.first?.level, .warning)
    }

    func testReservationsOfTheDaemonRunningTheHook_needNoLookup_othersOfAGoneDaemonExpire() throws {
        let env = try fixtureEnvironment(self)
        // Neither owner is a live process: one is the daemon running this hook (it waits for
        // the hook, so it is alive), the other is gone.
        let running = ProcessRef(pid: Int32.max - 1, startTicks: 4242)
        let since = BootClock.now()
        try seed(env, "domain=mine state=reserved since=\(since) owner=\(running) demand=2048@*:16\n"
                 + "domain=gone state=reserved since=\(since) owner=\(Int32.max - 1):4243 demand=2048@*:16\n")
        let outcome = Admission(environment: env).decide(xml: hostDomain("vm1", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 64),
                                                         operation: "prepare", reserveFor: running, reserve: true, hookName: "vm1")
        guard case let .decided(_, report, notes) = outcome else { return XCTFail("not decided: \(outcome)") }
        XCTAssertEqual(notes.map(\.text).filter { $0.contains("event=reservation_expired") }.count, 1, "\(notes)")
        XCTAssertTrue(notes.first?.text.contains("domain=gone") ?? false, "\(notes)")
        XCTAssertEqual(report.decision.verdict, .admit, "64 free, 16 reserved by the running daemon's start, 32 asked")
        XCTAssertEqual(try LedgerStore(directory: env.stateDir(config: GuardConfig())).read().entries.map(\.domain), ["mine", "vm1"])
    }

    func testRefusalCounterAtItsMaximum_staysThere() throws {
        let env = try fixtureEnvironment(self)
        try seed(env, "refusals=18446744073709551615\n")
        XCTAssertEqual(verdict(start(env, "big", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 1024)), "refuse")
        XCTAssertEqual(try LedgerStore(directory: env.stateDirOverride!).read().refusals, UInt64.max)
    }

    func testUnsafeStateDirectory_refusesTheStartSayingWhy() throws {
        let env = try fixtureEnvironment(self)
        let dir = env.stateDirOverride!
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(dir, 0o777), 0)
        let outcome = start(env, "vm1", uuid: "6f1c2a1e-0000-4000-8000-000000000001", mib: 32)
        XCTAssertTrue(verdict(outcome).contains("the state directory \(dir) is writable by its group and others (mode 777), so the guard refuses to use it"),
                      verdict(outcome))
    }
}
