#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HugepageGuardCore

/// How the ledger file was found when it was opened.
public enum LedgerLoad: Equatable, Sendable {
    /// It was there and well-formed.
    case loaded
    /// There was no file yet (first start since boot, or someone removed it).
    case missing
    /// It could not be parsed. It has been moved aside to `quarantinedTo` (nothing is lost)
    /// and the operation sees an empty ledger. In-flight reservations it held are unknown.
    case corrupt(quarantinedTo: String, error: LedgerError)
}

public enum LedgerStoreError: Error, CustomStringConvertible {
    case io(HostError)
    case lockTimeout(path: String, seconds: Int)
    case corrupt(path: String, error: LedgerError)

    public var description: String {
        switch self {
        case .io(let e): return e.description
        case let .lockTimeout(path, seconds): return "\(path): still locked by another process after \(seconds) s"
        case let .corrupt(path, error): return "\(path) is corrupt at \(error)"
        }
    }
}

/// The reservation ledger under the state dir, guarded by `flock` on a separate lock file
/// so that the data file can be replaced atomically by rename.
public struct LedgerStore: Sendable {
    public let directory: String
    public var ledgerPath: String { directory + "/ledger" }
    public var lockPath: String { directory + "/ledger.lock" }
    /// How long to wait for the lock before giving up. Holders only do a few file
    /// operations, so waiting long means something is wrong.
    public var lockTimeoutSeconds = 30

    public init(directory: String) { self.directory = directory }

    /// Runs `body` with the ledger under an exclusive lock, and writes it back if `body`
    /// changed it. A throwing `body` leaves the file as it was.
    public func withLock<T>(_ body: (inout Ledger, LedgerLoad) throws -> T) throws -> T {
        do { try FileSystem.makeDirectories(directory) } catch { throw LedgerStoreError.io(error) }
        let fd = try lock(exclusive: true)
        defer { close(fd) }  // closing the descriptor releases the flock
        var load = LedgerLoad.loaded
        var ledger: Ledger
        let text: String?
        do { text = try FileSystem.readText(ledgerPath) } catch { throw LedgerStoreError.io(error) }
        if let text {
            do {
                ledger = try LedgerCodec.decode(text)
            } catch {
                // Boot time and pid: a second corruption can never overwrite the first one set aside.
                let aside = ledgerPath + ".corrupt.\(BootClock.now()).\(getpid())"
                if rename(ledgerPath, aside) != 0 { throw LedgerStoreError.io(HostError(path: ledgerPath, errno: errno)) }
                load = .corrupt(quarantinedTo: aside, error: error)
                ledger = Ledger()
            }
        } else {
            load = .missing
            ledger = Ledger()
        }
        let before = ledger
        let result = try body(&ledger, load)
        if ledger != before || load != .loaded {
            do { try FileSystem.writeAtomically(LedgerCodec.encode(ledger), to: ledgerPath) } catch {
                throw LedgerStoreError.io(error)
            }
        }
        return result
    }

    /// The ledger as it is now, under a shared lock. A missing file is an empty ledger; a
    /// corrupt one is an error (readers don't repair).
    public func read() throws(LedgerStoreError) -> Ledger {
        guard FileSystem.list(directory) != nil else { return Ledger() }
        let fd = try lock(exclusive: false)
        defer { close(fd) }
        let text: String?
        do { text = try FileSystem.readText(ledgerPath) } catch { throw .io(error) }
        guard let text else { return Ledger() }
        do { return try LedgerCodec.decode(text) } catch { throw .corrupt(path: ledgerPath, error: error) }
    }

    private func lock(exclusive: Bool) throws(LedgerStoreError) -> Int32 {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw .io(HostError(path: lockPath, errno: errno)) }
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
