import HugepageGuardCore
import XCTest

final class LogLineTests: XCTestCase {
    func testText_putsLevelAndEventFirstThenFieldsInOrderThenMsg() {
        var line = LogLine(.warning, .reservationExpired, [("domain", "web1"), ("op", "prepare")], message: "expired")
        line.append("age_s", 901)
        XCTAssertEqual(line.text, "level=warning event=reservation_expired domain=web1 op=prepare age_s=901 msg=expired")
        XCTAssertEqual(line["op"], "prepare")
        XCTAssertNil(line["missing"])
    }

    func testText_withoutFieldsOrMessage_isLevelAndEvent() {
        XCTAssertEqual(LogLine(.info, .agentStarting).text, "level=info event=agent_starting")
    }

    func testText_untrustedValuesAreQuoted_soTheyCannotForgeAKeyOrALine() {
        let line = LogLine(.info, .reservationReleased, [("domain", "x event=decision\nlevel=error")])
        XCTAssertFalse(line.text.contains("\n"))
        XCTAssertEqual(LogLine(parsing: Substring(line.text)), line)
    }

    /// `text` writes `pairs` as `Logfmt.line` does: the same line, whatever the values.
    func testText_isTheLogfmtLineOfItsPairs() {
        let lines = [
            LogLine(.info, .agentStarting),
            LogLine(.warning, .decision, [("domain", ""), ("op", "a b"), ("x", "\"=\\\u{202E}")], message: "two\nlines"),
            LogLine(.error, .ledgerError, [("error", "disk full")], message: ""),
        ]
        for line in lines { XCTAssertEqual(line.text, Logfmt.line(line.pairs)) }
        XCTAssertEqual(Logfmt.line([]), "")
        XCTAssertEqual(Logfmt.line([("a", "1"), ("b", "two words")]), "a=1 b=\"two words\"")
    }

    func testParsing_roundTripsAndRejectsLinesWithoutLevelAndEvent() {
        let line = LogLine(.error, .ledgerError, [("error", "disk full"), ("op", "started")], message: "cannot write")
        XCTAssertEqual(LogLine(parsing: Substring(line.text)), line)
        XCTAssertNil(LogLine(parsing: "event=decision level=info"))
        XCTAssertNil(LogLine(parsing: "level=info event=no_such_event"))
        XCTAssertNil(LogLine(parsing: "level=loud event=decision"))
    }
}
