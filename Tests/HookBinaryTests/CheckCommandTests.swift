import Foundation
import HugepageGuardCore
import XCTest

/// `hugepage-guard check --xml FILE [--json]`: exit 0 admit, 1 refuse, 2 bad input.
final class CheckCommandTests: XCTestCase {
    private func xmlFile(_ h: HookHarness, _ xml: String) throws -> String {
        let path = h.dir + "/domain-\(UUID().uuidString).xml"
        try Data(xml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    func testCheck_admit_exitsZeroWithTheDocumentedKeys_andReservesNothing() throws {
        let h = try HookHarness(self)
        let r = try h.check(["--xml", try xmlFile(h, hugepageDomain("vm1", mib: 96)), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let o = json(r.stdout) else { return XCTFail("not JSON: \(r.stdout)") }
        XCTAssertEqual(o["domain"] as? String, "vm1")
        XCTAssertEqual(o["decision"] as? String, "admit")
        let demand = o["demand"] as? [[String: Any]]
        XCTAssertEqual(demand?.count, 1)
        XCTAssertEqual(demand?.first?["pageSizeKiB"] as? Int, 2048)
        XCTAssertTrue(demand?.first?["hostNodes"] is NSNull)
        XCTAssertEqual(demand?.first?["pages"] as? Int, 48)
        XCTAssertEqual((o["reasons"] as? [Any])?.count, 0)
        XCTAssertNil(h.ledger(), "check never reserves")
    }

    func testCheck_refuse_exitsOneWithReasons() throws {
        let h = try HookHarness(self, fixture: "two-nodes-2m-1g")
        let xml = hugepageDomain("pinned", mib: 96, numatune: "<memory mode='strict' nodeset='1'/>")
        let r = try h.check(["--xml", try xmlFile(h, xml), "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        guard let o = json(r.stdout) else { return XCTFail("not JSON: \(r.stdout)") }
        XCTAssertEqual(o["decision"] as? String, "refuse")
        XCTAssertEqual((o["demand"] as? [[String: Any]])?.first?["hostNodes"] as? [Int], [1])
        let reasons = o["reasons"] as? [[String: Any]]
        XCTAssertEqual(reasons?.first?["kind"] as? String, "short")
    }

    func testCheck_seesReservationsOfStartsInFlight() throws {
        let h = try HookHarness(self)
        let file = try xmlFile(h, hugepageDomain("vm2", mib: 96))
        XCTAssertEqual(try h.check(["--xml", file, "--json"]).status, 0)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 64)).status, 0)
        XCTAssertEqual(try h.check(["--xml", file, "--json"]).status, 1, "48 + 32 in flight > 64")
    }

    func testCheck_noHugepages_admits() throws {
        let h = try HookHarness(self)
        let r = try h.check(["--xml", try xmlFile(h, plainDomain), "--json"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(json(r.stdout)?["decision"] as? String, "admit")
        XCTAssertEqual((json(r.stdout)?["demand"] as? [Any])?.count, 0)
    }

    func testCheck_badInput_exitsTwo() throws {
        let h = try HookHarness(self)
        let bad = try h.check(["--xml", try xmlFile(h, "<domain><name>x"), "--json"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("domain XML"), bad.stderr)
        let missing = try h.check(["--xml", h.dir + "/absent.xml"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("absent.xml"), missing.stderr)
        XCTAssertEqual(try h.check([]).status, 2, "neither --xml nor --domain")
    }

    func testCheck_humanOutput_showsTheRefusalParagraph() throws {
        let h = try HookHarness(self)
        let r = try h.check(["--xml", try xmlFile(h, hugepageDomain("big", mib: 256))])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("would refuse to start domain 'big'"), r.stdout)
    }
}
