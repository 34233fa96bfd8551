import Foundation
import HugepageGuardCore
import XCTest

/// `hugepage-guard check` with `pool.grow = on`: it says what growth would do for a domain
/// that doesn't fit the pool as it stands, and writes nothing.
final class CheckGrowthTests: XCTestCase {
    private func harness(config: String) throws -> HookHarness {
        let h = try HookHarness(self)
        try h.copyHost()
        try Data("MemTotal:       16315416 kB\nMemFree:         9123456 kB\nMemAvailable:    9000000 kB\n".utf8)
            .write(to: URL(fileURLWithPath: h.sysfsRoot + "/proc/meminfo"))
        try h.writeConfig(config)
        return h
    }

    func testGrowthOn_checkSaysTheHookWouldGrowByTheShortfall_andWritesNothing() throws {
        let h = try harness(config: "pool.grow = on\n")
        let xml = try h.domainFile(hugepageDomain("big", mib: 256))   // 128 pages; the pool has 64 free
        let r = try h.check(["--xml", xml, "--json"])
        XCTAssertEqual(r.status, 1, "as the pool stands it is a refusal: \(r.stderr)")
        let o = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
        let growth = o?["growth"] as? [String: Any]
        XCTAssertEqual(growth?["result"] as? String, "would_grow", r.stdout)
        let pages = (growth?["pages"] as? [[String: Any]])?.first
        XCTAssertEqual((pages?["pages"] as? NSNumber)?.uint64Value, 64, r.stdout)
        XCTAssertEqual((pages?["pageSizeKiB"] as? NSNumber)?.uint64Value, 2048, r.stdout)
        XCTAssertTrue((o?["message"] as? String)?.contains("pool.grow is on, so the hook would first grow the pool by 64 pages of 2 MiB") ?? false, r.stdout)
        XCTAssertEqual(h.nr2M, "64", "check grows nothing")
        XCTAssertNil(h.ledger()?.entries.first, "check reserves nothing")

        let human = try h.check(["--xml", xml])
        XCTAssertTrue(human.stdout.contains("pool.grow is on: as the pool stands this is a refusal, but the hook would first grow the pool by 64 pages of 2 MiB on any node"), human.stdout)
        XCTAssertTrue(human.stdout.contains("hugepage-guard plan"), human.stdout)
    }

    func testGrowthOnButCapped_checkNamesTheCap() throws {
        let h = try harness(config: "pool.grow = on\npool.grow.max.2M = 100\n")
        let r = try h.check(["--xml", try h.domainFile(hugepageDomain("big", mib: 256)), "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let o = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
        let growth = o?["growth"] as? [String: Any]
        XCTAssertEqual(growth?["result"] as? String, "cap", r.stdout)
        XCTAssertEqual(growth?["limit"] as? String, "cap", r.stdout)
        XCTAssertTrue((o?["message"] as? String)?.contains("pool.grow.max.2M = 100") ?? false, r.stdout)
        XCTAssertEqual(h.nr2M, "64")
    }

    func testGrowthOff_orOffForTheDomain_growthIsNull() throws {
        let off = try harness(config: "")
        let r = try off.check(["--xml", try off.domainFile(hugepageDomain("big", mib: 256)), "--json"])
        XCTAssertTrue(r.stdout.contains("\"growth\":null"), r.stdout)
        let on = try harness(config: "pool.grow = on\n")
        let xml = hugepageDomain("big", mib: 256, metadata: "<hg:guard xmlns:hg='http://hugepage-guard.org/xmlns/domain/1' grow='off'/>")
        let r2 = try on.check(["--xml", try on.domainFile(xml), "--json"])
        XCTAssertTrue(r2.stdout.contains("\"growth\":null"), r2.stdout)
    }
}
