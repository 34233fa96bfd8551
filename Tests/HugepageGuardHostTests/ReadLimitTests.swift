import Foundation
import Glibc
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// Every input is read to a cap, and a file that isn't a regular file is never waited on.
final class ReadLimitTests: XCTestCase {
    func testReadAll_stopsOneByteAfterTheLimit_andNamesTheInput() throws {
        let fd = open("/dev/zero", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertThrowsError(try FileSystem.readAll(fd: fd, path: "the domain XML on stdin", limit: 1000)) {
            XCTAssertEqual("\($0)", "the domain XML on stdin: larger than 1000 bytes; refusing to read more")
        }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
    }

    func testReadAll_acceptsExactlyTheLimit() throws {
        let path = try temporaryDirectory(self) + "/f"
        try write(String(repeating: "x", count: 4096), to: path)
        XCTAssertEqual(try FileSystem.readFile(path, limit: 4096)?.count, 4096)
        XCTAssertThrowsError(try FileSystem.readFile(path, limit: 4095)) {
            XCTAssertTrue("\($0)".contains("larger than 4095 bytes"), "\($0)")
        }
    }

    func testReadFile_largerThanTheFirstBuffer_isReadWhole() throws {
        let path = try temporaryDirectory(self) + "/f"
        let text = (0..<5000).map { "line \($0)\n" }.joined()  // about 48 KiB
        try write(text, to: path)
        XCTAssertEqual(try FileSystem.readFile(path, limit: 1 << 20), text)
    }

    func testReadAll_fromAPipeLongerThan16KiB_readsEverything_andStillStopsAtTheLimit() throws {
        for (size, limit) in [(40_000, 1 << 20), (16_384, 16_384), (16_385, 16_384), (70_000, 50_000)] {
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(pipe(&fds), 0)
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 % 251) }
            let writeEnd = fds[1]
            let writer = Thread {
                _ = try? FileSystem.writeAll(fd: writeEnd, bytes, path: "pipe")
                close(writeEnd)
            }
            writer.start()
            defer { close(fds[0]) }
            if size <= limit {
                XCTAssertEqual(try FileSystem.readAll(fd: fds[0], path: "pipe", limit: limit), bytes, "\(size) bytes")
            } else {
                XCTAssertThrowsError(try FileSystem.readAll(fd: fds[0], path: "pipe", limit: limit), "\(size) bytes") {
                    XCTAssertTrue("\($0)".contains("larger than"), "\($0)")
                }
                // Let the writer finish into a reader that is gone.
                var sink = [UInt8](repeating: 0, count: 65536)
                while read(fds[0], &sink, sink.count) > 0 {}
            }
        }
    }

    func testReadAll_aFileLongerThanItsSize_isReadToItsEnd() throws {
        // A file that grew after fstat: the size is a hint, the end of the file decides.
        let path = try temporaryDirectory(self) + "/f"
        let text = String(repeating: "y", count: 30_000)
        try write(text, to: path)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        XCTAssertEqual(try FileSystem.readAll(fd: fd, path: path, limit: 1 << 20, expectedSize: 100).count, 30_000)
    }

    func testReadAll_aFileShorterThanItsSize_isReadToItsEnd_inOneRead() throws {
        // A file that shrank after fstat: the short read is its end.
        let path = try temporaryDirectory(self) + "/f"
        try write(String(repeating: "z", count: 5_000), to: path)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        XCTAssertEqual(try FileSystem.readAll(fd: fd, path: path, limit: 1 << 20, expectedSize: 20_000).count, 5_000)
        // And its exact size, as fstat gives it, is read whole too.
        XCTAssertEqual(lseek(fd, 0, SEEK_SET), 0)
        XCTAssertEqual(try FileSystem.readAll(fd: fd, path: path, limit: 1 << 20, expectedSize: 5_000), Array(repeating: UInt8(ascii: "z"), count: 5_000))
    }

    func testInvalidUTF8_isAnErrorNotReplaced() throws {
        let path = try temporaryDirectory(self) + "/f"
        try Data([0x61, 0xff, 0x62]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FileSystem.readFile(path, limit: 100)) {
            XCTAssertEqual("\($0)", "\(path): is not valid UTF-8 text")
        }
    }

    func testLimitsAreDescribedInWords() {
        XCTAssertEqual(ReadLimit.describe(ReadLimit.domainXML), "16 MiB")
        XCTAssertEqual(ReadLimit.describe(ReadLimit.config), "1 MiB")
        XCTAssertEqual(ReadLimit.describe(2048), "2 KiB")
        XCTAssertEqual(ReadLimit.describe(1000), "1000 bytes")
    }

    func testConfigThatIsAFIFO_isABrokenConfigNamedAsSuch_withoutBlocking() throws {
        let path = try temporaryDirectory(self) + "/hugepage-guard.conf"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        // Should the loader ever block opening the FIFO, this writer ends the block (with
        // an empty config, which the assertion below rejects).
        Thread.detachNewThread {
            sleep(20)
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        XCTAssertThrowsError(try ConfigFile.load(path: path)) {
            XCTAssertEqual("\($0)", "\(path): cannot be read: is a FIFO, not a regular file")
        }
    }

    func testConfigLargerThanTheCap_isBroken() throws {
        let path = try temporaryDirectory(self) + "/hugepage-guard.conf"
        try write("policy = warn\n", to: path)
        XCTAssertEqual(truncate(path, off_t(ReadLimit.config + 1)), 0)
        XCTAssertThrowsError(try ConfigFile.load(path: path)) {
            XCTAssertTrue("\($0)".contains("\(path): cannot be read: larger than 1 MiB"), "\($0)")
        }
    }

    func testConfigReachedThroughALink_isRead() throws {
        let dir = try temporaryDirectory(self)
        try write("policy = warn\n", to: dir + "/real.conf")
        XCTAssertEqual(symlink(dir + "/real.conf", dir + "/hugepage-guard.conf"), 0)
        XCTAssertEqual(try ConfigFile.load(path: dir + "/hugepage-guard.conf").policy, .warn)
    }

    func testSysfsCounterLargerThanTheCap_isAnErrorNamingTheFile() throws {
        let root = try copyOfFixture("one-node-2m", in: try temporaryDirectory(self))
        let counter = root + "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
        XCTAssertEqual(truncate(counter, off_t(ReadLimit.kernelFile + 1)), 0)
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()) {
            XCTAssertEqual("\($0)", "\(counter): larger than 4 MiB; refusing to read more")
        }
    }

    func testSysfsCounterThatIsAFIFO_isAnError_notAWait() throws {
        let root = try copyOfFixture("one-node-2m", in: try temporaryDirectory(self))
        let counter = root + "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
        try FileManager.default.removeItem(atPath: counter)
        XCTAssertEqual(mkfifo(counter, 0o600), 0)
        Thread.detachNewThread {
            sleep(20)
            let fd = open(counter, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()) {
            XCTAssertEqual("\($0)", "\(counter): is a FIFO, not a regular file")
        }
    }

    func testMeminfoThatIsACharacterDevice_isAnError() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root for mknod")
        let root = try copyOfFixture("one-node-2m", in: try temporaryDirectory(self))
        let meminfo = root + "/proc/meminfo"
        try FileManager.default.removeItem(atPath: meminfo)
        XCTAssertEqual(mknod(meminfo, S_IFCHR | 0o600, dev_t((1 << 8) | 5)), 0)  // 1:5, /dev/zero
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()) {
            XCTAssertEqual("\($0)", "\(meminfo): is a character device, not a regular file")
        }
    }

    func testWriteAll_writesEverythingThroughShortWrites() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let received = LockedBox<[UInt8]>([])
        let readEnd = fds[0]
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(readEnd, &buf, buf.count)
                if n <= 0 { break }
                received.update { $0.append(contentsOf: buf[0..<n]) }
            }
            done.signal()
        }
        try FileSystem.writeAll(fd: fds[1], bytes, path: "<pipe>")
        close(fds[1])
        done.wait()
        close(fds[0])
        XCTAssertEqual(received.current, bytes)
    }
}
