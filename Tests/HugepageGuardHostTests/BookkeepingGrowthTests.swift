import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// `release end` through `Bookkeeping`: the pages grown for the domain go back, found by its
/// identity (the UUID where both sides have one), and every line carries its own level.
final class BookkeepingGrowthTests: XCTestCase {
    var root = "", state = "", conf = ""
    var kernel: SysfsTreeKernel!
    let uuidA = "6f1f0a59-0000-4000-8000-00000000000a", uuidB = "6f1f0a59-0000-4000-8000-00000000000b"

    override func setUpWithError() throws {
        let host = try OneNodeGrowthHost(self, pages: 42)
        (root, state, conf, kernel) = (host.root, host.state, host.conf, host.kernel)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    }

    var bookkeeping: Bookkeeping {
        Bookkeeping(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: state, configPath: conf), poolWriter: kernel)
    }

    func entry(_ name: String, uuid: String?, grown: UInt64, state s: LedgerEntry.State = .started) -> LedgerEntry {
        var e = LedgerEntry(domain: name, uuid: uuid, state: s, operation: "prepare", since: 1, owner: nil,
                            items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)])
        e.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: grown)]
        return e
    }

    func seed(_ entries: [LedgerEntry]) throws {
        try LedgerStore(directory: state).withLock { ledger, _ in ledger = Ledger(entries: entries) }
    }

    func xml(_ name: String, uuid: String) -> String {
        "<domain type='kvm'><name>\(name)</name><uuid>\(uuid)</uuid><memory unit='MiB'>32</memory><memoryBacking><hugepages/></memoryBacking></domain>"
    }

    func testReleaseEnd_givesBackThePagesOfTheEntryWithTheXMLsUUID_notAnotherOfTheSameName() throws {
        try write("pool.grow = on\n", to: conf)
        // An old domain named web1 (since redefined) still holds 10 grown pages; this one grew 12.
        try seed([entry("web1", uuid: uuidA, grown: 10), entry("web1", uuid: uuidB, grown: 12)])
        let lines = bookkeeping.record(.release, hookName: "web1", xml: xml("web1", uuid: uuidB), now: 50)
        XCTAssertEqual(kernel.pool().nr, 30, "12 given back")
        let left = try LedgerStore(directory: state).read().entries
        XCTAssertEqual(left.map(\.uuid), [uuidA])
        XCTAssertEqual(left.first?.grown.first?.pages, 10)
        XCTAssertEqual(lines.map(\.level), [.info, .info], "\(lines)")
        XCTAssertTrue(lines[0].text.contains("event=reservation_released"), "\(lines)")
        XCTAssertTrue(lines[1].text.hasPrefix("level=info event=pool_shrunk domain=web1 uuid=\(uuidB) pages=2048@any:12"), "\(lines)")
    }

    func testReleaseEnd_aHeldShrinkIsNotTheDomainsEntry() throws {
        try write("pool.grow = on\n", to: conf)
        // Pages an earlier shrink of web1 held back, and web1's new run with its own grown pages.
        var hold = LedgerEntry(domain: "web1", uuid: uuidB, state: .started, operation: LedgerEntry.grownHoldOperation,
                               since: 1, owner: nil, items: [])
        hold.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 4)]
        try seed([hold, entry("web1", uuid: uuidB, grown: 12)])
        _ = bookkeeping.record(.started, hookName: "web1", xml: xml("web1", uuid: uuidB), now: 40)
        XCTAssertEqual(try LedgerStore(directory: state).read().entries.map(\.operation), [LedgerEntry.grownHoldOperation, "prepare"])
        _ = bookkeeping.record(.release, hookName: "web1", xml: xml("web1", uuid: uuidB), now: 50)
        XCTAssertEqual(kernel.pool().nr, 42 - 4 - 12, "the hold retried, then the run's own pages")
        XCTAssertEqual(try LedgerStore(directory: state).read().entries, [])
    }

    func testReleaseEnd_withABrokenConfig_holdsThePagesForTheAgent_andStillReleases() throws {
        try write("pool.grow = on\npool.shrink = sometimes\n", to: conf)
        try seed([entry("web1", uuid: uuidB, grown: 12)])
        let lines = bookkeeping.record(.release, hookName: "web1", xml: xml("web1", uuid: uuidB), now: 50)
        XCTAssertEqual(kernel.pool().nr, 42, "nothing given back without knowing the host reserve")
        let held = try LedgerStore(directory: state).read().entries
        XCTAssertEqual(held.map(\.isGrownHold), [true])
        XCTAssertEqual(held.first?.grown.first?.pages, 12)
        XCTAssertEqual(lines.map(\.level), [.info, .warning], "\(lines)")
        XCTAssertTrue(lines[1].text.contains("event=pool_shrink_deferred"), "\(lines)")
        XCTAssertTrue(lines[1].text.contains("sometimes"), "the config's problem is named: \(lines)")
    }
}
