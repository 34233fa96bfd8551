/// One log line as the hook and the agent write it: a level, an event, then fields in the
/// order an admin reads them, and optionally a constant human message last:
///
///     level=warning event=decision op=prepare decision=refuse domain=big … msg="…"
///
/// `text` renders it as logfmt, so every value (a domain name, an error) is quoted and
/// escaped and can never end the line or forge a key.
public struct LogLine: Sendable, Equatable, CustomStringConvertible {
    public var level: LogLevel
    public var event: LogEvent
    /// Key/value pairs after `level=` and `event=`, in order. Keys are the program's own
    /// constants (snake_case, no spaces or `=`); `level`, `event` and `msg` are reserved.
    public var fields: [(key: String, value: String)]
    /// A constant human sentence, rendered last as `msg=`; nil for none.
    public var message: String?

    public init(_ level: LogLevel, _ event: LogEvent, _ fields: [(String, String)] = [], message: String? = nil) {
        self.level = level
        self.event = event
        self.fields = fields.map { (key: $0.0, value: $0.1) }
        self.message = message
    }

    /// Appends one field.
    public mutating func append(_ key: String, _ value: String) {
        fields.append((key: key, value: value))
    }

    /// Appends one field whose value is a number.
    public mutating func append<N: BinaryInteger>(_ key: String, _ value: N) {
        fields.append((key: key, value: String(value)))
    }

    /// The value of the first field named `key`.
    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// Every pair in the order written, `level` and `event` first and `msg` last.
    public var pairs: [(String, String)] {
        var out: [(String, String)] = [("level", level.rawValue), ("event", event.rawValue)]
        out += fields.map { ($0.key, $0.value) }
        if let message { out.append(("msg", message)) }
        return out
    }

    /// The line as logfmt, without a line end.
    public var text: String { Logfmt.line(pairs) }

    public var description: String { text }

    public static func == (a: LogLine, b: LogLine) -> Bool {
        a.level == b.level && a.event == b.event && a.message == b.message
            && a.fields.map { $0.key } == b.fields.map { $0.key } && a.fields.map { $0.value } == b.fields.map { $0.value }
    }

    /// Reads a line back (tests, tools): nil unless it is logfmt that starts with a known
    /// `level=` and `event=`.
    public init?(parsing text: Substring) {
        guard let pairs = Logfmt.parse(text), pairs.count >= 2, pairs[0].0 == "level", pairs[1].0 == "event",
              let level = LogLevel(rawValue: pairs[0].1), let event = LogEvent(rawValue: pairs[1].1) else { return nil }
        var rest = Array(pairs.dropFirst(2))
        var message: String?
        if let last = rest.last, last.0 == "msg" { message = last.1; rest.removeLast() }
        self.init(level, event, rest, message: message)
    }
}
