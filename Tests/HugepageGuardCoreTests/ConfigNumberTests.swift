@testable import HugepageGuardCore
import XCTest

/// Every number in the config is plain decimal digits within a stated range; every key has
/// one canonical spelling; what the file holds is never printed raw.
final class ConfigNumberTests: XCTestCase {
    private func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do { _ = try GuardConfig.parse(text, source: "test.conf"); XCTFail("expected an error for \(text.debugDescription)", file: file, line: line); return nil }
        catch { return error }
    }

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> GuardConfig? {
        do { return try GuardConfig.parse(text, source: "test.conf") } catch {
            XCTFail("unexpected: \(error)", file: file, line: line); return nil
        }
    }

    func testPageSizeThatOverflows_isAConfigErrorNamingTheKey() {
        // 17592186044416 GiB is 2^64 KiB.
        for key in ["reserve.17592186044416G", "reserve.18014398509481984M", "reserve.99999999999999999999999K",
                    "reserve.17592186044416G.node0"] {
            guard let e = error("policy = warn\n\(key) = 1\n") else { continue }
            XCTAssertEqual(e.line, 2, key)
            XCTAssertTrue("\(e)".contains("test.conf line 2") && e.message.contains("'\(key)'") && e.message.contains("too large"), "\(e)")
        }
        XCTAssertNil(GuardConfig.parsePageSize("17592186044416G"))
        XCTAssertEqual(GuardConfig.parsePageSize("8589934592G"), 1 << 53, "the largest sizes that fit are still read exactly")
    }

    func testPageSizeThatIsNotAPowerOfTwo_isAnError() {
        for key in ["reserve.3M", "reserve.1536K", "reserve.3G.node0"] {
            XCTAssertTrue(error("\(key) = 1")?.message.contains("powers of two") == true, key)
        }
    }

    func testPagesPast2To64_areOutOfRange_andTheLargestValueIsRead() {
        let e = error("reserve.2M = 18446744073709551616\n")
        XCTAssertTrue(e?.message.contains("out of range") == true && e?.message.contains("18446744073709551616") == true, "\(String(describing: e))")
        XCTAssertEqual(parse("reserve.2M = 18446744073709551615")?.reserves.first?.pages, .max)
    }

    func testSecondsOutOfRange_areErrors() {
        for value in ["0", "2147483648", "9223372036854775808", "99999999999999999999999"] {
            for key in ["reservation_timeout", "agent.reconcile_interval"] {
                XCTAssertTrue(error("\(key) = \(value)")?.message.contains("from 1 to 2147483647") == true, "\(key) = \(value)")
            }
        }
        XCTAssertEqual(parse("reservation_timeout = 2147483647")?.reservationTimeout, 2_147_483_647)
    }

    func testSignsSpacesAndOtherDigits_areNotNumbers() {
        for text in ["reserve.2M.node+0 = 1", "reserve.2M.node-0 = 1", "reserve.+2M = 1", "reserve.2M = +5", "reserve.2M = -0",
                     "reserve.2M = 1_000", "reserve.2M = 0x10", "reserve.2M = 1 000", "reservation_timeout = +5",
                     "agent.reconcile_interval = 6e1", "reserve.2M = \u{FF15}", "reserve.\u{FF12}M = 1",
                     "reserve.2M.node\u{0661} = 1", "reserve.2M.node 0 = 1"] {
            XCTAssertNotNil(error(text), text)
        }
    }

    func testNodeNumbers_areCheckedAgainstTheKernelsLimit() {
        XCTAssertEqual(parse("reserve.2M.node1023 = 1")?.reserves.first?.node, 1023)
        for node in ["1024", "9223372036854775808", "99999999999999999999999"] {
            XCTAssertTrue(error("reserve.2M.node\(node) = 1")?.message.contains("from 0 to 1023") == true, node)
        }
    }

    func testNodeWithLeadingZeros_isTheSameKey_soASecondSpellingIsADuplicate() {
        let e = error("reserve.2M.node0 = 4\nreserve.2M.node00 = 8\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssertTrue(e?.message.contains("'reserve.2M.node00' is set twice (first on line 1") == true, "\(String(describing: e))")
        XCTAssertEqual(parse("reserve.2M.node007 = 4")?.reserves, [HostReserve(pageSizeKiB: 2048, node: 7, pages: 4)])
    }

    func testPageSizeInAnotherSpelling_isADuplicate() {
        for (a, b) in [("reserve.2M", "reserve.2048K"), ("reserve.1G.node1", "reserve.1048576kB.node01"),
                       ("reserve.2MiB", "reserve.2m"), ("reserve.2M", "reserve.02M")] {
            let e = error("\(a) = 1\n\(b) = 2\n")
            XCTAssertEqual(e?.line, 2, "\(a) / \(b)")
            XCTAssertTrue(e?.message.contains("another spelling") == true, "\(String(describing: e))")
        }
        XCTAssertEqual(parse("reserve.2M = 1\nreserve.2M.node0 = 2\nreserve.1G = 3\n")?.reserves.count, 3)
    }

    func testLeadingByteOrderMark_isAccepted() {
        XCTAssertEqual(parse("\u{FEFF}policy = warn\nreserve.2M = 2\n")?.policy, .warn)
        XCTAssertEqual(parse("\u{FEFF}")?.policy, .enforce)
    }

    func testInvisibleAndControlCharacters_areEscapedInErrors() {
        for (text, shown) in [("\u{FEFF}\u{FEFF}policy = warn", "\\uFEFF"), ("pol\u{200B}icy = warn", "pol\\u200Bicy"),
                              ("policy = warn\u{202E}", "warn\\u202E"), ("policy = w\u{1b}[2Jarn", "w\\u001B[2Jarn"),
                              ("reserve.2M = 1\u{85}2", "1\\u00852"), ("state_\u{2028}dir = /x", "state_\\u2028dir")] {
            guard let e = error(text) else { continue }
            for rendered in [e.message, "\(e)"] {
                XCTAssertTrue(rendered.contains(shown), "\(rendered.debugDescription) should show \(shown)")
                XCTAssertFalse(rendered.unicodeScalars.contains { TerminalText.mustEscape($0) }, rendered.debugDescription)
            }
        }
        let path = ConfigError(source: "/etc/hg\n.conf", line: 0, message: "cannot be read")
        XCTAssertEqual("\(path)", "/etc/hg\\n.conf: cannot be read")
    }

    func testKnownKeys_listsEverySettingAndTheReserveForms() {
        XCTAssertEqual(GuardConfig.knownKeys, ["policy", "reserve.<size>", "reserve.<size>.node<N>", "state_dir",
                                               "reservation_timeout", "agent.reconcile_interval", "agent.metrics_path",
                                               "pool.grow", "pool.grow.min_available", "pool.shrink",
                                               "pool.grow.max.<size>", "pool.grow.max.<size>.node<N>"])
    }

    func testLinesBuiltFromHostilePieces_parseOrFailWithALineNumber_neverTrap() {
        // A fixed pseudo-random sequence (SplitMix64), so a failure reproduces.
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        let keys = ["reserve.", "2M", "17592186044416G", "18446744073709551616", "node", "node00", "node+1", ".", "policy",
                    "reservation_timeout", "=", " ", "#", "\u{FEFF}", "\u{202E}", "\r", "G", "kB", "0", "-", "9223372036854775808"]
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<(1 + next() % 4) {
                for _ in 0..<(1 + next() % 8) { text += keys[Int(next() % UInt64(keys.count))] }
                text += "\n"
            }
            do { _ = try GuardConfig.parse(text, source: "t.conf") } catch {
                XCTAssertGreaterThan(error.line, 0, text.debugDescription)
                XCTAssertFalse("\(error)".unicodeScalars.contains { TerminalText.mustEscape($0) }, text.debugDescription)
            }
        }
    }
}
