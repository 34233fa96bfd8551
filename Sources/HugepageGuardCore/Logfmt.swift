/// logfmt: `key=value` pairs on one line. Values with spaces, quotes, `=` or control
/// characters are quoted and escaped, so untrusted text (a domain name) can never end
/// the line or forge another key.
public enum Logfmt {
    public static func line(_ fields: KeyValuePairs<String, String>) -> String {
        line(fields.map { ($0.key, $0.value) })
    }

    public static func line(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0)=\(value($0.1))" }.joined(separator: " ")
    }

    public static func value(_ v: String) -> String {
        let needsQuotes = v.isEmpty || v.unicodeScalars.contains {
            $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7f
                || ($0.value >= 0x80 && $0.properties.generalCategory == .control)
                || $0 == "\u{2028}" || $0 == "\u{2029}"
        }
        guard needsQuotes else { return v }
        var out = "\""
        for s in v.unicodeScalars {
            switch s {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if s.value < 0x20 || s.value == 0x7f || s.properties.generalCategory == .control
                    || s == "\u{2028}" || s == "\u{2029}" {
                    let hex = String(s.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out + "\""
    }

    /// Splits a logfmt line into its pairs; nil if it isn't one.
    public static func parse(_ line: Substring) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        var i = line.startIndex
        func skipSpaces() { while i < line.endIndex, line[i] == " " { i = line.index(after: i) } }
        skipSpaces()
        while i < line.endIndex {
            let keyStart = i
            while i < line.endIndex, line[i] != "=", line[i] != " " { i = line.index(after: i) }
            guard i < line.endIndex, line[i] == "=", i > keyStart else { return nil }
            let key = String(line[keyStart..<i])
            i = line.index(after: i)
            var value = ""
            if i < line.endIndex, line[i] == "\"" {
                i = line.index(after: i)
                var closed = false
                while i < line.endIndex {
                    let c = line[i]
                    if c == "\"" { closed = true; i = line.index(after: i); break }
                    if c == "\\" {
                        i = line.index(after: i)
                        guard i < line.endIndex else { return nil }
                        switch line[i] {
                        case "n": value.append("\n")
                        case "r": value.append("\r")
                        case "t": value.append("\t")
                        case "u":
                            let hexStart = line.index(after: i)
                            guard let hexEnd = line.index(hexStart, offsetBy: 4, limitedBy: line.endIndex),
                                  let code = UInt32(line[hexStart..<hexEnd], radix: 16),
                                  let scalar = Unicode.Scalar(code) else { return nil }
                            value.unicodeScalars.append(scalar)
                            i = line.index(before: hexEnd)
                        default: value.append(line[i])
                        }
                    } else {
                        value.append(c)
                    }
                    i = line.index(after: i)
                }
                guard closed else { return nil }
            } else {
                let start = i
                while i < line.endIndex, line[i] != " " { i = line.index(after: i) }
                value = String(line[start..<i])
            }
            pairs.append((key, value))
            guard i == line.endIndex || line[i] == " " else { return nil }
            skipSpaces()
        }
        return pairs
    }
}
