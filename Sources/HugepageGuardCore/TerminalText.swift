/// Text from outside (a domain name, an XML value, a config line, an error carrying any of
/// them) made safe for a terminal, stderr or a one-line message.
///
/// libvirt shows a refusing hook's stderr inside its own error message, and an admin reads
/// it in a terminal. A raw newline, carriage return, NEL (U+0085), line or paragraph
/// separator (U+2028, U+2029) would make one message look like several; an ESC sequence
/// could move the cursor or recolour the screen; a bidi control (U+202A-U+202E,
/// U+2066-U+2069, U+200E, U+200F, U+061C) reorders what follows it, so `web1<U+202E>…` can
/// display as a different name; and invisible format characters (a byte-order mark, a
/// zero-width space) hide in plain sight. Every such character is written as an escape.
public enum TerminalText {
    /// Whether `scalar` must never reach a terminal or log line raw: every control
    /// character (C0, DEL, C1, NEL), every format character (bidi controls, zero-width
    /// characters, the BOM, tag characters) and the line and paragraph separators.
    public static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x20 || v == 0x7f { return true }
        if v < 0x80 { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// `text` with every character `mustEscape` names written as `\n`, `\r`, `\t`, `\uXXXX`
    /// (four hex digits) or `\u{XXXXX}` (beyond U+FFFF). Everything else, backslashes
    /// included, is left as it is, so the result is always one line and escaping it again
    /// changes nothing.
    public static func escaped(_ text: String) -> String {
        // Nearly all text is printable ASCII: check bytes first.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for s in text.unicodeScalars {
            guard mustEscape(s) else { out.unicodeScalars.append(s); continue }
            switch s {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(s.value, radix: 16, uppercase: true)
                out += s.value > 0xFFFF ? "\\u{\(hex)}" : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out
    }
}
