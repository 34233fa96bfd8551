import Glibc
import HugepageGuardHost

/// Writes the metrics file atomically (temporary file, then rename), so node-exporter never
/// reads half of it. Writes only when the file's directory exists: a host without
/// node-exporter's textfile directory gets no file.
public struct MetricsWriter: Sendable {
    public var path: String
    public init(path: String) { self.path = path }

    /// The directory the file goes in.
    public var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// False when the directory doesn't exist (nothing written).
    @discardableResult
    public func write(_ metrics: Metrics) throws(HostError) -> Bool {
        var st = stat()
        guard stat(directory, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return false }
        try FileSystem.writeAtomically(metrics.text, to: path)
        return true
    }
}
