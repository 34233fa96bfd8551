import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class AdmissionGrowthTests: XCTestCase {
    var root = "", state = "", conf = ""
    var kernel: SysfsTreeKernel!

    override func setUpWithError() throws {
        let host = try OneNodeGrowthHost(self, pages: 10)
        (root, state, conf, kernel) = (host.root, host.state, host.conf, host.kernel)
    }

    func admission() -> Admission {
        Admission(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf), poolWriter: kernel)
    }

    let xml = """
        <domain type='kvm'><name>web1</name><uuid>6f1f0a59-0000-4000-8000-000000000001</uuid><memory unit='MiB'>64</memory>
        <memoryBacking><hugepages/></memoryBacking></domain>
        """

    func decide(_ xml: String? = nil) -> (DecisionReport?, [LogLine]) {
        guard case let .decided(_, report, notes) = admission().decide(xml: xml ?? self.xml, operation: "prepare", reserveFor: nil, reserve: true) else {
            XCTFail("no decision"); return (nil, [])
        }
        return (report, notes)
    }

    func ledger() throws -> Ledger { try LedgerStore(directory: state).read() }

    func testGrowthOff_refusesAndLeavesThePool() throws {
        let (report, _) = decide()
        XCTAssertEqual(report?.decision.verdict, .refuse)
        XCTAssertNil(report?.growth)
        XCTAssertEqual(kernel.pool().nr, 10)
    }

    func testGrowthOn_growsByExactlyTheShortfallAndRecordsIt() throws {
        try write("pool.grow = on\n", to: conf)
        let (report, notes) = decide()
        XCTAssertEqual(report?.decision.verdict, .admit)
        XCTAssertEqual(report?.growth, .grown([GrowStep(pageSizeKiB: 2048, node: nil, pages: 22)]))
        XCTAssertEqual(kernel.pool().nr, 32)
        XCTAssertEqual(try ledger().entry(domain: "web1")?.grown, [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 22)])
        XCTAssertTrue(notes.contains { $0.event == .poolGrown && $0["grown"] == "2048@any:22" }, "\(notes)")
        XCTAssertEqual(notes.first { $0.event == .poolGrown }?.level, .info, "a growth that let the start in is info, not a warning")
        XCTAssertEqual(GrowthCounters.read(directory: state).results["ok"], 1)
    }

    func testDomainGrowOff_isRefusedWithoutGrowth() throws {
        try write("pool.grow = on\n", to: conf)
        let off = xml.replacingOccurrences(of: "</domain>", with: "<metadata><g:guard xmlns:g='\(metadataNamespace)' grow='off'/></metadata></domain>")
        let (report, _) = decide(off)
        XCTAssertEqual(report?.decision.verdict, .refuse)
        XCTAssertEqual(kernel.pool().nr, 10)
    }

    func testKernelGivesLess_rollsBackEveryPageAndSaysWhy() throws {
        try write("pool.grow = on\n", to: conf)
        kernel.grant = 5
        let (report, notes) = decide()
        XCTAssertEqual(report?.decision.verdict, .refuse)
        XCTAssertEqual(kernel.pool().nr, 10, "never larger than before a refused start")
        XCTAssertEqual(kernel.pool().free, 10)
        let text = report?.refusalParagraph ?? ""
        XCTAssertTrue(text.contains("asked the kernel for 22 pages of 2 MiB on any node, it could give 10"), text)
        XCTAssertTrue(text.contains("fragmented"), text)
        XCTAssertTrue(notes.contains { $0.event == .poolGrowRollback && $0.level == .warning }, "\(notes)")
        XCTAssertNil(try ledger().entry(domain: "web1"))
    }

    func testCap_refusesBeforeWritingAndNamesIt() throws {
        try write("pool.grow = on\npool.grow.max.2M = 31\n", to: conf)
        let (report, _) = decide()
        XCTAssertEqual(report?.decision.verdict, .refuse)
        XCTAssertEqual(kernel.pool().nr, 10)
        XCTAssertTrue(report?.refusalParagraph.contains("pool.grow.max.2M = 31") ?? false, report?.refusalParagraph ?? "")
        XCTAssertEqual(GrowthCounters.read(directory: state).results["cap"], 1)
    }

    func testFloor_refusesBeforeWritingAndNamesIt() throws {
        try write("pool.grow = on\npool.grow.min_available = 9000000K\n", to: conf)
        let (report, _) = decide()
        XCTAssertEqual(report?.decision.verdict, .refuse)
        XCTAssertEqual(kernel.pool().nr, 10)
        XCTAssertTrue(report?.refusalParagraph.contains("pool.grow.min_available") ?? false, report?.refusalParagraph ?? "")
    }

    func testRelease_givesBackWhatWasGrown_butNotWhatAnotherStartReserved() throws {
        try write("pool.grow = on\n", to: conf)
        _ = decide()
        XCTAssertEqual(kernel.pool().nr, 32)
        // Another start reserved 25 of the free pages meanwhile; web1 failed before running.
        let store = LedgerStore(directory: state)
        let growth = PoolGrowth(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf),
                                stateDir: state, writer: kernel)
        let config = try ConfigFile.load(path: conf)
        let lines = try store.withLock { ledger, _ -> [LogLine] in
            ledger.reserve(LedgerEntry(domain: "other", uuid: nil, state: .reserved, operation: "prepare", since: 1, owner: nil,
                                       items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 25)]))
            let e = ledger.drop(domain: "web1")!
            return growth.release(e, ledger: &ledger, config: config, now: 7)
        }
        XCTAssertEqual(kernel.pool().nr, 25, "7 given back; 15 held for the other start's 25")
        XCTAssertTrue(lines.contains { $0.text.contains("event=pool_shrunk") && $0.text.contains("2048@any:7") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.text.contains("event=pool_shrink_deferred") && $0.text.contains("2048@any:15") }, "\(lines)")
        let held = try ledger().entries.first { $0.operation == "shrink" }
        XCTAssertEqual(held?.grown, [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 15)])
        XCTAssertEqual(try ledger().inFlight(excluding: nil as DomainIdentity?).reduce(0) { $0 + $1.pages }, 25, "the held pages are not in flight")
    }

    func testRelease_withShrinkOff_keepsThePagesOfARunThatEnded() throws {
        try write("pool.grow = on\npool.shrink = off\n", to: conf)
        _ = decide()
        let store = LedgerStore(directory: state)
        let growth = PoolGrowth(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf),
                                stateDir: state, writer: kernel)
        let config = try ConfigFile.load(path: conf)
        let lines = try store.withLock { ledger, _ -> [LogLine] in
            ledger.markStarted(domain: "web1", at: 2)
            let e = ledger.drop(domain: "web1")!
            return growth.release(e, ledger: &ledger, config: config, now: 7)
        }
        XCTAssertEqual(kernel.pool().nr, 32)
        XCTAssertTrue(lines.contains { $0.text.contains("event=pool_grown_kept") }, "\(lines)")
    }

    func testWarnPolicy_growsToo_andAdmitsEvenWhenGrowthIsRefused() throws {
        try write("policy = warn\npool.grow = on\n", to: conf)
        let (report, _) = decide()
        XCTAssertEqual(report?.decision.verdict, .admit)
        XCTAssertTrue(report?.decision.fits ?? false, "grown, so it fits")
        XCTAssertEqual(kernel.pool().nr, 32)
        try write("policy = warn\npool.grow = on\npool.grow.max.2M = 40\n", to: conf)
        let (again, _) = decide(xml.replacingOccurrences(of: "web1", with: "web2").replacingOccurrences(of: "0001</uuid>", with: "0002</uuid>"))
        XCTAssertEqual(again?.decision.verdict, .admit, "warn admits what doesn't fit")
        XCTAssertFalse(again?.decision.fits ?? true)
        XCTAssertEqual(kernel.pool().nr, 32, "the cap kept the pool")
    }

    func testHeldPages_areRetried_andAnUnchangedHoldIsNotLoggedAgain() throws {
        try write("pool.grow = on\n", to: conf)
        kernel.setPool(nr: 40, free: 0)             // 40 pages all in use: nothing can go back
        var hold = LedgerEntry(domain: "gone", uuid: nil, state: .started, operation: "shrink", since: 1, owner: nil, items: [])
        hold.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 8)]
        var ledger = Ledger(entries: [hold])
        let growth = PoolGrowth(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf),
                                stateDir: state, writer: kernel)
        let config = try ConfigFile.load(path: conf)
        XCTAssertTrue(growth.retryHeld(ledger: &ledger, config: config, now: 2).isEmpty, "still held, and said so before")
        XCTAssertEqual(ledger.entries.map(\.grown), [hold.grown])
        kernel.setPool(nr: 40, free: 5)             // 5 came free
        let lines = growth.retryHeld(ledger: &ledger, config: config, now: 3)
        XCTAssertEqual(kernel.pool().nr, 35)
        XCTAssertTrue(lines.contains { $0.text.contains("event=pool_shrunk") && $0.text.contains("2048@any:5") }, "\(lines.map(\.text))")
        XCTAssertTrue(lines.contains { $0.text.contains("event=pool_shrink_deferred") && $0.text.contains("2048@any:3") }, "\(lines.map(\.text))")
        XCTAssertEqual(ledger.entries.map(\.grown), [[DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 3)]])
    }

    func testFailedStart_givesBackEverythingEvenWithShrinkOff() throws {
        try write("pool.grow = on\npool.shrink = off\n", to: conf)
        _ = decide()
        XCTAssertEqual(kernel.pool().nr, 32)
        let growth = PoolGrowth(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf),
                                stateDir: state, writer: kernel)
        // QEMU failed: `release end` comes without `started begin`.
        let config = try ConfigFile.load(path: conf)
        let lines = try LedgerStore(directory: state).withLock { ledger, _ -> [LogLine] in
            growth.release(ledger.drop(domain: "web1")!, ledger: &ledger, config: config, now: 7)
        }
        XCTAssertEqual(kernel.pool().nr, 10)
        XCTAssertTrue(lines.contains { $0.text.contains("event=pool_shrunk") && $0.text.contains("2048@any:22") }, "\(lines.map(\.text))")
    }
}

