/// logfmt: `key=value` pairs on one line. Values with spaces, quotes, `=` or control
/// characters are quoted and escaped, so untrusted text (a domain name) can never end
/// the line or forge another key.
public enum Logfmt {
    public static func line(_ fields: KeyValuePairs<String, String>) -> String {
        line(fields.map { ($0.key, $0.value) })
    }

    public static func line(_ fields: [(String, String)]) -> String {
        var out = ""
        for (key, value) in fields { append(key, value, to: &out) }
        return out
    }

    /// Appends the pair `key=value` to the line `out`, after a space unless it is the first.
    public static func append(_ key: String, _ value: String, to out: inout String) {
        if !out.isEmpty { out += " " }
        out += key
        out += "="
        out += Self.value(value)
    }

    public static func value(_ v: String) -> String {
        // Most values are plain ASCII words: check bytes first, scalars only if needed.
        func isPlain(_ b: UInt8) -> Bool {
            b > 0x20 && b < 0x7f && b != UInt8(ascii: "=") && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\")
        }
        let plain = !v.isEmpty && (v.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(isPlain) } ?? v.utf8.allSatisfy(isPlain))
        if plain { return v }
        let needsQuotes = v.isEmpty || v.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || isUnprintable($0) }
        return needsQuotes ? quoted(v) : v
    }

    /// Characters that must never appear raw: they could end or fake a line, move the
    /// cursor, or reorder or hide what follows (bidi controls, zero-width characters).
    static func isUnprintable(_ s: Unicode.Scalar) -> Bool { TerminalText.mustEscape(s) }

    /// `v` in double quotes with `"`, `\\` and unprintable characters escaped. The result is
    /// also a valid JSON string, so JSON uses it too.
    static func quoted(_ v: String) -> String {
        var out = "\""
        for s in v.unicodeScalars {
            switch s {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if isUnprintable(s) {
                    // Beyond U+FFFF (tag characters are format characters) as a UTF-16
                    // surrogate pair, as JSON spells it.
                    for unit in String(s).utf16 {
                        let hex = String(unit, radix: 16)
                        out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                    }
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out + "\""
    }

    /// Splits a logfmt line into its pairs; nil if it isn't one.
    public static func parse(_ line: Substring) -> [(String, String)]? {
        if let result = line.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0) }) { return result }
        return Array(line.utf8).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    /// The parser, on UTF-8 bytes: every delimiter is ASCII, so no Character work is needed.
    static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        let ok = scan(bytes: b) { key, value in
            pairs.append((String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return ok ? pairs : nil
    }

    /// Walks a logfmt line's pairs without building them: `visit` gets each key's bytes and
    /// its value's bytes (unescaped when quoted), valid only during the call. Returns false,
    /// possibly after some visits, if the line isn't logfmt.
    static func scan(bytes b: UnsafeBufferPointer<UInt8>,
                     _ visit: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        let space = UInt8(ascii: " "), equals = UInt8(ascii: "="), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var i = 0
        func skipSpaces() { while i < b.count, b[i] == space { i += 1 } }
        skipSpaces()
        while i < b.count {
            let keyStart = i
            while i < b.count, b[i] != equals, b[i] != space { i += 1 }
            guard i < b.count, b[i] == equals, i > keyStart else { return false }
            let key = UnsafeBufferPointer(rebasing: b[keyStart..<i])
            i += 1
            if i < b.count, b[i] == quote {
                var value: [UInt8] = []
                i += 1
                var closed = false
                while i < b.count {
                    let c = b[i]
                    if c == quote { closed = true; i += 1; break }
                    if c == backslash {
                        i += 1
                        guard i < b.count else { return false }
                        switch b[i] {
                        case UInt8(ascii: "n"): value.append(0x0a)
                        case UInt8(ascii: "r"): value.append(0x0d)
                        case UInt8(ascii: "t"): value.append(0x09)
                        case UInt8(ascii: "u"):
                            // `i` is at the `u`; the four hex digits follow.
                            func hex4(at u: Int) -> UInt32? {
                                guard u + 4 < b.count else { return nil }
                                let digits = UnsafeBufferPointer(rebasing: b[(u + 1)...(u + 4)])
                                guard digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66) }) else { return nil }
                                return UInt32(String(decoding: digits, as: UTF8.self), radix: 16)
                            }
                            guard var code = hex4(at: i) else { return false }
                            i += 4
                            if code >= 0xD800 && code < 0xDC00 {
                                // A high surrogate: its low half must follow as `\uDCxx`.
                                guard i + 2 < b.count, b[i + 1] == backslash, b[i + 2] == UInt8(ascii: "u"),
                                      let low = hex4(at: i + 2), low >= 0xDC00 && low < 0xE000 else { return false }
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                                i += 6
                            }
                            guard let scalar = Unicode.Scalar(code) else { return false }
                            value.append(contentsOf: String(Character(scalar)).utf8)
                        default: value.append(b[i])
                        }
                    } else {
                        value.append(c)
                    }
                    i += 1
                }
                guard closed else { return false }
                value.withUnsafeBufferPointer { visit(key, $0) }
            } else {
                let start = i
                i = b.firstIndex(of: space, or: space, from: i)
                visit(key, UnsafeBufferPointer(rebasing: b[start..<i]))
            }
            guard i == b.count || b[i] == space else { return false }
            skipSpaces()
        }
        return true
    }
}
