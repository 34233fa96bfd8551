import Foundation
@testable import HugepageGuardCore
import XCTest

final class ReportTests: XCTestCase {
    private func report(_ demand: DomainDemand, _ pool: HugepagePool, inFlight: [DemandItem] = [],
                        config c: GuardConfig = GuardConfig(), op: String = "prepare") -> DecisionReport {
        DecisionReport(decision: decide(demand, pool, inFlight: inFlight, config: c), pool: pool, operation: op)
    }

    func testRefusal_namesDomainAndEveryFigure_andEndsWithTheSysctlFix() {
        // nr 64, free 44, resv 4 -> 40 available; 10 reserved by others; reserve 2: 28 usable; needs 48: 20 short.
        let pool = pool2M(free: [44], resv: 4, nr: [64])
        let r = report(demand2M([(nil, 48)], domain: "web1"), pool,
                       inFlight: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 10)],
                       config: config(reserves: [HostReserve(pageSizeKiB: 2048, node: nil, pages: 2)]))
        let text = r.refusalParagraph
        for part in ["refused to start domain 'web1'", "2 MiB pages on any node", "needs 48", "free 40",
                     "reserved by other starts 10", "host reserve 2", "so 20 short",
                     "'sysctl vm.nr_hugepages=84'", "'virsh allocpages 2048 20 --add'"] {
            XCTAssertTrue(text.contains(part), "missing '\(part)' in: \(text)")
        }
        XCTAssertTrue(text.hasSuffix("then start it again."), text)
        XCTAssertFalse(text.contains("\n"), "one paragraph")
    }

    func testRefusal_nameWithLineBreaksEscapesAndBidiControls_isStillOneLine() {
        // libvirt decodes `&#10;` in <name> to a newline; argv may carry ESC, CR, NEL, U+2028.
        let name = "web1\n\rerror: Domain started\u{85}\u{2028}\u{2029}\u{1b}[2K\u{9b}31m\u{202e}exe.txt\u{2066}"
        let text = report(demand2M([(nil, 48)], domain: name), pool2M(free: [40])).refusalParagraph
        XCTAssertTrue(text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f }, text.debugDescription)
        XCTAssertTrue(text.contains("domain 'web1\\n\\rerror: Domain started\\u0085\\u2028\\u2029\\u001B[2K\\u009B31m\\u202Eexe.txt\\u2066'"), text)
        XCTAssertTrue(text.hasSuffix("then start it again."), text)
    }

    func testFailureParagraph_escapesTheDomainFromArgvAndTheMessage() {
        let text = DecisionReport.failureParagraph(operation: "prepare", domain: "vm\u{1b}]0;pwned\u{7}",
                                                   message: "cannot read the domain XML: bad <name> 'a\nb'")
        XCTAssertEqual(text, "hugepage-guard refused to start domain 'vm\\u001B]0;pwned\\u0007': cannot read the domain XML: bad <name> 'a\\nb'.")
        let line = DecisionReport.failureLogLine(operation: "prepare", domain: "vm\u{202e}", message: "x")
        XCTAssertEqual(line.level, .error)
        XCTAssertFalse(line.text.unicodeScalars.contains("\u{202e}"), line.text)
    }

    func testRefusal_oneShortPage_isSingular() {
        let text = report(demand2M([(nil, 5)], domain: "web1"), pool2M(free: [4], nr: [4])).refusalParagraph
        XCTAssertTrue(text.contains("add 1 page with"), text)
    }

    func testRefusal_atRestoreOrMigrate_saysToRetryThatOperation() {
        let pool = pool2M(free: [4], nr: [4])
        let restore = report(demand2M([(nil, 8)], domain: "web1"), pool, op: "restore").refusalParagraph
        XCTAssertTrue(restore.hasPrefix("hugepage-guard refused to restore domain 'web1'"), restore)
        XCTAssertTrue(restore.hasSuffix("then restore it again."), restore)
        let migrate = report(demand2M([(nil, 8)], domain: "web1"), pool, op: "migrate").refusalParagraph
        XCTAssertTrue(migrate.hasPrefix("hugepage-guard refused to migrate in domain 'web1'"), migrate)
        XCTAssertTrue(migrate.hasSuffix("then migrate it again."), migrate)
    }

    func testRefusal_nonDefaultPageSize_fixIsTheSysfsLine() {
        var pool = HugepagePool(sizes: [kib1G: PagePool(sizeKiB: kib1G, nr: 2, free: 1, resv: 0, surplus: 0)],
                                mounts: [HugetlbfsMount(path: "/dev/hugepages1G", pageSizeKiB: kib1G)], kernelDefaultKiB: 2048)
        pool.sizes[2048] = PagePool(sizeKiB: 2048, nr: 0, free: 0, resv: 0, surplus: 0)
        let d = DomainDemand(domain: "big", items: [DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 3)])
        let text = report(d, pool).refusalParagraph
        XCTAssertTrue(text.contains("1 GiB pages on any node: needs 3, free 1"), text)
        XCTAssertTrue(text.contains("'echo 4 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages'"), text)
        XCTAssertTrue(text.contains("'virsh allocpages 1048576 2 --add'"), text)
    }

    func testRefusal_strictNode_fixAddsPagesOnThatNode() {
        let pool = pool2M(free: [10, 4], nr: [10, 6])
        let text = report(demand2M([(NodeSet([1]), 8)], domain: "db"), pool).refusalParagraph
        XCTAssertTrue(text.contains("on node 1 (strict numatune): needs 8, free 4"), text)
        XCTAssertTrue(text.contains("'echo 10 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages'"), text)
        XCTAssertTrue(text.contains("'virsh allocpages 2048 4 --cellno 1 --add'"), text)
    }

    func testRefusal_noMount_saysSoAndHowToMount() {
        let text = report(demand2M([(nil, 8)]), pool2M(free: [100], mounted: false)).refusalParagraph
        XCTAssertTrue(text.contains("No hugetlbfs is mounted for 2 MiB pages"), text)
        XCTAssertTrue(text.contains("mount -t hugetlbfs -o pagesize=2M"), text)
    }

    func testRefusal_operationNamesTheVerb() {
        let tooBig = demand2M([(nil, 48)]), pool = pool2M(free: [1])
        XCTAssertTrue(report(tooBig, pool, op: "migrate").refusalParagraph.contains("refused to migrate in domain"))
        XCTAssertTrue(report(tooBig, pool, op: "restore").refusalParagraph.contains("refused to restore domain"))
        XCTAssertTrue(report(tooBig, pool, op: "check").refusalParagraph.contains("would refuse to start domain"))
    }

    func testLogLine_isOneParsableLogfmtLineWithTheFigures() {
        let r = report(demand2M([(nil, 48)], domain: "web 1"), pool2M(free: [40]))
        XCTAssertFalse(r.logLine.text.contains("\n"))
        XCTAssertEqual(r.logLine.level, .warning)
        XCTAssertEqual(r.logLine.event, .decision)
        guard let pairs = Logfmt.parse(Substring(r.logLine.text)) else { return XCTFail("not logfmt: \(r.logLine)") }
        XCTAssertEqual(pairs.prefix(2).map(\.0), ["level", "event"])
        let f = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(f["event"], "decision")
        XCTAssertEqual(f["decision"], "refuse")
        XCTAssertEqual(f["op"], "prepare")
        XCTAssertEqual(f["domain"], "web 1")
        XCTAssertEqual(f["pages_2048kB"], "48")
        XCTAssertEqual(f["free_2048kB"], "40/40")
        XCTAssertEqual(f["short_2048kB"], "8")
        XCTAssertEqual(f["level"], "warning")
    }

    func testLogLine_admit_hasNoShortKey() {
        let r = report(demand2M([(nil, 8)]), pool2M(free: [40]))
        let f = Dictionary(Logfmt.parse(Substring(r.logLine.text)) ?? [], uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(f["decision"], "admit")
        XCTAssertEqual(f["level"], "info")
        XCTAssertNil(f["short_2048kB"])
    }

    func testJSON_hasTheDocumentedShape() throws {
        let r = report(demand2M([(nil, 48), (NodeSet([0]), 4)], domain: "web1"), pool2M(free: [40]))
        let object = try JSONSerialization.jsonObject(with: Data(r.json.rendered().utf8)) as? [String: Any]
        XCTAssertEqual(object?["domain"] as? String, "web1")
        XCTAssertEqual(object?["decision"] as? String, "refuse")
        let demand = object?["demand"] as? [[String: Any]]
        XCTAssertEqual(demand?.count, 2)
        XCTAssertEqual(demand?.first?["pageSizeKiB"] as? Int, 2048)
        XCTAssertTrue(demand?.first?["hostNodes"] is NSNull)
        XCTAssertEqual(demand?.first?["pages"] as? Int, 48)
        XCTAssertEqual(demand?.last?["hostNodes"] as? [Int], [0])
        let reasons = object?["reasons"] as? [[String: Any]]
        XCTAssertFalse(reasons?.isEmpty ?? true)
        XCTAssertEqual(reasons?.first?["kind"] as? String, "short")
    }

    func testJSON_quotesDomainNamesSafely() throws {
        let r = report(demand2M([(nil, 1)], domain: "a\"b\\c\nd\u{1}"), pool2M(free: [40]))
        let object = try JSONSerialization.jsonObject(with: Data(r.json.rendered().utf8)) as? [String: Any]
        XCTAssertEqual(object?["domain"] as? String, "a\"b\\c\nd\u{1}")
    }
}
