@testable import HugepageGuardCore
import XCTest

final class LedgerCodecTests: XCTestCase {
    private func roundTrip(_ ledger: Ledger, file: StaticString = #filePath, line: UInt = #line) {
        let text = LedgerCodec.encode(ledger)
        do { let decoded = try LedgerCodec.decode(text); XCTAssertEqual(decoded, ledger, file: file, line: line) } catch {
            XCTFail("\(error) decoding:\n\(text)", file: file, line: line)
        }
    }

    private func entry(_ domain: String, items: [DemandItem], uuid: String? = nil, owner: ProcessRef? = nil,
                       state: LedgerEntry.State = .reserved) -> LedgerEntry {
        LedgerEntry(domain: domain, uuid: uuid, state: state, operation: "migrate", since: 812, owner: owner, items: items)
    }

    func testRoundTrip_entriesWithEveryField() {
        roundTrip(Ledger(entries: [
            entry("web1", items: [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 1]), pages: 48),
                                  DemandItem(pageSizeKiB: 1_048_576, hostNodes: nil, pages: 1)],
                  uuid: "c7a5fdbd-cdaf-9455-926a-d65c16db1809", owner: ProcessRef(pid: 1021, startTicks: 455)),
            entry("db", items: [], state: .started),
        ], refusals: 7))
    }

    func testRoundTrip_emptyLedger() {
        roundTrip(Ledger())
        XCTAssertEqual(try LedgerCodec.decode(""), Ledger())
    }

    func testRoundTrip_domainNamesWithSpacesQuotesEqualsAndNewlines() {
        for name in ["my vm", "q\"uote", "a=b", "back\\slash", "two\nlines", "tab\there", "ünïcødé", "\u{2028}sep", "#hash", "refusals"] {
            roundTrip(Ledger(entries: [entry(name, items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 1)])]))
        }
    }

    func testRoundTrip_domainNameStartingWithACombiningMark() {
        roundTrip(Ledger(entries: [entry("\u{301}vm", items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 1)])]))
    }

    func testRoundTrip_strictDemandOnNonContiguousNodes() {
        // numatune nodeset='0,2' is common on 4-node hosts.
        roundTrip(Ledger(entries: [entry("web1", items: [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 2]), pages: 48)])]))
    }

    func testEncode_aNameCannotForgeAnotherLine() throws {
        let evil = "x\ndomain=victim state=reserved op=prepare since=1 demand=2048@*:9999"
        let text = LedgerCodec.encode(Ledger(entries: [entry(evil, items: [])]))
        XCTAssertEqual(text.split(separator: "\n").count, 3, text)
        let decoded = try LedgerCodec.decode(text)
        XCTAssertEqual(decoded.entries.map(\.domain), [evil])
    }

    func testDecode_garbageLine_reportsItsLineNumber() {
        let text = LedgerCodec.header + "\nrefusals=0\nthis is not logfmt\n"
        XCTAssertThrowsError(try LedgerCodec.decode(text)) { XCTAssertEqual(($0 as? LedgerError)?.line, 3) }
    }

    func testDecode_badFields_reportTheLineAndWhy() {
        let cases = [
            "domain=a state=running since=1 demand=-": "state",
            "domain=a state=reserved since=soon demand=-": "since",
            "domain=a state=reserved since=1 demand=2048:1": "demand",
            "domain=a state=reserved since=1 owner=12 demand=-": "owner",
            "state=reserved since=1 demand=-": "domain",
            "refusals=many": "refusals",
        ]
        for (line, word) in cases {
            let text = LedgerCodec.header + "\n\n" + line + "\n"
            XCTAssertThrowsError(try LedgerCodec.decode(text), line) {
                let e = $0 as? LedgerError
                XCTAssertEqual(e?.line, 3, line)
                XCTAssertTrue(e?.reason.contains(word) == true, "\(String(describing: e)) for \(line)")
            }
        }
    }

    func testDecode_withoutHeader_isCorruptAtLineOne() {
        XCTAssertThrowsError(try LedgerCodec.decode("refusals=0\n")) { XCTAssertEqual(($0 as? LedgerError)?.line, 1) }
        XCTAssertThrowsError(try LedgerCodec.decode("\0\0\0")) { XCTAssertNotNil($0 as? LedgerError) }
    }

    func testDemandItems_textForm() {
        let items = [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 1]), pages: 48),
                     DemandItem(pageSizeKiB: 1_048_576, hostNodes: nil, pages: 1)]
        XCTAssertEqual(LedgerCodec.encode(items: items), "2048@0-1:48;1048576@*:1")
        XCTAssertEqual(LedgerCodec.decode(items: "2048@0-1:48;1048576@*:1"), items)
        XCTAssertEqual(LedgerCodec.encode(items: []), "-")
        XCTAssertEqual(LedgerCodec.decode(items: "-"), [])
        XCTAssertNil(LedgerCodec.decode(items: "2048@x:1"))
    }
}

