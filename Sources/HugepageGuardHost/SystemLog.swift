#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// The system log (journald or syslog via /dev/log). libvirt discards a successful hook's
/// output, so this is where every decision is recorded.
///
/// A line goes to the log socket as one datagram, `<priority>identifier[pid]: line`, the
/// RFC 3164 form without its timestamp: journald and rsyslog stamp a local message with the
/// time they receive it (rsyslog's imuxsock ignores a sent timestamp by default). Leaving it
/// out spares the hook glibc's syslog(3), which loads the time zone and formats through
/// printf on every exec. If the datagram can't be sent (no socket, a stream socket, a full
/// queue), the line goes through syslog(3), which knows every other arrangement.
public struct SystemLog: Sendable {
    let identifier: StaticString
    /// The log socket; tests point it elsewhere.
    let socketPath: String
    /// Also append lines here (tests set `HUGEPAGE_GUARD_LOG_FILE`; libvirt's clean
    /// environment keeps it from the real hook).
    let copyPath: String?

    public init(identifier: StaticString, socketPath: String = "/dev/log", copyPath: String? = nil) {
        self.identifier = identifier
        self.socketPath = socketPath
        self.copyPath = copyPath
    }

    /// Writes one line at the syslog priority its level gives.
    public func write(_ line: LogLine) {
        let text = line.text
        if !send(text, priority: line.level.syslogPriority) {
            // The identifier is set only here: a hook whose datagram went out never calls into syslog(3).
            openlog(UnsafeRawPointer(identifier.utf8Start).assumingMemoryBound(to: CChar.self), LOG_PID, LOG_DAEMON)
            #if hasFeature(Embedded)
            hg_syslog(line.level.syslogPriority, text)
            #else
            // The line is its own format, every `%` doubled, so that the argument list is
            // empty: passing it through `%s` costs the runtime's CVarArg casts. Like `%s`, the
            // format ends at a NUL.
            var format: [CChar] = []
            format.reserveCapacity(text.utf8.count + 9)
            for b in text.utf8 {
                format.append(CChar(bitPattern: b))
                if b == UInt8(ascii: "%") { format.append(CChar(bitPattern: b)) }
            }
            format.append(0)
            format.withUnsafeBufferPointer { f in withVaList([]) { vsyslog(line.level.syslogPriority, f.baseAddress!, $0) } }
            #endif
        }
        if let copyPath {
            let fd = open(copyPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return }
            try? FileSystem.writeAll(fd: fd, Array((text + "\n").utf8), path: copyPath)
            close(fd)
        }
    }

    /// The datagram for `text`: `<facility|priority>identifier[pid]: text`.
    private func datagram(_ text: String, priority: Int32, pid: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + identifier.utf8CodeUnitCount + 24)
        bytes.append(UInt8(ascii: "<"))
        bytes += String(LOG_DAEMON | priority).utf8
        bytes.append(UInt8(ascii: ">"))
        bytes += UnsafeBufferPointer(start: identifier.utf8Start, count: identifier.utf8CodeUnitCount)
        bytes.append(UInt8(ascii: "["))
        bytes += String(pid).utf8
        bytes += "]: ".utf8
        bytes += text.utf8
        return bytes
    }

    /// Sends `text` to the log socket as one datagram; false if it wasn't sent whole.
    private func send(_ text: String, priority: Int32) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = socketPath.utf8
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = datagram(text, priority: priority, pid: getpid())
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), $0,
                           socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return sent == bytes.count
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
