@testable import HugepageGuardCore
import XCTest

/// Numbers in the ledger come from a file: none of them may trap.
final class LedgerNumberTests: XCTestCase {
    private let header = LedgerCodec.header + "\n"

    private func decodeError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> LedgerError? {
        do { _ = try LedgerCodec.decode(header + text); XCTFail("decoded", file: file, line: line); return nil } catch { return error }
    }

    func testItemsWhoseSumOverflows_areAnErrorNamingTheLine() {
        let e = decodeError("domain=a state=reserved since=1 demand=2048@*:9223372036854775808\n"
                            + "domain=b state=reserved since=1 demand=2048@*:9223372036854775808\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssertTrue(e?.reason.contains("9223372036854775808 pages") ?? false, "\(String(describing: e))")
        // Two items on one line, each fine alone.
        XCTAssertEqual(decodeError("domain=a state=reserved since=1 demand=1@*:9223372036854775808;1@*:9223372036854775808\n")?.line, 2)
    }

    func testOneItemWhoseMemoryOverflows_isAnError() {
        XCTAssertEqual(decodeError("domain=a state=reserved since=1 demand=2048@*:18446744073709551615\n")?.line, 2)
    }

    func testPageSizeZero_isAnError() {
        XCTAssertEqual(decodeError("domain=a state=reserved since=1 demand=0@*:1\n")?.line, 2)
    }

    func testLargeButCountableTotals_decode() throws {
        let l = try LedgerCodec.decode(header + "domain=a state=reserved since=1 demand=2048@*:4294967296;1048576@*:1024\n")
        XCTAssertEqual(l.entries.first?.items.map(\.pages), [4_294_967_296, 1024])
    }

    func testSinceAtTheExtremes_expiresWithoutTrapping() throws {
        let l = try LedgerCodec.decode(header + "domain=old state=reserved since=-9223372036854775808 demand=2048@*:1\n"
                                       + "domain=future state=reserved since=9223372036854775807 demand=2048@*:1\n")
        var ledger = l
        let removed = ledger.expire(now: 5000, timeout: 900) { _ in true }
        XCTAssertEqual(removed.map(\.domain), ["old", "future"], "neither has a real age, so neither is a start in progress")
        XCTAssertNil(l.entries[0].age(now: 5000))
        XCTAssertNil(l.entries[1].age(now: 5000))
        XCTAssertEqual(LedgerEntry(domain: "x", uuid: nil, state: .reserved, operation: "prepare", since: 100, owner: nil, items: [])
                        .age(now: 5000), 4900)
    }

    func testRefusalsAtTheMaximum_stayThere() throws {
        var l = try LedgerCodec.decode(header + "refusals=18446744073709551615\n")
        l.countRefusal()
        XCTAssertEqual(l.refusals, UInt64.max)
        var fresh = Ledger()
        fresh.countRefusal()
        XCTAssertEqual(fresh.refusals, 1)
    }

    func testAWholeFileError_hasNoLineNumber() {
        XCTAssertEqual("\(LedgerError(line: 0, reason: "is a FIFO"))", "is a FIFO")
        XCTAssertEqual("\(LedgerError(line: 3, reason: "no domain"))", "line 3: no domain")
    }
}
