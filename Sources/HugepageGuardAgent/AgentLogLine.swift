import HugepageGuardCore
import Logging

/// One agent log line: its level, its `event=` name (always a `LogEvent`), the fields in the
/// order an admin reads them, and a constant message. Pure; `Logger.log(_:)` writes it.
public struct AgentLogLine: Sendable {
    public var level: HugepageGuardCore.LogLevel
    public var event: HugepageGuardCore.LogEvent
    /// The `<event>_cleared` line that says a condition went away.
    public var cleared: Bool
    public var fields: [(String, String)]
    public var message: String

    public init(_ level: HugepageGuardCore.LogLevel, _ event: HugepageGuardCore.LogEvent, _ fields: [(String, String)] = [], cleared: Bool = false,
                message: String = "") {
        self.level = level; self.event = event; self.cleared = cleared; self.fields = fields; self.message = message
    }

    /// The name printed after `event=`.
    public var eventName: String { event.rawValue + (cleared ? "_cleared" : "") }

    /// `event` first, then the fields: what the line prints before `msg=`.
    public var pairs: [(String, String)] { [("event", eventName)] + fields }
}

extension Logger {
    /// Writes one agent line through the logfmt handler.
    public func log(_ line: AgentLogLine) {
        let level: Logger.Level = switch line.level {
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
        fields(level, line.pairs, Logger.Message(stringLiteral: line.message))
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
