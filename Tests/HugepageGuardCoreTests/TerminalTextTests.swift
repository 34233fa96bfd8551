@testable import HugepageGuardCore
import XCTest

final class TerminalTextTests: XCTestCase {
    /// Every character that can break a line, drive a terminal, or reorder or hide text.
    static let hostile: [Unicode.Scalar] = [
        "\n", "\r", "\t", "\u{0}", "\u{7}", "\u{8}", "\u{1b}", "\u{7f}", "\u{80}", "\u{85}", "\u{9b}", "\u{9f}",
        "\u{2028}", "\u{2029}", "\u{202a}", "\u{202b}", "\u{202c}", "\u{202d}", "\u{202e}",
        "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}", "\u{200e}", "\u{200f}", "\u{61c}",
        "\u{200b}", "\u{feff}", "\u{ad}", "\u{e0001}", "\u{e007f}",
    ]

    func testEscaped_printableTextIsLeftAsItIs() {
        for text in ["web1", "my vm 'x' \\n", "ünï cødé 日本語 🧠", ""] {
            XCTAssertEqual(TerminalText.escaped(text), text)
        }
    }

    func testEscaped_everyLineBreakControlBidiAndInvisibleCharacter_isEscaped() {
        for s in Self.hostile {
            let out = TerminalText.escaped("a\(Character(s))b")
            XCTAssertFalse(out.unicodeScalars.contains(s), "U+\(String(s.value, radix: 16)) left raw: \(out.debugDescription)")
            XCTAssertTrue(out.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f }, out.debugDescription)
            XCTAssertTrue(out.hasPrefix("a\\") && out.hasSuffix("b"), out)
        }
    }

    func testEscaped_spellings() {
        XCTAssertEqual(TerminalText.escaped("a\nb\rc\td"), "a\\nb\\rc\\td")
        XCTAssertEqual(TerminalText.escaped("\u{1b}[2J"), "\\u001B[2J")
        XCTAssertEqual(TerminalText.escaped("web1\u{202e}cod.exe"), "web1\\u202Ecod.exe")
        XCTAssertEqual(TerminalText.escaped("x\u{85}y\u{2028}"), "x\\u0085y\\u2028")
        XCTAssertEqual(TerminalText.escaped("tag\u{e0041}"), "tag\\u{E0041}")
    }

    func testEscaped_twice_changesNothing() {
        let text = "a\n\u{202e}\u{1b}[31m\\u0041"
        XCTAssertEqual(TerminalText.escaped(TerminalText.escaped(text)), TerminalText.escaped(text))
    }

    func testLogfmt_quotesAndEscapesTheSameCharacters_andRoundTrips() {
        for s in Self.hostile {
            let value = "web1\(Character(s))x"
            let rendered = Logfmt.value(value)
            XCTAssertFalse(rendered.unicodeScalars.contains(s), "U+\(String(s.value, radix: 16)) raw in \(rendered.debugDescription)")
            XCTAssertEqual(Logfmt.parse(Substring("k=\(rendered)"))?.first?.1, value, rendered)
        }
    }
}
