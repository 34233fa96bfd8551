#if canImport(Glibc)
import Glibc
#endif
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class ProcessTableAncestorTests: XCTestCase {
    private func stat(pid: Int32, comm: String, parent: Int32, start: UInt64) -> String {
        let fields = ["S", "\(parent)"] + Array(repeating: "0", count: 17) + ["\(start)", "0", "0"]
        return "\(pid) (\(comm)) " + fields.joined(separator: " ") + "\n"
    }

    func testTheDaemonAboveAWrapper_isFoundWithItsStartTime() throws {
        let root = try temporaryDirectory(self)
        let parent = getppid()
        try FileManager.default.createDirectory(atPath: root + "/\(parent)", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/777", withIntermediateDirectories: true)
        try write(stat(pid: parent, comm: "wrap per (admin)", parent: 777, start: 5), to: root + "/\(parent)/stat")
        try write(stat(pid: 777, comm: "virtqemud", parent: 1, start: 424242), to: root + "/777/stat")
        XCTAssertEqual(ProcessTable.libvirtDaemonAncestor(procRoot: root), ProcessRef(pid: 777, startTicks: 424242))
    }

    func testNoDaemonAbove_isNil_andATruncatedStatStopsTheWalk() throws {
        let root = try temporaryDirectory(self)
        let parent = getppid()
        try FileManager.default.createDirectory(atPath: root + "/\(parent)", withIntermediateDirectories: true)
        try write(stat(pid: parent, comm: "bash", parent: 1, start: 5), to: root + "/\(parent)/stat")
        XCTAssertNil(ProcessTable.libvirtDaemonAncestor(procRoot: root))
        try write("\(parent) (libvirtd) S 1 0\n", to: root + "/\(parent)/stat")
        XCTAssertNil(ProcessTable.libvirtDaemonAncestor(procRoot: root), "a daemon without a start time is not an owner")
    }
}

final class ProcessTableOddNameTests: XCTestCase {
    func testAWrapperWhoseNameStartsWithACombiningMark_isWalkedThrough() throws {
        let root = try temporaryDirectory(self)
        let parent = getppid()
        for pid in [parent, 778] { try FileManager.default.createDirectory(atPath: root + "/\(pid)", withIntermediateDirectories: true) }
        let tail = Array(repeating: "0", count: 17).joined(separator: " ") + " 99 0 0\n"
        try write("\(parent) (\u{301}wrap) S 778 " + tail, to: root + "/\(parent)/stat")
        try write("778 (libvirtd) S 1 " + tail, to: root + "/778/stat")
        XCTAssertEqual(ProcessTable.libvirtDaemonAncestor(procRoot: root), ProcessRef(pid: 778, startTicks: 99))
    }
}