/// The second growth round: when the pages the first round placed still leave the domain
/// short, growth plans once more from the pool as it now stands, and never a third time.
final class GrowthSecondRoundTests: XCTestCase {
    var root = "", state = ""
    var kernel: SysfsTreeKernel!

    override func setUpWithError() throws {
        let host = try OneNodeGrowthHost(self, pages: 10)
        (root, state, kernel) = (host.root, host.state, host.kernel)
    }

    var environment: GuardEnvironment { GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: state + "/none.conf") }

    /// The decision for 32 pages against the fixture's pool as it is now, with `taken` pages
    /// promised elsewhere (standing in for pages the first round put where the domain can't use them).
    func report(taken: UInt64) throws -> DecisionReport {
        let pool = try SysfsPoolReader(environment: environment).read()
        var config = GuardConfig()
        config.growth.grow = true
        let demand = DomainDemand(domain: "web1", uuid: nil, items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 32)])
        let decision = Decision.evaluate(AdmissionInput(demand: demand, pool: pool,
                                                        inFlight: taken > 0 ? [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: taken)] : [],
                                                        config: config, domainPolicy: nil, memfd: false))
        return DecisionReport(decision: decision, pool: pool, operation: "prepare")
    }

    func testFirstRoundLeavesItShort_aSecondRoundGrowsTheRest_andBothAreRecorded() throws {
        var config = GuardConfig()
        config.growth.grow = true
        let growth = PoolGrowth(environment: environment, stateDir: state, writer: kernel)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        var calls = 0
        let result = growth.grow(report: try report(taken: 0), config: config) {
            calls += 1
            // After the first round 5 of its pages are out of reach; after the second, none more.
            return try? self.report(taken: 5)
        }
        XCTAssertEqual(calls, 2, "decided again after each round")
        XCTAssertEqual(kernel.grows, 2, "two rounds, each one write")
        XCTAssertEqual(kernel.pool().nr, 10 + 22 + 5)
        XCTAssertTrue(result.report.decision.fits)
        XCTAssertEqual(result.grown, [GrowStep(pageSizeKiB: 2048, node: nil, pages: 27)], "both rounds, merged")
        XCTAssertEqual(result.report.growth, .grown([GrowStep(pageSizeKiB: 2048, node: nil, pages: 27)]))
        XCTAssertEqual(result.lines.map(\.event), [.poolGrown])
        XCTAssertEqual(result.lines.first?["grown"], "2048@any:27")
        XCTAssertEqual(result.lines.first?.level, .info)
    }

    func testStillShortAfterTheSecondRound_givesEverythingBack_andStops() throws {
        var config = GuardConfig()
        config.growth.grow = true
        let growth = PoolGrowth(environment: environment, stateDir: state, writer: kernel)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        var calls = 0
        let result = growth.grow(report: try report(taken: 0), config: config) {
            calls += 1
            // Every round's pages land out of reach: it never fits.
            let grownSoFar = self.kernel.pool().nr - 10
            return try? self.report(taken: grownSoFar)
        }
        XCTAssertEqual(calls, 2, "never a third round")
        XCTAssertEqual(kernel.grows, 2)
        XCTAssertEqual(kernel.pool().nr, 10, "every page of both rounds given back")
        XCTAssertFalse(result.report.decision.fits)
        XCTAssertEqual(result.grown, [])
        guard case .stillShort(let asked, let unrestored) = result.report.growth else { return XCTFail("\(String(describing: result.report.growth))") }
        XCTAssertEqual(asked.map(\.pages).reduce(0, +), 22 + 22)
        XCTAssertEqual(unrestored, [])
        XCTAssertEqual(result.lines.map(\.event), [.poolGrowRollback])
        XCTAssertEqual(result.lines.first?["reason"], "still_short")
        XCTAssertEqual(result.lines.first?["restored"], "all")
    }
}
