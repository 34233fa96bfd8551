import HugepageGuardCore
import HugepageGuardHost
import Logging

/// Renders each log record as one logfmt line and writes it with a single write(2), so the
/// journal (or a pipe) gets whole lines at once: `level=info event=started domain=web1 … msg="…"`.
/// Metadata keys are emitted in the order of the `fields` metadata value when given, then
/// alphabetically; every value goes through `Logfmt`, so untrusted text can't forge a line.
public struct LogfmtLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = { StandardStream.output($0) }) {
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: Logging.LogEvent) {
        render(level: event.level, message: event.message, metadata: event.metadata)
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        render(level: level, message: message, metadata: explicit)
    }

    private func render(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?) {
        var pairs: [(String, String)] = [("level", level == .warning ? "warning" : level.rawValue)]
        var merged = self.metadata
        for (k, v) in explicit ?? [:] { merged[k] = v }
        var order: [String] = []
        if case let .array(keys)? = merged.removeValue(forKey: LogfmtLogHandler.orderKey) {
            order = keys.map { "\($0)" }
        }
        for k in order { if let v = merged.removeValue(forKey: k) { pairs.append((k, "\(v)")) } }
        for k in merged.keys.sorted() { pairs.append((k, "\(merged[k]!)")) }
        let msg = message.description
        if !msg.isEmpty { pairs.append(("msg", msg)) }
        write(Logfmt.line(pairs) + "\n")
    }

    /// The metadata key holding the field order (not printed).
    public static let orderKey = "_order"
}

extension Logger {
    /// Logs ordered logfmt fields with a constant message.
    public func fields(_ level: Logger.Level, _ fields: [(String, String)], _ message: Logger.Message = "") {
        var md: Logger.Metadata = [LogfmtLogHandler.orderKey: .array(fields.map { .string($0.0) })]
        for (k, v) in fields { md[k] = .string(v) }
        log(level: level, message, metadata: md)
    }
}
