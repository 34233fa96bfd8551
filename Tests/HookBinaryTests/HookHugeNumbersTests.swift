import Foundation
import HugepageGuardCore
import XCTest

/// Config values near 2^64 are refused or counted, never a crash of the hook.
final class HookHugeNumbersTests: XCTestCase {
    func testPrepare_withHostReservesSummingPast2To64_andAStartInFlight_refusesWithTheFigures() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 16)).status, 0)
        try h.writeConfig("reserve.2M = 18446744073709551615\nreserve.2M.node0 = 9223372036854775808\n")
        let r = try h.hook("vm2", "prepare", "begin", stdin: hugepageDomain("vm2", mib: 16))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("reserved by other starts 8, host reserve 18446744073709551615, so 8 short"), r.stderr)
    }

    func testPrepare_withAPageSizePast2To64KiB_refusesNamingTheLineAndKey() throws {
        let h = try HookHarness(self)
        try h.writeConfig("policy = enforce\nreserve.17592186044416G = 1\n")
        let r = try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 16))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(h.configPath) line 2: 'reserve.17592186044416G': the page size is too large"), r.stderr)
        XCTAssertEqual(try h.hook("vm1", "release", "end").status, 0, "release end exits 0 whatever the config says")
    }
}
