import Foundation
import HugepageGuardCore
import XCTest

/// What a refusal puts on stderr (libvirt shows it to the admin) and in the log: one line,
/// whatever characters the domain XML holds.
final class HookRefusalTextTests: XCTestCase {
    func testRefusal_ofADomainWhoseNameHoldsLineBreaksAndBidiControls_isOneEscapedLine() throws {
        let h = try HookHarness(self)
        // libvirt decodes these character references before it hands the XML to the hook.
        let name = "big&#10;error: Domain big started&#13;&#x85;&#x2028;&#x202e;&#x2066;"
        // libvirt runs the hook with the decoded name as argv[1].
        let r = try h.hook("big\nerror: Domain big started\r\u{85}\u{2028}\u{202e}\u{2066}", "prepare", "begin",
                           stdin: hugepageDomain(name, mib: 256))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("\n"), r.stderr)
        XCTAssertTrue(r.stderr.dropLast().unicodeScalars.allSatisfy { !TerminalText.mustEscape($0) }, r.stderr.debugDescription)
        XCTAssertTrue(r.stderr.contains("domain 'big\\nerror: Domain big started\\r\\u0085\\u2028\\u202E\\u2066'"), r.stderr)

        let log = String(decoding: FileManager.default.contents(atPath: h.logPath) ?? Data(), as: UTF8.self)
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 1, log.debugDescription)
        XCTAssertFalse(log.unicodeScalars.contains { $0 != "\n" && TerminalText.mustEscape($0) }, log.debugDescription)
        XCTAssertEqual(h.logLines.last?["domain"], "big\nerror: Domain big started\r\u{85}\u{2028}\u{202e}\u{2066}")
    }
}
