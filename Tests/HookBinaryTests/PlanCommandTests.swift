import Foundation
import HugepageGuardCore
import XCTest

/// `hugepage-guard plan`: the same domain options as `check`, and the same reading of
/// libvirt's side of the host as the hook.
final class PlanCommandTests: XCTestCase {
    private func plan(_ h: HookHarness, _ args: [String]) throws -> RunResult {
        try h.launch("hugepage-guard", ["plan"] + args, stdin: "").finish()
    }

    /// A copy of a fixture host, so that files can be put into it, with the memory figures
    /// plan's growth estimate reads.
    private func host(_ h: HookHarness, fixture: String = "one-node-2m") throws {
        h.sysfsRoot = HookHarness.fixtureRoot(fixture)
        try h.copyHost()
        let meminfo = h.sysfsRoot + "/proc/meminfo"
        let text = String(decoding: FileManager.default.contents(atPath: meminfo) ?? Data(), as: UTF8.self)
        try Data((text + "MemTotal:       16315416 kB\nMemAvailable:    9000000 kB\n").utf8).write(to: URL(fileURLWithPath: meminfo))
    }

    func testPlanAndCheck_takeTheSameDomainOptions() throws {
        let h = try HookHarness(self)
        for command in ["plan", "check"] {
            for args in [[String](), ["--xml", "a.xml", "--domain", "a"]] {
                let r = try h.launch("hugepage-guard", [command] + args, stdin: "").finish()
                XCTAssertEqual(r.status, 2, "\(command) \(args): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("give exactly one of --xml FILE or --domain NAME"), "\(command): \(r.stderr)")
            }
            let missing = try h.launch("hugepage-guard", [command, "--xml", h.dir + "/nothing.xml"], stdin: "").finish()
            XCTAssertEqual(missing.status, 2, missing.stderr)
            XCTAssertTrue(missing.stderr.contains("nothing.xml: no such file"), "\(command): \(missing.stderr)")
        }
    }

    func testPlan_countsPagesOfTheSizeLibvirtWillUse_asTheHookDoes() throws {
        let h = try HookHarness(self)
        try host(h, fixture: "two-nodes-2m-1g")
        // libvirt's default for <hugepages/> is now the second mount: 1 GiB pages, not the
        // kernel's default 2 MiB.
        try FileManager.default.createDirectory(atPath: h.sysfsRoot + "/etc/libvirt", withIntermediateDirectories: true)
        try Data("hugetlbfs_mount = [\"/dev/hugepages\", \"/dev/hugepages1G\"]\n".utf8)
            .write(to: URL(fileURLWithPath: h.sysfsRoot + "/etc/libvirt/qemu.conf"))
        let xml = try h.domainFile(hugepageDomain("web", mib: 2048))

        let checked = try h.check(["--xml", xml, "--json"])
        let checkJSON = (try? JSONSerialization.jsonObject(with: Data(checked.stdout.utf8))) as? [String: Any]
        let demand = (checkJSON?["demand"] as? [[String: Any]]) ?? []
        XCTAssertEqual(demand.compactMap { ($0["pageSizeKiB"] as? NSNumber)?.uint64Value }, [1_048_576], checked.stdout)

        let r = try plan(h, ["--xml", xml, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
        // Two 1 GiB pages are free, so one such VM fits (on the 100 free 2 MiB pages, none would).
        XCTAssertEqual((o?["asIs"] as? NSNumber)?.intValue, 1, r.stdout)
        XCTAssertTrue((o?["limitDetail"] as? String)?.contains("1 GiB pages") ?? false, r.stdout)
    }

    func testPlan_escapesTheDomainName() throws {
        let h = try HookHarness(self)
        try host(h)
        let xml = try h.domainFile(hugepageDomain("web\u{202E}gpj", mib: 64))
        let r = try plan(h, ["--xml", xml])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.unicodeScalars.contains("\u{202E}"), r.stdout)
        XCTAssertTrue(r.stdout.contains(TerminalText.escaped("web\u{202E}gpj")), r.stdout)
    }
}
