#if hasFeature(Embedded)
import CSystem
#else
import Glibc
#endif

/// Minimal, Foundation-free file access for the hook's hot path. Every read is capped
/// (`ReadLimit`) and every write goes through `writeAll`.
public enum FileSystem {
    /// A regular file's whole content as UTF-8 text, or nil if it doesn't exist. Anything
    /// else at `path` (a FIFO, a device, a directory) is an error naming it, found without
    /// blocking: the file is opened with O_NONBLOCK and checked with fstat before any read.
    /// More than `limit` bytes is an error too.
    public static func readFile(_ path: String, limit: Int) throws(HostError) -> String? {
        guard let bytes = try readFileBytes(path, limit: limit) else { return nil }
        return try text(bytes, path: path)
    }

    /// The same file's raw bytes, for parsers that work on bytes.
    public static func readFileBytes(_ path: String, limit: Int) throws(HostError) -> [UInt8]? {
        try readFileWithStatus(path, limit: limit)?.bytes
    }

    /// A file's bytes with its status: `fstat` of the descriptor they were read from.
    public struct Contents {
        public var bytes: [UInt8]
        public var status: stat
    }

    /// The same file's raw bytes, with its status.
    public static func readFileWithStatus(_ path: String, limit: Int) throws(HostError) -> Contents? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw HostError(path: path, errno: errno)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw HostError(path: path, errno: errno) }
        guard FileKind(st.st_mode) == .regular else {
            throw HostError(path: path, reason: "is \(FileKind(st.st_mode)), not a regular file")
        }
        return Contents(bytes: try readAll(fd: fd, path: path, limit: limit, expectedSize: Int(clamping: st.st_size)), status: st)
    }

    /// Any readable file as UTF-8 text, including a pipe such as `/dev/stdin`, or nil if it
    /// doesn't exist; at most `limit` bytes. For files a person names (`check --xml`), not
    /// for the hook's own inputs, which use `readFile`.
    public static func readText(_ path: String, limit: Int = ReadLimit.domainXML) throws(HostError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw HostError(path: path, errno: errno)
        }
        defer { close(fd) }
        return try text(readAll(fd: fd, path: path, limit: limit), path: path)
    }

    /// Everything readable from `fd` until end of file, as UTF-8 text, at most `limit` bytes.
    /// `expectedSize`: as for `readAll`.
    public static func readText(fd: Int32, path: String, limit: Int, expectedSize: Int = 0) throws(HostError) -> String {
        try text(readAll(fd: fd, path: path, limit: limit, expectedSize: expectedSize), path: path)
    }

    /// Everything readable from `fd` until end of file. It reads at most `limit + 1` bytes:
    /// one more than the limit means the input is too large, and that is an error naming
    /// `path`, so a `/dev/zero` can never be read until memory runs out.
    ///
    /// The bytes are read straight into the array, sized for `expectedSize` and one byte more
    /// to see the end, else for 16 KiB, which holds a domain XML or a kernel file whole; only
    /// what is longer than that is read on in chunks.
    ///
    /// `expectedSize`, when above 0, is the size `fstat` gave for `fd`, a regular file: then a
    /// read that returns less than it was asked for has reached the end of the file (only
    /// there does a regular file's read come up short), and no further read is made to see
    /// the end. Leave it 0 for anything else: a pipe, or a kernel file whose size reads 0.
    public static func readAll(fd: Int32, path: String, limit: Int, expectedSize: Int = 0) throws(HostError) -> [UInt8] {
        var failure: Int32 = 0
        /// Reads into `buffer` until it is full or the input ends; how many bytes it holds.
        func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
            var count = 0
            while count < buffer.count {
                let asked = buffer.count - count
                let n = read(fd, buffer.baseAddress! + count, asked)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                count += n
                if expectedSize > 0 && n < asked { break }
            }
            return count
        }
        let first = min(limit + 1, max(expectedSize < limit ? expectedSize + 1 : limit + 1, 16384))
        var bytes = [UInt8](unsafeUninitializedCapacity: first) { buffer, count in count = fill(buffer) }
        // A full buffer means there may be more (a file that grew, a pipe longer than 16 KiB):
        // the rest in chunks, until the input ends or passes the limit.
        var full = bytes.count == first
        while failure == 0 && full && bytes.count <= limit {
            let wanted = min(16384, limit + 1 - bytes.count)
            let chunk = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, count in count = fill(buffer) }
            bytes += chunk
            full = chunk.count == wanted
        }
        if failure != 0 { throw HostError(path: path, errno: failure) }
        if bytes.count > limit {
            throw HostError(path: path, reason: "larger than \(ReadLimit.describe(limit)); refusing to read more")
        }
        return bytes
    }

    /// `bytes` as a String; invalid UTF-8 is an error naming `path`, never silently replaced.
    static func text(_ bytes: [UInt8], path: String) throws(HostError) -> String {
        // Decoding replaces each invalid sequence with U+FFFD, so the text holds exactly the
        // bytes read only when they were valid UTF-8. (Decoding is the stdlib's direct path
        // for an array of bytes; `String(validating:as:)` goes through a generic one, which
        // costs every hook run a type lookup by name and more.)
        var text = String(decoding: bytes, as: UTF8.self)
        let valid = text.withUTF8 { decoded in
            decoded.count == bytes.count
                && bytes.withUnsafeBytes { raw in decoded.isEmpty || memcmp(decoded.baseAddress!, raw.baseAddress!, decoded.count) == 0 }
        }
        guard valid else { throw HostError(path: path, reason: "is not valid UTF-8 text") }
        return text
    }

    /// Writes all of `bytes` to `fd`, retrying after EINTR and short writes. Every write
    /// the guard makes goes through here.
    public static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(HostError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError(path: path, errno: errno)
            }
            if n == 0 { throw HostError(path: path, reason: "write(2) wrote nothing") }
            offset += n
        }
    }

    /// Whether `path` is a directory (after links, as `open` would find it): one `stat`.
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && FileKind(st.st_mode) == .directory
    }

    /// Names in a directory (without . and ..), or nil if it doesn't exist.
    public static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        return list(dir)
    }

    /// A directory opened for listing, whose descriptor (`fd`) also serves to open files
    /// relative to it; closed when released.
    public final class Directory {
        private let dir: OpaquePointer
        public var fd: Int32 { dirfd(dir) }
        /// nil when `path` is not a directory this process can open.
        public init?(_ path: String) {
            guard let dir = opendir(path) else { return nil }
            self.dir = dir
        }
        deinit { closedir(dir) }
        /// The names in it (without . and ..), sorted.
        public func names() -> [String] { FileSystem.entries(dir) }
    }

    /// The entries of `dir`, sorted; closes it.
    private static func list(_ dir: OpaquePointer) -> [String] {
        defer { closedir(dir) }
        return entries(dir)
    }

    /// The entries of `dir` from where its reading stands, sorted.
    private static func entries(_ dir: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes `text` to `path` atomically: a new temporary file in the same directory
    /// (O_EXCL, never through a link), fsync'd, then renamed over the target. The
    /// directory's own path may hold links; the file's name may not be one.
    public static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644) throws(HostError) {
        let slash = path.lastIndex(of: "/")
        let dirPath = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let dir = try DirectoryHandle(path: dirPath, followLink: true)
        try dir.writeAtomically(name: name, bytes: Array(text.utf8), mode: mode)
    }

    /// Creates a directory and its parents if missing: the parents with mode 0755, the
    /// last one with `mode`.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(HostError) {
        var current = ""
        let parts = path.split(separator: "/")
        for (i, part) in parts.enumerated() {
            current += "/" + part
            if mkdir(current, i == parts.count - 1 ? mode : 0o755) != 0 && errno != EEXIST {
                throw HostError(path: current, errno: errno)
            }
        }
    }
}
