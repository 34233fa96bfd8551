#if hasFeature(Embedded)
import CSystem
#else
import Glibc
#endif

/// A directory held open by descriptor. Every file in it is opened relative to that
/// descriptor (`openat`) with O_NOFOLLOW, so a link planted in the directory is never
/// followed, and only regular files are ever read or locked.
public final class DirectoryHandle {
    public let path: String
    public let fd: Int32

    /// Opens `path`; with `followLink` false, a symbolic link in its last component is
    /// refused (O_NOFOLLOW). Throws ENOENT's HostError when it doesn't exist.
    public init(path: String, followLink: Bool = false) throws(HostError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followLink ? 0 : O_NOFOLLOW))
        if fd < 0 {
            let e = errno
            if e == ELOOP || e == ENOTDIR {
                var st = stat()
                if lstat(path, &st) == 0 { throw HostError(path: path, reason: "is \(FileKind(st.st_mode)), not a directory") }
            }
            throw HostError(path: path, errno: e)
        }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    public func path(_ name: String) -> String { path + "/" + name }

    /// The directory's own status.
    public func status() throws(HostError) -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw HostError(path: path, errno: errno) }
        return st
    }

    /// Whether `name` exists; anything but a regular file (a link, a FIFO, a device) is an
    /// error naming it. Looked at before opening, so a device is never opened at all.
    func existingRegularFile(_ name: String) throws(HostError) -> Bool {
        var st = stat()
        if fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { return false }
            throw HostError(path: path(name), errno: errno)
        }
        try requireRegular(st, name)
        return true
    }

    private func requireRegular(_ st: stat, _ name: String) throws(HostError) {
        guard FileKind(st.st_mode) == .regular else {
            throw HostError(path: path(name), reason: "is \(FileKind(st.st_mode)), not a regular file; refusing to use it")
        }
    }

    /// A regular file opened here, with its size when it was opened.
    private struct Opened { var fd: Int32; var size: Int }

    /// Opens `name` with O_NOFOLLOW and O_NONBLOCK (a FIFO that appears between the check
    /// and the open can't block us) and makes sure, on the descriptor, that it is a
    /// regular file.
    private func openRegular(_ name: String, flags: Int32, mode: mode_t = 0) throws(HostError) -> Opened? {
        let fd = openat(self.fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode)
        if fd < 0 {
            let e = errno
            if e == ENOENT && flags & O_CREAT == 0 { return nil }
            if e == ELOOP { throw HostError(path: path(name), reason: "is a symbolic link; refusing to follow it") }
            throw HostError(path: path(name), errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let e = errno; close(fd); throw HostError(path: path(name), errno: e) }
        do { try requireRegular(st, name) } catch { close(fd); throw error }
        return Opened(fd: fd, size: Int(clamping: st.st_size))
    }

    /// A regular file's content, or nil if there is none; at most `limit` bytes.
    public func read(_ name: String, limit: Int) throws(HostError) -> String? {
        guard try existingRegularFile(name), let file = try openRegular(name, flags: O_RDONLY) else { return nil }
        defer { close(file.fd) }
        return try FileSystem.readText(fd: file.fd, path: path(name), limit: limit, expectedSize: file.size)
    }

    /// `name` opened for reading and writing, created (mode 0600) if missing: a lock file.
    /// The caller closes the descriptor.
    public func openLockFile(_ name: String) throws(HostError) -> Int32 {
        _ = try existingRegularFile(name)
        guard let file = try openRegular(name, flags: O_RDWR | O_CREAT, mode: 0o600) else {
            throw HostError(path: path(name), errno: ENOENT)  // O_CREAT: not reached
        }
        return file.fd
    }

    /// Replaces `name` atomically: `name.tmp.<pid>` is created new (O_EXCL, so never
    /// through a planted link or over another file), written, fsync'd and renamed over it.
    public func writeAtomically(name: String, bytes: [UInt8], mode: mode_t = 0o644) throws(HostError) {
        let tmp = name + ".tmp.\(getpid())"
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY
        var fd = openat(self.fd, tmp, flags, mode)
        if fd < 0 && errno == EEXIST {
            // Left by a crashed process that had our pid. unlinkat removes the name itself,
            // never what a link points at.
            unlinkat(self.fd, tmp, 0)
            fd = openat(self.fd, tmp, flags, mode)
        }
        if fd < 0 { throw HostError(path: path(tmp), errno: errno) }
        do throws(HostError) {
            try FileSystem.writeAll(fd: fd, bytes, path: path(tmp))
            if fsync(fd) != 0 { throw HostError(path: path(tmp), errno: errno) }
        } catch {
            close(fd); unlinkat(self.fd, tmp, 0)
            throw error
        }
        close(fd)
        if renameat(self.fd, tmp, self.fd, name) != 0 {
            let e = errno
            unlinkat(self.fd, tmp, 0)
            throw HostError(path: path(name), errno: e)
        }
    }

    /// Renames `from` to `to`, both in this directory.
    public func rename(_ from: String, to: String) throws(HostError) {
        if renameat(fd, from, fd, to) != 0 { throw HostError(path: path(from), errno: errno) }
    }
}
