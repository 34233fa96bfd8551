@testable import HugepageGuardCore
import Foundation
import XCTest

final class ConfigTests: XCTestCase {
    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> GuardConfig? {
        do { return try GuardConfig.parse(text, source: "test.conf") } catch {
            XCTFail("unexpected: \(error)", file: file, line: line); return nil
        }
    }

    private func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do { _ = try GuardConfig.parse(text, source: "test.conf"); XCTFail("expected an error", file: file, line: line); return nil }
        catch { return error }
    }

    func testDefaults_emptyFile() {
        let c = parse("")
        XCTAssertEqual(c, GuardConfig())
        XCTAssertEqual(c?.policy, .enforce)
        XCTAssertEqual(c?.reserves, [])
        XCTAssertEqual(c?.stateDir, "/run/hugepage-guard")
        XCTAssertEqual(c?.reservationTimeout, 900)
        XCTAssertEqual(c?.reconcileInterval, 60)
        XCTAssertEqual(c?.metricsPath, "/var/lib/prometheus/node-exporter/hugepage_guard.prom")
    }

    func testEveryKey_isRead() {
        let c = parse("""
            # hugepage-guard.conf
            policy = warn
            reserve.2M = 16
            reserve.1G.node1 = 1
            reserve.2048kB.node0 = 4
            state_dir = /var/run/hg
            reservation_timeout = 300
            agent.reconcile_interval = 15
            agent.metrics_path = /tmp/hg.prom
            """)
        XCTAssertEqual(c?.policy, .warn)
        XCTAssertEqual(c?.reserves, [HostReserve(pageSizeKiB: 2048, node: nil, pages: 16),
                                     HostReserve(pageSizeKiB: kib1G, node: 1, pages: 1),
                                     HostReserve(pageSizeKiB: 2048, node: 0, pages: 4)])
        XCTAssertEqual(c?.reserve(pageSizeKiB: 2048, node: nil), 16)
        XCTAssertEqual(c?.reserve(pageSizeKiB: kib1G, node: 1), 1)
        XCTAssertEqual(c?.reserve(pageSizeKiB: kib1G, node: 0), 0)
        XCTAssertEqual(c?.stateDir, "/var/run/hg")
        XCTAssertEqual(c?.reservationTimeout, 300)
        XCTAssertEqual(c?.reconcileInterval, 15)
        XCTAssertEqual(c?.metricsPath, "/tmp/hg.prom")
    }

    func testCommentsBlankLinesAndInlineComments_areIgnored() {
        let c = parse("\n   # a comment\n\t\npolicy=off   # inline\n  reserve.2MiB   =   8  \n")
        XCTAssertEqual(c?.policy, .off)
        XCTAssertEqual(c?.reserves, [HostReserve(pageSizeKiB: 2048, node: nil, pages: 8)])
    }

    func testCRLFLineEnds_areAccepted() {
        let c = parse("policy = warn\r\nreserve.2M = 8\r\n")
        XCTAssertEqual(c?.policy, .warn)
        XCTAssertEqual(c?.reserves, [HostReserve(pageSizeKiB: 2048, node: nil, pages: 8)])
    }

    func testCommentLines_countTowardLineNumbers_andCRLFCommentsAreComments() {
        let e = error("# one\r\n\r\n  #\r\n#\n\t# five\npolcy = off\n")
        XCTAssertEqual(e?.line, 6)
        XCTAssertEqual(parse("# a\r\n#\r\npolicy = warn\r\n# b")?.policy, .warn)
    }

    func testByteOrderMark_beforeAComment_orAKey() {
        XCTAssertEqual(parse("\u{FEFF}# comment\npolicy = off\n")?.policy, .off)
        XCTAssertEqual(parse("\u{FEFF}policy = off\n")?.policy, .off)
    }

    func testHashFollowedByACombiningMark_isNotAComment() {
        // "#\u{301}" is one character, not "#": the line is a key, and not a known one.
        let e = error("policy = warn\n#\u{301} = 1\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssertTrue("\(e!)".contains("unknown key"), "\(e!)")
        // A "#" before other non-ASCII text that starts a new character is still a comment.
        XCTAssertEqual(parse("#\u{e9}t\u{e9}\npolicy = off\n")?.policy, .off)
    }

    func testThePackagedConfig_isAllComments() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../packaging/hugepage-guard.conf").standardized
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(parse(text), GuardConfig())
        XCTAssertEqual(parse(text + "policy = warn\n")?.policy, .warn)
    }

    func testUnknownKey_errorNamesLineAndKey() {
        let e = error("policy = warn\n\npolcy = off\n")
        XCTAssertEqual(e?.line, 3)
        XCTAssertTrue("\(e!)".contains("test.conf line 3"), "\(e!)")
        XCTAssertTrue("\(e!)".contains("'polcy'"), "\(e!)")
    }

    func testBadValues_errorNamesLineKeyAndValue() {
        let cases: [(String, String)] = [
            ("policy = sometimes", "sometimes"), ("state_dir = relative/dir", "relative/dir"),
            ("reservation_timeout = -5", "-5"), ("agent.reconcile_interval = soon", "soon"),
            ("agent.metrics_path = x.prom", "x.prom"), ("reserve.2M = many", "many"),
        ]
        for (text, value) in cases {
            guard let e = error("# header\n" + text) else { continue }
            let key = String(text.split(separator: " ")[0])
            XCTAssertEqual(e.line, 2, text)
            XCTAssertTrue(e.message.contains(key) && e.message.contains(value), "\(e)")
        }
    }

    func testBadReserveKeys_errorNamesTheKey() {
        for key in ["reserve.", "reserve.3X", "reserve.2M.n1", "reserve.2M.node", "reserve.2M.node1.x", "reserve.0M"] {
            guard let e = error("\(key) = 1") else { continue }
            XCTAssertEqual(e.line, 1)
            XCTAssertTrue(e.message.contains("'\(key)'"), "\(e)")
        }
    }

    func testDuplicateKey_errorNamesBothLines() {
        let e = error("policy = warn\nreserve.2M = 1\npolicy = off\n")
        XCTAssertEqual(e?.line, 3)
        XCTAssertTrue(e?.message.contains("'policy'") == true && e?.message.contains("line 1") == true, "\(String(describing: e))")
    }

    func testDuplicateReserveInAnotherSpelling_isAnError() {
        // reserve.2M and reserve.2048kB are the same setting: two values must not silently add up.
        let e = error("reserve.2M = 8\nreserve.2048kB = 4\n")
        XCTAssertEqual(e?.line, 2)
    }

    func testLineWithoutEquals_orWithoutValue_isAnError() {
        XCTAssertEqual(error("policy warn")?.line, 1)
        let e = error("# x\npolicy =   # nothing\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssertTrue(e?.message.contains("'policy'") == true)
    }

    func testPageSizeSpellings() {
        XCTAssertEqual(GuardConfig.parsePageSize("2M"), 2048)
        XCTAssertEqual(GuardConfig.parsePageSize("2MiB"), 2048)
        XCTAssertEqual(GuardConfig.parsePageSize("2048kB"), 2048)
        XCTAssertEqual(GuardConfig.parsePageSize("2048K"), 2048)
        XCTAssertEqual(GuardConfig.parsePageSize("1G"), kib1G)
        XCTAssertEqual(GuardConfig.parsePageSize("1gib"), kib1G)
        XCTAssertNil(GuardConfig.parsePageSize("2"))
        XCTAssertNil(GuardConfig.parsePageSize("M"))
        XCTAssertNil(GuardConfig.parsePageSize("0M"))
    }

    func testErrorWithoutLine_omitsTheLineNumber() {
        XCTAssertEqual("\(ConfigError(source: "/etc/x.conf", line: 0, message: "cannot be read"))", "/etc/x.conf: cannot be read")
    }
}
