import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class ConfigFileTests: XCTestCase {
    func testMissingFile_meansTheDefaults() throws {
        XCTAssertEqual(try ConfigFile.load(path: try temporaryDirectory(self) + "/absent.conf"), GuardConfig())
    }

    func testFile_isParsed() throws {
        let path = try temporaryDirectory(self) + "/hg.conf"
        try write("# comment\npolicy = warn\nreserve.1G.node1 = 1\n", to: path)
        let c = try ConfigFile.load(path: path)
        XCTAssertEqual(c.policy, .warn)
        XCTAssertEqual(c.reserves, [HostReserve(pageSizeKiB: 1_048_576, node: 1, pages: 1)])
    }

    func testBrokenFile_errorNamesTheFileTheLineAndTheKey() throws {
        let path = try temporaryDirectory(self) + "/hg.conf"
        try write("policy = warn\nreserve.2M = lots\n", to: path)
        XCTAssertThrowsError(try ConfigFile.load(path: path)) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("\(path) line 2") && text.contains("reserve.2M"), text)
        }
    }

    func testUnreadablePath_isAnErrorNotTheDefaults() throws {
        let dir = try temporaryDirectory(self)
        XCTAssertThrowsError(try ConfigFile.load(path: dir)) {
            XCTAssertTrue("\($0)".contains(dir), "\($0)")
        }
    }
}
