import Foundation
import Glibc
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The state directory is root's and nobody else's; every file in it is opened without
/// following links, and only regular files are used.
final class StateDirectoryTests: XCTestCase {
    private func entry(_ domain: String) -> LedgerEntry {
        LedgerEntry(domain: domain, uuid: nil, state: .reserved, operation: "prepare", since: 1, owner: nil,
                    items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)])
    }

    private func mode(_ path: String) -> mode_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    func testMissingDirectory_isCreatedWithMode0700() throws {
        let dir = try temporaryDirectory(self) + "/run/hugepage-guard"
        let old = umask(0)
        defer { umask(old) }
        try LedgerStore(directory: dir).withLock { ledger, _ in ledger.reserve(entry("web1")) }
        XCTAssertEqual(mode(dir), 0o700)
    }

    func testDirectoryWritableByOthers_isRefusedSayingWhy_andNothingIsWritten() throws {
        let dir = try temporaryDirectory(self) + "/state"
        XCTAssertEqual(mkdir(dir, 0o777), 0)
        XCTAssertEqual(chmod(dir, 0o777), 0)
        XCTAssertThrowsError(try LedgerStore(directory: dir).withLock { ledger, _ in ledger.reserve(entry("web1")) }) {
            let text = "\($0)"
            XCTAssertTrue(text.contains(dir) && text.contains("writable by its group and others (mode 777)"), text)
        }
        XCTAssertThrowsError(try LedgerStore(directory: dir).read())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testDirectoryWritableByItsGroup_isRefused() throws {
        let dir = try temporaryDirectory(self) + "/state"
        XCTAssertEqual(mkdir(dir, 0o770), 0)
        XCTAssertEqual(chmod(dir, 0o770), 0)
        XCTAssertThrowsError(try LedgerStore(directory: dir).withLock { _, _ in }) {
            XCTAssertTrue("\($0)".contains("writable by its group (mode 770)"), "\($0)")
        }
    }

    func testDirectoryOwnedBySomeoneElse_isRefusedNamingTheOwner() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to give a directory away")
        let dir = try temporaryDirectory(self) + "/state"
        XCTAssertEqual(mkdir(dir, 0o700), 0)
        XCTAssertEqual(chown(dir, 4242, 4242), 0)
        XCTAssertThrowsError(try LedgerStore(directory: dir).withLock { _, _ in }) {
            XCTAssertTrue("\($0)".contains("owned by uid 4242, not root"), "\($0)")
        }
    }

    func testDirectoryThatIsASymbolicLink_isRefused() throws {
        let base = try temporaryDirectory(self)
        XCTAssertEqual(mkdir(base + "/real", 0o700), 0)
        XCTAssertEqual(symlink(base + "/real", base + "/state"), 0)
        XCTAssertThrowsError(try LedgerStore(directory: base + "/state").withLock { _, _ in }) {
            XCTAssertTrue("\($0)".contains("symbolic link"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base + "/real"), [])
    }

    func testPlantedTemporaryFileLink_isNeverWrittenThrough() throws {
        let dir = try temporaryDirectory(self)
        let victim = dir + "/victim"
        try write("precious\n", to: victim)
        let store = LedgerStore(directory: dir + "/state")
        try store.withLock { _, _ in }
        XCTAssertEqual(symlink(victim, store.ledgerPath + ".tmp.\(getpid())"), 0)
        try store.withLock { ledger, _ in ledger.reserve(entry("web1")) }
        XCTAssertEqual(contents(victim), Data("precious\n".utf8))
        XCTAssertEqual(try store.read().entries.map(\.domain), ["web1"])
    }

    func testLockFileThatIsALink_isRefused_andItsTargetUntouched() throws {
        let dir = try temporaryDirectory(self)
        let victim = dir + "/victim"
        let store = LedgerStore(directory: dir + "/state")
        XCTAssertEqual(mkdir(store.directory, 0o700), 0)
        XCTAssertEqual(symlink(victim, store.lockPath), 0)
        XCTAssertThrowsError(try store.withLock { _, _ in }) {
            XCTAssertTrue("\($0)".contains(store.lockPath) && "\($0)".contains("symbolic link"), "\($0)")
        }
        XCTAssertNil(contents(victim), "the lock's link target was not created")
    }

    func testLockFileThatIsAFIFO_isRefused() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self) + "/state")
        XCTAssertEqual(mkdir(store.directory, 0o700), 0)
        XCTAssertEqual(mkfifo(store.lockPath, 0o600), 0)
        XCTAssertThrowsError(try store.withLock { _, _ in }) {
            XCTAssertTrue("\($0)".contains("is a FIFO, not a regular file"), "\($0)")
        }
    }

    func testLedgerThatIsALink_isMovedAsideAsUnusable_andItsTargetUntouched() throws {
        let dir = try temporaryDirectory(self)
        let victim = dir + "/victim"
        let text = LedgerCodec.encode(Ledger(entries: [entry("elsewhere")]))
        try write(text, to: victim)
        let store = LedgerStore(directory: dir + "/state")
        XCTAssertEqual(mkdir(store.directory, 0o700), 0)
        XCTAssertEqual(symlink(victim, store.ledgerPath), 0)
        let load = try store.withLock { ledger, load -> LedgerLoad in
            XCTAssertEqual(ledger, Ledger(), "the link's target is not read")
            return load
        }
        guard case let .corrupt(aside, error) = load else { return XCTFail("expected .corrupt, got \(load)") }
        XCTAssertTrue(error.reason.contains("symbolic link"), "\(error)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: aside), victim, "the link itself was moved aside")
        XCTAssertEqual(contents(victim), Data(text.utf8))
    }

    func testLedgerThatIsAFIFO_isMovedAsideWithoutBlocking() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self) + "/state")
        XCTAssertEqual(mkdir(store.directory, 0o700), 0)
        XCTAssertEqual(mkfifo(store.ledgerPath, 0o600), 0)
        // Should the store ever block opening the FIFO, a writer ends that block, and the
        // store then sees an empty file (.loaded), failing the assertion below.
        let path = store.ledgerPath
        Thread.detachNewThread {
            sleep(20)
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        let load = try store.withLock { _, load in load }
        guard case let .corrupt(_, error) = load else { return XCTFail("expected .corrupt, got \(load)") }
        XCTAssertEqual(error.reason, "is a FIFO, not a regular file; refusing to use it")
    }

    func testLedgerThatIsACharacterDevice_isNeverRead() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root for mknod")
        let store = LedgerStore(directory: try temporaryDirectory(self) + "/state")
        XCTAssertEqual(mkdir(store.directory, 0o700), 0)
        XCTAssertEqual(mknod(store.ledgerPath, S_IFCHR | 0o600, dev_t((1 << 8) | 5)), 0)  // 1:5, /dev/zero
        let load = try store.withLock { _, load in load }
        guard case let .corrupt(aside, error) = load else { return XCTFail("expected .corrupt, got \(load)") }
        XCTAssertEqual(error.reason, "is a character device, not a regular file; refusing to use it")
        XCTAssertTrue(aside.hasPrefix(store.ledgerPath + ".corrupt."), aside)
        XCTAssertEqual(try store.read(), Ledger())
    }

    func testLedgerLargerThanTheCap_isMovedAsideUnread() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self) + "/state")
        XCTAssertEqual(mkdir(store.directory, 0o700), 0)
        try write(LedgerCodec.encode(Ledger()), to: store.ledgerPath)
        XCTAssertEqual(truncate(store.ledgerPath, off_t(ReadLimit.ledger + 1)), 0)
        XCTAssertThrowsError(try store.read()) { XCTAssertTrue("\($0)".contains("larger than 16 MiB"), "\($0)") }
        let load = try store.withLock { _, load in load }
        guard case let .corrupt(aside, _) = load else { return XCTFail("expected .corrupt, got \(load)") }
        var st = stat()
        XCTAssertEqual(stat(aside, &st), 0)
        XCTAssertEqual(Int(st.st_size), ReadLimit.ledger + 1, "nothing lost")
    }
}
