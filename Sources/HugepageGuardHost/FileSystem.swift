#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HugepageGuardCore

/// An I/O failure, naming the path and the system's reason.
public struct HostError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public init(path: String, errno code: Int32) { self.init(path: path, reason: String(cString: strerror(code))) }
    public var description: String { "\(path): \(reason)" }
}

/// Minimal, Foundation-free file access for the hook's hot path.
public enum FileSystem {
    /// The whole file as UTF-8 text, or nil if it doesn't exist.
    public static func readText(_ path: String) throws(HostError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw HostError(path: path, errno: errno)
        }
        defer { close(fd) }
        return try readAll(fd: fd, path: path)
    }

    /// Everything readable from `fd` until end of file.
    public static func readAll(fd: Int32, path: String) throws(HostError) -> String {
        var bytes: [UInt8] = []
        var failure: Int32 = 0
        // sysfs counters are a few bytes and domain XML a few KiB: a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16384) { chunk in
            while true {
                let n = read(fd, chunk.baseAddress, chunk.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { return }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<n]))
            }
        }
        if failure != 0 { throw HostError(path: path, errno: failure) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Names in a directory (without . and ..), or nil if it doesn't exist.
    public static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes `text` to `path` atomically: a temporary file in the same directory, fsync'd,
    /// then renamed over the target.
    public static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644) throws(HostError) {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 { throw HostError(path: tmp, errno: errno) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd); unlink(tmp)
                throw HostError(path: tmp, errno: e)
            }
            offset += n
        }
        if fsync(fd) != 0 { let e = errno; close(fd); unlink(tmp); throw HostError(path: tmp, errno: e) }
        close(fd)
        if rename(tmp, path) != 0 { let e = errno; unlink(tmp); throw HostError(path: path, errno: e) }
    }

    /// Creates a directory and its parents (mode 0755) if missing.
    public static func makeDirectories(_ path: String) throws(HostError) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw HostError(path: current, errno: errno) }
        }
    }
}

/// Seconds since boot, which don't jump with the wall clock. /run is emptied at boot, so
/// this is a sound clock for state kept there.
public enum BootClock {
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec)
    }
}

/// Processes, identified robustly against pid reuse.
public enum ProcessTable {
    /// The process `pid` with its start time, from `<procRoot>/proc/<pid>/stat`.
    public static func ref(pid: Int32, procRoot: String = "/proc") -> ProcessRef? {
        guard let stat = try? FileSystem.readText("\(procRoot)/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces and parentheses): state is 3rd.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = UInt64(fields[19]) else { return nil }
        return ProcessRef(pid: pid, startTicks: start)
    }

    /// The libvirt daemon (libvirtd or virtqemud) among the ancestors of this process: the
    /// owner of a start. An admin's wrapper script between it and the hook is skipped.
    public static func libvirtDaemonAncestor(procRoot: String = "/proc") -> ProcessRef? {
        var pid = getppid()
        for _ in 0..<8 where pid > 1 {
            guard let stat = try? FileSystem.readText("\(procRoot)/\(pid)/stat"),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let comm = stat[stat.index(after: open)..<close]
            if comm == "libvirtd" || comm == "virtqemud" { return ref(pid: pid, procRoot: procRoot) }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = Int32(fields[1]) else { return nil }
            pid = parent
        }
        return nil
    }

    public static func isAlive(_ ref: ProcessRef, procRoot: String = "/proc") -> Bool {
        self.ref(pid: ref.pid, procRoot: procRoot) == ref
    }
}

/// Writes to a standard stream with write(2): unbuffered and free of stdio's globals.
public enum StandardStream {
    public static func error(_ text: String) { put(text, fd: 2) }
    public static func output(_ text: String) { put(text, fd: 1) }

    private static func put(_ text: String, fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