final class LedgerGrownCodecTests: XCTestCase {
    func testGrownPages_roundTrip() throws {
        var e = LedgerEntry(domain: "web1", uuid: "u", state: .started, operation: "prepare", since: 5, owner: nil,
                            items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 32)])
        e.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 30), DemandItem(pageSizeKiB: 1_048_576, hostNodes: NodeSet([1]), pages: 1)]
        let text = LedgerCodec.encode(Ledger(entries: [e]))
        XCTAssertTrue(text.contains(" grown=2048@*:30;1048576@1:1"), text)
        XCTAssertEqual(try LedgerCodec.decode(text).entries, [e])
    }

    func testAnEntryWithoutGrown_readsAsNothingGrown() throws {
        let text = LedgerCodec.header + "\nrefusals=0\ndomain=a state=reserved op=prepare since=1 demand=2048@*:4\n"
        XCTAssertEqual(try LedgerCodec.decode(text).entries.first?.grown, [])
        XCTAssertFalse(LedgerCodec.encode(try LedgerCodec.decode(text)).contains("grown="))
    }

    func testBadGrown_isAnError() {
        let text = LedgerCodec.header + "\ndomain=a state=reserved op=prepare since=1 demand=- grown=zz\n"
        XCTAssertThrowsError(try LedgerCodec.decode(text)) { XCTAssertTrue("\($0)".contains("grown"), "\($0)") }
    }
}

/// A hold of grown pages (`op=shrink`) shares the domain's identity but is never its entry.
final class LedgerGrownHoldTests: XCTestCase {
    func testHold_isNotFoundDroppedReplacedOrStartedAsTheDomainsEntry() {
        var hold = LedgerEntry(domain: "web1", uuid: nil, state: .started, operation: LedgerEntry.grownHoldOperation,
                               since: 1, owner: nil, items: [])
        hold.grown = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 4)]
        var ledger = Ledger(entries: [hold])
        let id = DomainIdentity(name: "web1", uuid: nil)
        XCTAssertNil(ledger.entry(id))
        XCTAssertNil(ledger.drop(id))
        XCTAssertFalse(ledger.markStarted(id, at: 5))
        ledger.reserve(LedgerEntry(domain: "web1", uuid: nil, state: .reserved, operation: "prepare", since: 2, owner: nil,
                                   items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 8)]))
        XCTAssertEqual(ledger.entries.count, 2, "the hold stays beside the new reservation")
        XCTAssertEqual(ledger.entry(id)?.operation, "prepare")
        XCTAssertTrue(ledger.markStarted(id, at: 5))
        XCTAssertEqual(ledger.drop(id)?.operation, "prepare")
        XCTAssertEqual(ledger.entries, [hold])
    }

    func testGrownOnSeveralNodesInOneItem_isAnError() {
        let text = LedgerCodec.header + "\ndomain=a state=started op=prepare since=1 demand=- grown=2048@0-1:4\n"
        XCTAssertThrowsError(try LedgerCodec.decode(text)) { XCTAssertTrue("\($0)".contains("grown"), "\($0)") }
    }
}
