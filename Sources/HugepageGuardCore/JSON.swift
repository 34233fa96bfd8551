/// A small JSON value for our outputs, so the core needs no Foundation.
public indirect enum JSON: Equatable, Sendable {
    case null, bool(Bool), int(Int64), uint(UInt64), string(String), array([JSON]), object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

    /// Compact rendering, keys in the order given.
    public func rendered() -> String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .string(let s): return JSON.quote(s)
        case .array(let a): return "[" + a.map { $0.rendered() }.joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSON.quote($0.0) + ":" + $0.1.rendered() }.joined(separator: ",") + "}"
        }
    }

    /// Logfmt's quoting escapes a superset of what JSON must, in JSON's own syntax.
    static func quote(_ s: String) -> String { Logfmt.quoted(s) }
}
