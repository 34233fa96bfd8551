import Foundation
import HugepageGuardCore
import XCTest

/// `hugepage-guard check --xml FILE [--json]`: exit 0 admit, 1 refuse, 2 bad input.
final class CheckCommandTests: XCTestCase {
    private func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    func testCheck_admit_exitsZeroWithTheDocumentedKeys_andReservesNothing() throws {
        let h = try HookHarness(self)
        let r = try h.check(["--xml", try h.domainFile(hugepageDomain("vm1", mib: 96)), "--json"])
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
        let r = try h.check(["--xml", try h.domainFile(xml), "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        guard let o = json(r.stdout) else { return XCTFail("not JSON: \(r.stdout)") }
        XCTAssertEqual(o["decision"] as? String, "refuse")
        XCTAssertEqual((o["demand"] as? [[String: Any]])?.first?["hostNodes"] as? [Int], [1])
        let reasons = o["reasons"] as? [[String: Any]]
        XCTAssertEqual(reasons?.first?["kind"] as? String, "short")
    }

    func testCheck_seesReservationsOfStartsInFlight() throws {
        let h = try HookHarness(self)
        let file = try h.domainFile(hugepageDomain("vm2", mib: 96))
        XCTAssertEqual(try h.check(["--xml", file, "--json"]).status, 0)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 64)).status, 0)
        XCTAssertEqual(try h.check(["--xml", file, "--json"]).status, 1, "48 + 32 in flight > 64")
    }

    func testCheck_noHugepages_admits() throws {
        let h = try HookHarness(self)
        let r = try h.check(["--xml", try h.domainFile(plainDomain), "--json"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(json(r.stdout)?["decision"] as? String, "admit")
        XCTAssertEqual((json(r.stdout)?["demand"] as? [Any])?.count, 0)
    }

    func testCheck_badInput_exitsTwo() throws {
        let h = try HookHarness(self)
        let bad = try h.check(["--xml", try h.domainFile("<domain><name>x"), "--json"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("domain XML"), bad.stderr)
        let missing = try h.check(["--xml", h.dir + "/absent.xml"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("absent.xml"), missing.stderr)
        XCTAssertEqual(try h.check([]).status, 2, "neither --xml nor --domain")
    }

    /// The keys of `check --json`, in order, on every path.
    private static let keys = ["domain", "decision", "fits", "policy", "demand", "backends", "reasons", "message", "growth", "assumptions"]

    /// The top-level keys of a JSON object, in the order written.
    private func keys(_ text: String) -> [String]? {
        guard let o = json(text) else { return nil }
        return o.keys.sorted { text.range(of: "\"\($0)\":")!.lowerBound < text.range(of: "\"\($1)\":")!.lowerBound }
    }

    func testCheckJSON_everyPath_hasTheSameKeysInTheSameOrder() throws {
        let h = try HookHarness(self)
        let paths: [(name: String, config: String, xml: String, status: Int32, decision: String, policy: String?)] = [
            ("no hugepages", "", plainDomain, 0, "admit", "enforce"),
            ("admit", "", hugepageDomain("small", mib: 16), 0, "admit", "enforce"),
            ("refuse", "", hugepageDomain("big", mib: 256), 1, "refuse", "enforce"),
            ("warn", "policy = warn\n", hugepageDomain("big", mib: 256), 0, "admit", "warn"),
            ("off", "policy = off\n", hugepageDomain("big", mib: 256), 0, "admit", "off"),
            ("domain policy, no hugepages", "", plainDomain.replacingOccurrences(
                of: "<vcpu>", with: "<metadata><hg:guard xmlns:hg='http://hugepage-guard.org/xmlns/domain/1' policy='warn'/></metadata><vcpu>"),
             0, "admit", "warn"),
            ("error", "", "<domain><name>x", 2, "error", nil),
        ]
        for p in paths {
            try h.writeConfig(p.config)
            let r = try h.check(["--xml", try h.domainFile(p.xml), "--json"])
            XCTAssertEqual(r.status, p.status, "\(p.name): \(r.stderr)")
            XCTAssertEqual(keys(r.stdout), Self.keys, "\(p.name): \(r.stdout)")
            let o = json(r.stdout)
            XCTAssertEqual(o?["decision"] as? String, p.decision, p.name)
            XCTAssertEqual(o?["policy"] as? String, p.policy, p.name)
        }
    }

    func testCheckJSON_configBrokenForADomainWithoutHugepages_admitsWithPolicyNull() throws {
        let h = try HookHarness(self)
        try h.writeConfig("policy = sometimes\n")
        let r = try h.check(["--xml", try h.domainFile(plainDomain), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(keys(r.stdout), Self.keys, r.stdout)
        XCTAssertTrue(json(r.stdout)?["policy"] is NSNull, r.stdout)
        XCTAssertTrue(r.stderr.contains("sometimes"), r.stderr)
    }

    func testCheck_hugeHostReservesWithAStartInFlight_refuseInsteadOfCrashing() throws {
        let h = try HookHarness(self)
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 16)).status, 0)
        try h.writeConfig("reserve.2M = 18446744073709551615\nreserve.2M.node0 = 9223372036854775808\n")
        let r = try h.check(["--xml", try h.domainFile(hugepageDomain("vm2", mib: 16)), "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let reason = (json(r.stdout)?["reasons"] as? [[String: Any]])?.first
        XCTAssertEqual((reason?["hostReserve"] as? NSNumber)?.uint64Value, UInt64.max, r.stdout)
        XCTAssertEqual((reason?["reservedByOtherStarts"] as? NSNumber)?.uint64Value, 8, r.stdout)
    }

    func testCheck_humanOutput_escapesTheNameAndAliases() throws {
        let h = try HookHarness(self)
        // ESC can't be in XML 1.0; it comes only from argv (DecisionReport.failureParagraph).
        let name = "big&#10;error: all good&#13;&#x85;&#x202e;&#x2028;"
        let r = try h.check(["--xml", try h.domainFile(hugepageDomain(name, mib: 256))])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("big\\nerror: all good\\r\\u0085\\u202E\\u2028"), r.stdout)
        XCTAssertFalse(r.stdout.unicodeScalars.contains { ["\r", "\u{85}", "\u{202e}", "\u{2028}"].contains($0) }, r.stdout)
        XCTAssertFalse(r.stdout.split(separator: "\n").contains { $0.hasPrefix("error:") }, r.stdout)
    }

    func testCheck_humanOutput_showsTheRefusalParagraph() throws {
        let h = try HookHarness(self)
        let r = try h.check(["--xml", try h.domainFile(hugepageDomain("big", mib: 256))])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("would refuse to start domain 'big'"), r.stdout)
    }
}
