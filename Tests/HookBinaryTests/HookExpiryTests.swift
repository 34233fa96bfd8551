import Foundation
import HugepageGuardCore
import XCTest

/// Reservations whose start died halfway expire; strict demand on any node set survives the ledger.
final class HookExpiryTests: XCTestCase {
    private func seed(_ h: HookHarness, _ entries: [LedgerEntry]) throws {
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        try Data(LedgerCodec.encode(Ledger(entries: entries)).utf8).write(to: URL(fileURLWithPath: h.ledgerPath))
    }

    private func ghost(_ name: String, since: Int64, owner: ProcessRef? = nil) -> LedgerEntry {
        LedgerEntry(domain: name, uuid: nil, state: .reserved, operation: "prepare", since: since, owner: owner,
                    items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 64)])
    }

    func testReservationOlderThanTheTimeout_expires_andIsLogged() throws {
        let h = try HookHarness(self)
        try seed(h, [ghost("ghost", since: -1_000_000)])
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNil(h.ledger()?.entry(domain: "ghost"))
        XCTAssertEqual(h.logLines.first { $0["event"] == LogEvent.reservationExpired.rawValue }?["domain"], "ghost")
    }

    func testRecentReservation_stillCounts() throws {
        let h = try HookHarness(self)
        try seed(h, [ghost("recent", since: bootSeconds())])
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 1)
        XCTAssertNotNil(h.ledger()?.entry(domain: "recent"))
    }

    func testReservationOfADeadLibvirtd_expires() throws {
        let h = try HookHarness(self)
        try seed(h, [ghost("orphan", since: bootSeconds(), owner: ProcessRef(pid: Int32.max - 1, startTicks: 1))])
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 32)).status, 0)
        XCTAssertNil(h.ledger()?.entry(domain: "orphan"))
    }

    func testStrictNumatuneOnNonContiguousNodes_theNextStartIsDecidedNormally() throws {
        let h = try HookHarness(self, fixture: "eight-nodes-2m-1g")
        let pinned = hugepageDomain("pinned", mib: 32, numatune: "<memory mode='strict' nodeset='0,2'/>")
        XCTAssertEqual(try h.hook("pinned", "prepare", "begin", stdin: pinned).status, 0)
        let next = try h.hook("vm2", "prepare", "begin", stdin: hugepageDomain("vm2", mib: 32))
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertEqual(h.ledger()?.entry(domain: "pinned")?.items,
                       [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 2]), pages: 16)])
    }
}
