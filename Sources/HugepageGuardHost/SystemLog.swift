#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HugepageGuardCore

/// The system log (journald or syslog via /dev/log). libvirt discards a successful hook's
/// output, so this is where every decision is recorded.
public struct SystemLog: Sendable {
    /// A line's level, which gives its syslog priority.
    public typealias Level = LogLevel

    /// Also append lines here (tests set `HUGEPAGE_GUARD_LOG_FILE`; libvirt's clean
    /// environment keeps it from the real hook).
    let copyPath: String?

    public init(identifier: StaticString, copyPath: String? = nil) {
        openlog(UnsafeRawPointer(identifier.utf8Start).assumingMemoryBound(to: CChar.self), LOG_PID, LOG_DAEMON)
        self.copyPath = copyPath
    }

    /// Writes one line, at the priority its level gives.
    public func write(_ line: LogLine) {
        write(line.text, level: line.level)
    }

    /// Writes one line at the priority its own level gives; `level` is ignored. Kept only
    /// while callers move to `write(_:)`.
    @available(*, deprecated, message: "use write(_:), which takes the priority from the line's level")
    public func write(_ line: LogLine, level: Level) {
        write(line)
    }

    /// Writes text that is already one logfmt line.
    public func write(_ line: String, level: Level) {
        // The line is its own format, every `%` doubled, so that the argument list is empty:
        // passing it through `%s` costs the runtime's CVarArg casts, more than the rest of the
        // logging. Like `%s`, the format ends at a NUL.
        var format: [CChar] = []
        format.reserveCapacity(line.utf8.count + 9)
        for b in line.utf8 {
            format.append(CChar(bitPattern: b))
            if b == UInt8(ascii: "%") { format.append(CChar(bitPattern: b)) }
        }
        format.append(0)
        format.withUnsafeBufferPointer { f in withVaList([]) { vsyslog(level.syslogPriority, f.baseAddress!, $0) } }
        if let copyPath {
            let fd = open(copyPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return }
            try? FileSystem.writeAll(fd: fd, Array((line + "\n").utf8), path: copyPath)
            close(fd)
        }
    }
}

extension LogLevel {
    /// The syslog priority of a line at this level.
    public var syslogPriority: Int32 {
        switch self {
        case .info: return LOG_INFO
        case .warning: return LOG_WARNING
        case .error: return LOG_ERR
        }
    }
}
