#if hasFeature(Embedded)
import CSystem
#else
import Glibc
#endif

/// The state directory (`state_dir`, default /run/hugepage-guard), where the hook keeps
/// its ledger as root. Anyone who can write into it could plant links or files there, so
/// it must be root's own and writable by nobody else.
public enum StateDirectory {
    /// Why a state directory is refused.
    public struct Unsafe: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String {
            "the state directory \(path) \(reason), so the guard refuses to use it "
                + "(make it root's with mode 0700: 'chown root:root \(path) && chmod 0700 \(path)')"
        }
    }

    /// Opens `path`, creating it with mode 0700 (and missing parents with 0755) when
    /// `create` is true; nil if it is missing and `create` is false. A symbolic link, a
    /// directory owned by another user, or one writable by group or others is refused.
    public static func open(_ path: String, create: Bool) throws(LedgerStoreError) -> DirectoryHandle? {
        let dir: DirectoryHandle
        do { dir = try DirectoryHandle(path: path) } catch {
            if error.code == ENOENT {
                // Created only when missing: an existing directory costs no mkdir calls.
                guard create else { return nil }
                do { try FileSystem.makeDirectories(path, mode: 0o700) } catch { throw .io(error) }
                return try open(path, create: false)
            }
            if error.code == 0 { throw .unsafeDirectory(Unsafe(path: path, reason: error.reason)) }
            throw .io(error)
        }
        let st: stat
        do { st = try dir.status() } catch { throw .io(error) }
        if let reason = unsafeReason(owner: st.st_uid, mode: st.st_mode) { throw .unsafeDirectory(Unsafe(path: path, reason: reason)) }
        return dir
    }

    /// Why a directory with this owner and mode is unsafe, or nil. Root's is safe; so is the
    /// current user's own, which lets an unprivileged process keep a private state dir.
    static func unsafeReason(owner: uid_t, mode: mode_t) -> String? {
        if owner != 0 && owner != geteuid() { return "is owned by uid \(owner), not root" }
        let writable = mode & (S_IWGRP | S_IWOTH)
        if writable != 0 {
            let who = writable == S_IWGRP ? "its group" : writable == S_IWOTH ? "others" : "its group and others"
            return "is writable by \(who) (mode \(String(mode & 0o7777, radix: 8)))"
        }
        return nil
    }
}
