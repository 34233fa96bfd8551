#if canImport(Glibc)
import Glibc
#endif
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class ProcessTableTests: XCTestCase {
    func testThisProcess_isAliveUnderItsOwnStartTime() {
        guard let me = ProcessTable.ref(pid: getpid()) else { return XCTFail("no /proc/self entry") }
        XCTAssertTrue(ProcessTable.isAlive(me))
        XCTAssertFalse(ProcessTable.isAlive(ProcessRef(pid: me.pid, startTicks: me.startTicks + 1)),
                       "a reused pid with another start time is not the same process")
    }

    func testStatWithSpacesAndParensInTheName_isParsed() throws {
        let root = try temporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: root + "/4242", withIntermediateDirectories: true)
        let fields = ["S", "1"] + Array(repeating: "0", count: 17) + ["987654", "0", "0"]
        try write("4242 (odd) name (x)) " + fields.joined(separator: " ") + "\n", to: root + "/4242/stat")
        XCTAssertEqual(ProcessTable.ref(pid: 4242, procRoot: root), ProcessRef(pid: 4242, startTicks: 987654))
        XCTAssertNil(ProcessTable.ref(pid: 4243, procRoot: root))
    }
}
