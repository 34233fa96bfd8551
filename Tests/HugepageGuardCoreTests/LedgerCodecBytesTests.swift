@testable import HugepageGuardCore
import XCTest

/// The codec reads and writes bytes directly; these pin it to the format's rules where a
/// byte-level shortcut could drift from them.
final class LedgerCodecBytesTests: XCTestCase {
    private let header = LedgerCodec.header + "\n"

    private func decode(_ body: String) throws(LedgerError) -> Ledger { try LedgerCodec.decode(header + body) }

    private func decodeError(_ body: String) -> LedgerError? {
        do { _ = try decode(body); return nil } catch { return error }
    }

    func testNumbers_readAsSwiftReadsThem() throws {
        // A sign, and the largest values, go through the same rules as plain digits.
        let ledger = try decode("refusals=+18446744073709551615\n"
                                + "domain=a state=reserved since=-9223372036854775808 demand=+1@*:+0\n"
                                + "domain=b state=reserved since=+9223372036854775807 demand=1@*:18446744073709551615\n")
        XCTAssertEqual(ledger.refusals, UInt64.max)
        XCTAssertEqual(ledger.entries.map(\.since), [Int64.min, Int64.max])
        XCTAssertEqual(ledger.entries.map { $0.items.map(\.pages) }, [[0], [UInt64.max]])
        XCTAssertEqual(decodeError("refusals=18446744073709551616\n")?.reason, "refusals '18446744073709551616' is not a number")
        XCTAssertEqual(decodeError("domain=a state=reserved since=9223372036854775808 demand=-\n")?.reason, "since is not a number")
        XCTAssertEqual(decodeError("domain=a state=reserved since=1 demand=2048@*:-1\n")?.reason, "demand is not size@nodes:pages;…")
        XCTAssertEqual(decodeError("domain=a state=reserved since= demand=-\n")?.reason, "since is not a number")
    }

    func testRepeatedKeys_theLastWins_andUnknownKeysAreSkipped() throws {
        let ledger = try decode("domain=a domain=b colour=red state=started state=reserved since=1 since=2 demand=2048@*:1 demand=-\n")
        XCTAssertEqual(ledger.entries, [LedgerEntry(domain: "b", uuid: nil, state: .reserved, operation: "prepare", since: 2,
                                                    owner: nil, items: [])])
        // `refusals` counts only alone on its line.
        XCTAssertEqual(decodeError("refusals=1 refusals=2\n")?.reason, "no domain")
        XCTAssertEqual(decodeError("refusals=1 colour=red\n")?.reason, "no domain")
    }

    func testQuotedValues_areUnescaped() throws {
        let ledger = try decode(#"domain="a b\"c\u00e9\n" uuid="x" state="reserved" op="migrate" since="5" demand="2048@0-1:2""# + "\n")
        XCTAssertEqual(ledger.entries.first?.domain, "a b\"cé\n")
        XCTAssertEqual(ledger.entries.first?.operation, "migrate")
        XCTAssertEqual(ledger.entries.first?.since, 5)
        XCTAssertEqual(ledger.entries.first?.items, [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 1]), pages: 2)])
    }

    func testLineNumbers_countBlankLinesAndComments() {
        XCTAssertEqual(decodeError("\n# note\n\nnot logfmt\n")?.line, 5)
    }

    func testAHashWithACombiningMark_isNotAComment() {
        // "#\u{301}" is one Character, not "#": the line is data, and not a ledger line.
        XCTAssertEqual(decodeError("#\u{301}x=1\n")?.reason, "no domain")
        XCTAssertNotNil(try? decode("# any comment\n"))
    }

    func testNodeSets_inEveryFormNodeSetReads() throws {
        // What the encoder writes, and forms only NodeSet's own parser reads.
        let forms = ["0", "0-3,5,7-8", "3,1", "1-1", "0,0", "0-4095", " 1 - 2 , 4", "0-3,^2", "1,", "007"]
        for form in forms {
            let items = LedgerCodec.decode(items: "2048@\(form):1")
            XCTAssertEqual(items?.first?.hostNodes, NodeSet.parse(form), form)
        }
        for bad in ["", "4096", "2-1", "1,,2", ",1", "-1", "1-", "a", "0-4096"] {
            XCTAssertNil(LedgerCodec.decode(items: "2048@\(bad):1"), bad)
        }
    }

    func testEncode_writesWhatDescriptionsWrite() {
        let items = [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 1, 2, 5, 7, 8, 4095]), pages: 0),
                     DemandItem(pageSizeKiB: UInt64.max, hostNodes: nil, pages: UInt64.max)]
        XCTAssertEqual(LedgerCodec.encode(items: items), "2048@0-2,5,7-8,4095:0;18446744073709551615@*:18446744073709551615")
        let entry = LedgerEntry(domain: "web 1", uuid: nil, state: .started, operation: "restore", since: Int64.min,
                                owner: ProcessRef(pid: -1, startTicks: UInt64.max), items: [])
        XCTAssertEqual(LedgerCodec.encode(Ledger(entries: [entry], refusals: UInt64.max)),
                       header + "refusals=18446744073709551615\n"
                       + "domain=\"web 1\" state=started op=restore since=-9223372036854775808 owner=-1:18446744073709551615 demand=-\n")
    }
}
