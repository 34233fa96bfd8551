import CLibvirt
import Glibc

/// A libvirt failure, copied from the failing thread's last error right after the call.
public struct LibvirtError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libvirt's `virErrorNumber` (`VIR_ERR_*`).
    public var code: Int32
    /// libvirt's `virErrorDomain` (`VIR_FROM_*`): which part of libvirt raised it.
    public var domain: Int32
    /// libvirt's own message, e.g. "Domain not found: no domain with matching name 'x'".
    public var message: String
    /// The C function that failed.
    public var function: String

    public init(code: Int32, domain: Int32, message: String, function: String) {
        self.code = code; self.domain = domain; self.message = message; self.function = function
    }

    public var description: String { "\(function): \(message)" }

    /// libvirtd is unreachable or the connection broke: worth a reconnect.
    public var isConnectionLost: Bool {
        [VIR_ERR_NO_CONNECT, VIR_ERR_INVALID_CONN, VIR_ERR_SYSTEM_ERROR, VIR_ERR_RPC]
            .contains { $0.rawValue == code }
    }

    /// The domain went away between listing it and asking about it.
    public var isNoDomain: Bool { code == VIR_ERR_NO_DOMAIN.rawValue }

    /// Copies this thread's last error (`virCopyLastError`) and clears it (`virResetError`).
    /// Call it immediately after the failing call, with no `await` in between.
    static func last(_ function: String) -> LibvirtError {
        var err = virError()
        let got = virCopyLastError(&err)
        defer { virResetError(&err) }
        guard got > 0 else {
            return LibvirtError(code: -1, domain: 0, message: "\(function) failed without a libvirt error", function: function)
        }
        let message = err.message.map { String(cString: $0) } ?? "unknown libvirt error"
        return LibvirtError(code: err.code, domain: err.domain, message: message, function: function)
    }
}

/// The process-wide setup every libvirt client of ours needs, done once, before the first
/// connection or event loop:
/// - libvirt's default error printer is silenced (`virSetErrorFunc`): every error is already
///   captured into a `LibvirtError` and reported by the caller, once;
/// - SIGPIPE is ignored: libvirt writes to its sockets with write(2), and when libvirtd goes
///   away mid-write the kernel raises SIGPIPE, whose default action kills us silently.
///   libvirt expects clients to ignore it (virsh does) and handles the EPIPE itself.
enum LibvirtProcess {
    private static let done: Void = {
        virSetErrorFunc(nil, { _, _ in })
        signal(SIGPIPE, SIG_IGN)
    }()

    static func setUp() { done }
}
