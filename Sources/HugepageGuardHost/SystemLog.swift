import Glibc
import HugepageGuardCore

/// The system log (journald or syslog via /dev/log). libvirt discards a successful hook's
/// output, so this is where every decision is recorded.
public struct SystemLog: Sendable {
    /// Also append lines here (tests set `HUGEPAGE_GUARD_LOG_FILE`; libvirt's clean
    /// environment keeps it from the real hook).
    let copyPath: String?

    public init(identifier: StaticString, copyPath: String? = nil) {
        openlog(UnsafeRawPointer(identifier.utf8Start).assumingMemoryBound(to: CChar.self), LOG_PID, LOG_DAEMON)
        self.copyPath = copyPath
    }

    /// Writes one line at the syslog priority its level gives.
    public func write(_ line: LogLine) {
        let text = line.text
        // The line is its own format, every `%` doubled, so that the argument list is empty:
        // passing it through `%s` costs the runtime's CVarArg casts, more than the rest of the
        // logging. Like `%s`, the format ends at a NUL.
        var format: [CChar] = []
        format.reserveCapacity(text.utf8.count + 9)
        for b in text.utf8 {
            format.append(CChar(bitPattern: b))
            if b == UInt8(ascii: "%") { format.append(CChar(bitPattern: b)) }
        }
        format.append(0)
        format.withUnsafeBufferPointer { f in withVaList([]) { vsyslog(line.level.syslogPriority, f.baseAddress!, $0) } }
        if let copyPath {
            let fd = open(copyPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return }
            try? FileSystem.writeAll(fd: fd, Array((text + "\n").utf8), path: copyPath)
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
