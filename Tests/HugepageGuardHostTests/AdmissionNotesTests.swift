import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The notes written before a decision are log lines with their own level and event.
final class AdmissionNotesTests: XCTestCase {
    func testUnstartableShapeUnderWarn_isAWarningLineOfItsOwnEvent() throws {
        let env = try fixtureEnvironment(self)
        try Data("policy = warn\n".utf8).write(to: URL(fileURLWithPath: env.configPath))
        // 147 MiB of memfd on 2 MiB pages: not whole pages, so QEMU can't create the backend.
        let xml = hostDomain("odd", uuid: "6f1f0a59-0000-4000-8000-0000000000d1", mib: 147)
            .replacingOccurrences(of: "<hugepages/>", with: "<hugepages/><source type='memfd'/>")
        guard case let .decided(_, report, notes) = Admission(environment: env).decide(
            xml: xml, operation: "prepare", reserveFor: nil, reserve: true, hookName: "odd") else {
            return XCTFail("expected a decision under warn")
        }
        XCTAssertEqual(report.decision.verdict, .admit)
        XCTAssertEqual(notes.map(\.event), [.unstartable], "\(notes)")
        XCTAssertEqual(notes.first?.level, .warning)
        XCTAssertEqual(notes.first?["domain"], "odd")
        XCTAssertTrue(notes.first?["problems"]?.contains("QEMU can't start it") ?? false, "\(notes)")
        XCTAssertTrue(notes.first?.text.hasPrefix("level=warning event=unstartable op=prepare domain=odd") ?? false, "\(notes)")
    }
}
