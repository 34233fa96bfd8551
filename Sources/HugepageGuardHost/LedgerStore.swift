#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// How the ledger file was found when it was opened.
public enum LedgerLoad: Equatable, Sendable {
    /// It was there and well-formed.
    case loaded
    /// There was no file yet (first start since boot, or someone removed it).
    case missing
    /// It could not be used: not a regular file, too large, or not a well-formed ledger. It
    /// has been moved aside to `quarantinedTo` (nothing is lost) and the operation sees an
    /// empty ledger. In-flight reservations it held are unknown.
    case corrupt(quarantinedTo: String, error: LedgerError)
}

public enum LedgerStoreError: Error, CustomStringConvertible {
    case io(HostError)
    case unsafeDirectory(StateDirectory.Unsafe)
    case lockTimeout(path: String, seconds: Int)
    case corrupt(path: String, error: LedgerError)

    public var description: String {
        switch self {
        case .io(let e): return e.description
        case .unsafeDirectory(let e): return e.description
        case let .lockTimeout(path, seconds): return "\(path): still locked by another process after \(seconds) s"
        case let .corrupt(path, error): return "\(path) can't be used: \(error)"
        }
    }
}

/// The reservation ledger under the state dir, guarded by `flock` on a separate lock file
/// so that the data file can be replaced atomically by rename. Both are opened relative to
/// the state directory's descriptor, never through a link, and must be regular files.
public struct LedgerStore: Sendable {
    public let directory: String
    public static let ledgerName = "ledger"
    public static let lockName = "ledger.lock"
    public var ledgerPath: String { directory + "/" + Self.ledgerName }
    public var lockPath: String { directory + "/" + Self.lockName }
    /// How long to wait for the lock before giving up. Holders only do a few file
    /// operations, so waiting long means something is wrong.
    public var lockTimeoutSeconds = 30

    public init(directory: String) { self.directory = directory }

    /// Runs `body` with the ledger under an exclusive lock, and writes it back if `body`
    /// changed it. A throwing `body` leaves the file as it was.
    public func withLock<T>(_ body: (inout Ledger, LedgerLoad) throws(LedgerStoreError) -> T) throws(LedgerStoreError) -> T {
        try withLock { (ledger: inout Ledger, load: LedgerLoad, _: DirectoryHandle) throws(LedgerStoreError) in try body(&ledger, load) }
    }

    /// The same, with the state directory as this store holds it open (checked by
    /// `StateDirectory`), for whatever else `body` keeps there.
    public func withLock<T>(_ body: (inout Ledger, LedgerLoad, DirectoryHandle) throws(LedgerStoreError) -> T)
        throws(LedgerStoreError) -> T {
        guard let dir = try StateDirectory.open(directory, create: true) else {
            throw .io(HostError(path: directory, errno: ENOENT))
        }
        let fd = try lock(dir, exclusive: true)
        defer { close(fd) }  // closing the descriptor releases the flock
        var load = LedgerLoad.loaded
        var ledger = Ledger()
        switch try readLedger(dir) {
        case .none:
            load = .missing
        case .some(.success(let found)):
            ledger = found
        case .some(.failure(let error)):
            // Boot time and pid: a second bad file can never overwrite the first one set aside.
            let aside = Self.ledgerName + ".corrupt.\(BootClock.now()).\(getpid())"
            do { try dir.rename(Self.ledgerName, to: aside) } catch { throw .io(error) }
            load = .corrupt(quarantinedTo: dir.path(aside), error: error)
        }
        let before = ledger
        let result = try body(&ledger, load, dir)
        if ledger != before || load != .loaded {
            do { try dir.writeAtomically(name: Self.ledgerName, bytes: Array(LedgerCodec.encode(ledger).utf8)) } catch {
                throw .io(error)
            }
        }
        return result
    }

    /// The ledger as it is now, under a shared lock. A missing file is an empty ledger; a
    /// corrupt one is an error (readers don't repair).
    public func read() throws(LedgerStoreError) -> Ledger {
        guard let dir = try StateDirectory.open(directory, create: false) else { return Ledger() }
        let fd = try lock(dir, exclusive: false)
        defer { close(fd) }
        switch try readLedger(dir) {
        case .none: return Ledger()
        case .some(.success(let ledger)): return ledger
        case .some(.failure(let error)): throw .corrupt(path: ledgerPath, error: error)
        }
    }

    /// The ledger file: nil if there is none; a failure if it is there but can't be used
    /// (a link, a FIFO, a device, too large, not text, not a ledger). Only an error of the
    /// system itself (EIO, EACCES) is thrown.
    private func readLedger(_ dir: DirectoryHandle) throws(LedgerStoreError) -> Result<Ledger, LedgerError>? {
        let text: String?
        do { text = try dir.read(Self.ledgerName, limit: ReadLimit.ledger) } catch {
            if error.code != 0 && error.code != ELOOP { throw .io(error) }
            return .failure(LedgerError(line: 0, reason: error.reason))
        }
        guard let text else { return nil }
        do { return .success(try LedgerCodec.decode(text)) } catch { return .failure(error) }
    }

    private func lock(_ dir: DirectoryHandle, exclusive: Bool) throws(LedgerStoreError) -> Int32 {
        let fd: Int32
        do { fd = try dir.openLockFile(Self.lockName) } catch { throw .io(error) }
        let op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
        var waitedMs = 0
        while flock(fd, op) != 0 {
            let e = errno
            guard e == EWOULDBLOCK || e == EINTR else {
                close(fd)
                throw .io(HostError(path: lockPath, errno: e))
            }
            if waitedMs >= lockTimeoutSeconds * 1000 {
                close(fd)
                throw .lockTimeout(path: lockPath, seconds: lockTimeoutSeconds)
            }
            usleep(2_000)
            waitedMs += 2
        }
        return fd
    }
}
