@testable import HugepageGuardCore
import XCTest

final class LedgerTests: XCTestCase {
    private func entry(_ domain: String, _ pages: UInt64, state: LedgerEntry.State = .reserved, since: Int64 = 100,
                       owner: ProcessRef? = nil, nodes: NodeSet? = nil) -> LedgerEntry {
        LedgerEntry(domain: domain, uuid: nil, state: state, operation: "prepare", since: since, owner: owner,
                    items: [DemandItem(pageSizeKiB: 2048, hostNodes: nodes, pages: pages)])
    }

    func testReserve_replacesAnEarlierEntryOfTheSameDomain() {
        var l = Ledger()
        l.reserve(entry("a", 10))
        l.reserve(entry("b", 5))
        l.reserve(entry("a", 20))
        XCTAssertEqual(l.entries.map(\.domain), ["b", "a"])
        XCTAssertEqual(l.entry(domain: "a")?.items.first?.pages, 20)
    }

    /// Whether two ledgers still share one entry buffer: nothing was copied or rewritten.
    private func sharesStorage(_ a: Ledger, _ b: Ledger) -> Bool {
        a.entries.withUnsafeBufferPointer { x in b.entries.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }

    func testReserve_ofTheLastEntryAgain_leavesTheLedgerUntouched() {
        var l = Ledger(entries: [entry("b", 5), entry("a", 10)])
        let before = l
        l.reserve(entry("a", 10))
        XCTAssertEqual(l, before)
        XCTAssertTrue(sharesStorage(l, before), "the hook rewrites the ledger only when it changed")
        l.reserve(entry("b", 5))  // the same entry, but not the last: it moves to the end
        XCTAssertEqual(l.entries.map(\.domain), ["a", "b"])
    }

    func testExpire_withNothingToExpire_leavesTheLedgerUntouched() {
        var l = Ledger(entries: [entry("a", 10, since: 100), entry("b", 5, state: .started, since: 1)])
        let before = l
        XCTAssertEqual(l.expire(now: 150, timeout: 60, isAlive: { _ in true }), [])
        XCTAssertTrue(sharesStorage(l, before))
        XCTAssertEqual(l.expire(now: 170, timeout: 60, isAlive: { _ in true }).map(\.domain), ["a"])
        XCTAssertEqual(l.entries.map(\.domain), ["b"])
    }

    func testMarkStarted_setsStateAndTime_unknownDomainIsFalse() {
        var l = Ledger(entries: [entry("a", 10)])
        XCTAssertTrue(l.markStarted(domain: "a", at: 555))
        XCTAssertEqual(l.entry(domain: "a")?.state, .started)
        XCTAssertEqual(l.entry(domain: "a")?.since, 555)
        XCTAssertFalse(l.markStarted(domain: "zz", at: 1))
    }

    func testDrop_isIdempotent() {
        var l = Ledger(entries: [entry("a", 10), entry("b", 5)])
        XCTAssertEqual(l.drop(domain: "a")?.domain, "a")
        XCTAssertNil(l.drop(domain: "a"))
        XCTAssertEqual(l.entries.map(\.domain), ["b"])
    }

    func testInFlight_excludesStartedEntriesAndTheDomainItself() {
        let l = Ledger(entries: [entry("a", 10), entry("b", 5, state: .started), entry("c", 7)])
        XCTAssertEqual(l.inFlight(excluding: "a").map(\.pages), [7])
        XCTAssertEqual(l.inFlight(excluding: nil as DomainIdentity?).map(\.pages), [10, 7])
    }

    func testExpire_removesReservationsOfDeadOwners() {
        let alive = ProcessRef(pid: 10, startTicks: 1), dead = ProcessRef(pid: 11, startTicks: 2)
        var l = Ledger(entries: [entry("a", 1, owner: alive), entry("b", 1, owner: dead), entry("c", 1)])
        let removed = l.expire(now: 110, timeout: 900) { $0 == alive }
        XCTAssertEqual(removed.map(\.domain), ["b"])
        XCTAssertEqual(l.entries.map(\.domain), ["a", "c"])
    }

    func testExpire_asksOncePerOwner() {
        let daemon = ProcessRef(pid: 10, startTicks: 1), gone = ProcessRef(pid: 11, startTicks: 2)
        var l = Ledger(entries: [entry("a", 1, owner: daemon), entry("b", 1, owner: gone), entry("c", 1, owner: daemon),
                                 entry("d", 1, owner: gone), entry("e", 1, owner: daemon)])
        var asked: [ProcessRef] = []
        let removed = l.expire(now: 110, timeout: 900) { asked.append($0); return $0 == daemon }
        XCTAssertEqual(asked, [daemon, gone])
        XCTAssertEqual(removed.map(\.domain), ["b", "d"])
        XCTAssertEqual(l.entries.map(\.domain), ["a", "c", "e"])
    }

    func testExpire_removesReservationsOlderThanTheTimeout() {
        var l = Ledger(entries: [entry("old", 1, since: 100), entry("edge", 1, since: 200), entry("new", 1, since: 900)])
        let removed = l.expire(now: 1100, timeout: 900) { _ in true }
        XCTAssertEqual(removed.map(\.domain), ["old"])
        XCTAssertEqual(l.entries.map(\.domain), ["edge", "new"])
    }

    func testExpire_neverRemovesStartedEntries() {
        let dead = ProcessRef(pid: 11, startTicks: 2)
        var l = Ledger(entries: [entry("run", 1, state: .started, since: 0, owner: dead)])
        XCTAssertEqual(l.expire(now: 1_000_000, timeout: 1) { _ in false }, [])
        XCTAssertEqual(l.entries.count, 1)
    }

    func testProcessRef_textRoundTrip() {
        XCTAssertEqual(ProcessRef("1021:455"), ProcessRef(pid: 1021, startTicks: 455))
        XCTAssertEqual(ProcessRef(pid: 1021, startTicks: 455).description, "1021:455")
        XCTAssertNil(ProcessRef("1021"))
        XCTAssertNil(ProcessRef("a:b"))
    }
}
