@testable import HugepageGuardCore
import XCTest

final class LogfmtTests: XCTestCase {
    func testValue_plainTextIsLeftBare() {
        XCTAssertEqual(Logfmt.line(["event": "started", "domain": "web1", "pages_2M": "512"]),
                       "event=started domain=web1 pages_2M=512")
    }

    func testValue_spacesEqualsQuotesAndBackslashesAreQuoted() {
        XCTAssertEqual(Logfmt.value("my vm"), "\"my vm\"")
        XCTAssertEqual(Logfmt.value("a=b"), "\"a=b\"")
        XCTAssertEqual(Logfmt.value("say \"hi\""), "\"say \\\"hi\\\"\"")
        XCTAssertEqual(Logfmt.value("c:\\x"), "\"c:\\\\x\"")
        XCTAssertEqual(Logfmt.value(""), "\"\"")
    }

    func testValue_controlCharactersAndLineSeparatorsAreEscaped() {
        XCTAssertEqual(Logfmt.value("a\nb"), "\"a\\nb\"")
        XCTAssertEqual(Logfmt.value("a\rb\tc"), "\"a\\rb\\tc\"")
        XCTAssertEqual(Logfmt.value("a\u{1}b\u{7f}"), "\"a\\u0001b\\u007f\"")
        XCTAssertEqual(Logfmt.value("a\u{85}b"), "\"a\\u0085b\"")
        XCTAssertEqual(Logfmt.value("a\u{2028}b\u{2029}"), "\"a\\u2028b\\u2029\"")
        for v in ["a\nb", "a\u{2028}b", "x\u{85}", "y\u{0}"] {
            let rendered = Logfmt.value(v)
            XCTAssertFalse(rendered.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{2028}" || $0 == "\u{85}" }, rendered)
        }
    }

    func testParse_roundTripsEveryKindOfValue() {
        let values = ["plain", "my vm", "a=b", "\"", "\\", "\\n", "a\nb", "\r\n", "\u{0}", "\u{7f}", "\u{85}",
                      "\u{2028}\u{2029}", "ünï cødé", "日本語", "emoji 🧠", "", " lead", "trail ", "x\\u0041"]
        for v in values {
            let line = Logfmt.line([("k", v), ("next", "1")])
            guard let pairs = Logfmt.parse(Substring(line)) else { XCTFail("unparsable: \(line)"); continue }
            XCTAssertEqual(pairs.map(\.0), ["k", "next"], line)
            XCTAssertEqual(pairs.first?.1, v, line)
        }
    }

    func testParse_valueStartingWithACombiningMark_roundTrips() {
        for v in ["\u{301}x", "\u{301}x y", "\u{200D}"] {
            let line = Logfmt.line([("domain", v), ("state", "reserved")])
            let pairs = Logfmt.parse(Substring(line))
            XCTAssertEqual(pairs?.map(\.0), ["domain", "state"], line.debugDescription)
            XCTAssertEqual(pairs?.first?.1, v, line.debugDescription)
        }
    }

    func testLine_aNameCannotInjectAKey() {
        let name = "web1 state=started\" decision=admit"
        let line = Logfmt.line([("domain", name), ("decision", "refuse")])
        let pairs = Logfmt.parse(Substring(line))
        XCTAssertEqual(pairs?.map(\.0), ["domain", "decision"])
        XCTAssertEqual(pairs?.last?.1, "refuse")
        XCTAssertEqual(pairs?.first?.1, name)
    }

    func testParse_rejectsBrokenLines() {
        for bad in ["novalue", "k=\"unterminated", "k=\"bad\\", "=v", "k=\"x\"y", "k=\"\\u12\""] {
            XCTAssertNil(Logfmt.parse(Substring(bad)), bad)
        }
        XCTAssertEqual(Logfmt.parse("")?.count, 0)
    }
}

final class JSONStringTests: XCTestCase {
    func testJSONString_withQuotesControlsAndLineSeparators_parsesBackToTheSameText() throws {
        let tricky = "web\"1\\\n\t\u{1}\u{7f}\u{85}\u{2028}é🙂\u{202e}\u{feff}\u{e0001}"
        let rendered = JSON.object([("domain", .string(tricky))]).rendered()
        XCTAssertFalse(rendered.contains("\n"), rendered)
        XCTAssertTrue(rendered.contains("\\udb40\\udc01"), "beyond U+FFFF as a surrogate pair: \(rendered)")
        let parsed = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: String]
        XCTAssertEqual(parsed?["domain"], tricky)
    }
}
