#if hasFeature(Embedded)
import CSystem
#else
import Glibc
#endif

/// An I/O failure, naming the path and the system's reason.
public struct HostError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    /// The system's errno when a call failed; 0 when the file was there but refused for what
    /// it is or holds (not a regular file, too large, not UTF-8).
    public var code: Int32
    public init(path: String, reason: String) { self.path = path; self.reason = reason; self.code = 0 }
    public init(path: String, errno code: Int32) {
        self.path = path; self.reason = String(cString: strerror(code)); self.code = code
    }
    public var description: String { "\(path): \(reason)" }
}
