import Foundation
import HugepageGuardCore
import XCTest

/// `release end` in the built hook gives back the pages grown for the domain.
final class HookGrowthTests: XCTestCase {
    /// A writable copy of the one-node fixture, and a ledger in which `vm1` ran with 20 grown pages.
    private func harness(config: String) throws -> HookHarness {
        let h = try HookHarness(self)
        try h.copyHost()
        try h.writeConfig(config)
        var e = LedgerEntry(domain: "vm1", uuid: nil, state: .started, operation: "prepare", since: 1, owner: nil,
                            items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 32)])
        e.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 20)]
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        try Data(LedgerCodec.encode(Ledger(entries: [e])).utf8).write(to: URL(fileURLWithPath: h.ledgerPath))
        return h
    }

    func testReleaseEnd_withShrinkOn_writesTheCountDownByWhatWasGrown() throws {
        let h = try harness(config: "pool.grow = on\n")
        let r = try h.hook("vm1", "release", "end", stdin: hugepageDomain("vm1", mib: 64))
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout + r.stderr, "")
        XCTAssertEqual(h.nr2M, "44", "64 - 20, relative to the count found")
        XCTAssertEqual(h.logLines.filter { $0["event"] == "pool_shrunk" }.map { $0["pages"] }, ["2048@any:20"])
        XCTAssertEqual(h.ledger()?.entries, [])
    }

    func testReleaseEnd_withShrinkOff_keepsThePages() throws {
        let h = try harness(config: "pool.grow = on\npool.shrink = off\n")
        XCTAssertEqual(try h.hook("vm1", "release", "end", stdin: hugepageDomain("vm1", mib: 64)).status, 0)
        XCTAssertEqual(h.nr2M, "64")
        XCTAssertEqual(h.logLines.filter { $0["event"] == "pool_grown_kept" }.count, 1)
        XCTAssertEqual(h.ledger()?.entries, [])
    }
}
