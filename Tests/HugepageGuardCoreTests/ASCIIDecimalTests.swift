@testable import HugepageGuardCore
import XCTest

/// The one parser of decimal numbers in kernel counters, the ledger and the config.
final class ASCIIDecimalTests: XCTestCase {
    private func parse(_ text: String) -> ASCIIDecimal { ASCIIDecimal(Substring(text)) }

    func testDigits_areTheirValue_upToUInt64Max() {
        XCTAssertEqual(parse("0"), .value(0))
        XCTAssertEqual(parse("007"), .value(7))
        XCTAssertEqual(parse("18446744073709551615"), .value(UInt64.max))
    }

    func testPastUInt64Max_isTooLarge_onlyWhenEveryByteIsADigit() {
        XCTAssertEqual(parse("18446744073709551616"), .tooLarge)
        XCTAssertEqual(parse("99999999999999999999999999"), .tooLarge)
        XCTAssertEqual(parse("99999999999999999999999999x"), .invalid, "a number that overflows and then isn't one")
        XCTAssertNil(parse("18446744073709551616").value)
    }

    func testAnythingButDigits_isInvalid() {
        for text in ["", " 1", "1 ", "+1", "-1", "1_000", "0x10", "1.5", "١"] {
            XCTAssertEqual(parse(text), .invalid, "'\(text)'")
        }
    }

    func testCallersAllowWhatTheirFormatHasAroundTheDigits() {
        // A sysfs counter ends in a newline; the config takes digits alone; the ledger reads
        // its numbers as Swift's UInt64(text) and Int64(text) do, a sign included.
        XCTAssertEqual(PoolText.count(" 42\n"), 42)
        XCTAssertNil(PoolText.count("+42\n"))
        XCTAssertNil(PoolText.count("18446744073709551616\n"))
        XCTAssertEqual(ASCIIDecimal(Substring("+12")), .invalid)
        for text in ["42", "+42", "-0", "-1", "", "+", "-", "+-1", "00018446744073709551615", "18446744073709551616"] {
            XCTAssertEqual(LedgerCodec.parseUnsigned(text), UInt64(text), "'\(text)'")
            XCTAssertEqual(LedgerCodec.parseSigned(text), Int64(text), "'\(text)'")
        }
        XCTAssertEqual(LedgerCodec.parseSigned("-9223372036854775808"), Int64.min)
        XCTAssertEqual(LedgerCodec.parseSigned("9223372036854775807"), Int64.max)
        XCTAssertNil(LedgerCodec.parseSigned("9223372036854775808"))
        XCTAssertNil(LedgerCodec.parseSigned("-9223372036854775809"))
        XCTAssertNil(LedgerCodec.parseSigned("--1"))
        XCTAssertEqual(ASCIIDecimal(Substring("12")), .value(12))
    }
}
