import Foundation
import Glibc
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The hook's log lines reach the log socket as one datagram each, in the form journald and
/// rsyslog read: `<facility|priority>identifier[pid]: line`.
final class SystemLogTests: XCTestCase {
    private var dir = ""
    private var socketPath: String { dir + "/log" }
    private var receiver: Int32 = -1

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "hg-syslog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(receiver, 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: socketPath.utf8)
            raw[socketPath.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0, "bind \(socketPath): errno \(errno)")
    }

    override func tearDown() {
        if receiver >= 0 { close(receiver) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The next datagram on the socket, or nil after `milliseconds`.
    private func receive(within milliseconds: Int32 = 2000) -> String? {
        var poller = pollfd(fd: receiver, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(receiver, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    func testLine_isOneDatagramWithPriorityIdentifierAndPid() {
        let log = SystemLog(identifier: "hugepage-guard-hook", socketPath: socketPath)
        log.write(LogLine(.warning, .decision, [("op", "prepare"), ("domain", "web 1"), ("short", "50%")]))
        XCTAssertEqual(receive(),
                       "<\(LOG_DAEMON | LOG_WARNING)>hugepage-guard-hook[\(getpid())]: "
                       + "level=warning event=decision op=prepare domain=\"web 1\" short=50%")
        XCTAssertNil(receive(within: 100), "one line is one datagram")
    }

    func testEachLevel_setsItsPriority() {
        let log = SystemLog(identifier: "hugepage-guard-hook", socketPath: socketPath)
        for (level, priority) in [(LogLevel.info, LOG_INFO), (.warning, LOG_WARNING), (.error, LOG_ERR)] {
            log.write(LogLine(level, .decision))
            XCTAssertEqual(receive()?.prefix { $0 != ">" }, "<\(LOG_DAEMON | priority)")
        }
    }

    func testCopyFile_getsTheLineWithoutTheHeader() throws {
        let copy = dir + "/copy.log"
        let log = SystemLog(identifier: "hugepage-guard-hook", socketPath: socketPath, copyPath: copy)
        log.write(LogLine(.info, .decision, [("op", "prepare")]))
        XCTAssertEqual(try String(contentsOfFile: copy, encoding: .utf8), "level=info event=decision op=prepare\n")
    }
}
