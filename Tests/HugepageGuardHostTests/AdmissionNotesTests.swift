import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The notes written before a decision are log lines with their own level and event.
final class AdmissionNotesTests: XCTestCase {
    func testUnstartableShape_isRefusedAndCounted_underWarnAdmittedWithTheProblemInTheDecisionLine() throws {
        let env = try fixtureEnvironment(self)
        // 63 MiB of memfd on 2 MiB pages: the pool holds it, but it is not whole pages, so QEMU
        // can't create the backend.
        let xml = hostDomain("odd", uuid: "6f1f0a59-0000-4000-8000-0000000000d1", mib: 63)
            .replacingOccurrences(of: "<hugepages/>", with: "<hugepages/><source type='memfd'/>")
        func decide() -> DecisionReport? {
            guard case let .decided(_, report, _) = Admission(environment: env).decide(
                xml: xml, operation: "prepare", reserveFor: nil, reserve: true, hookName: "odd") else { return nil }
            return report
        }
        guard let refused = decide() else { return XCTFail("expected a decision") }
        XCTAssertEqual(refused.decision.verdict, .refuse)
        XCTAssertTrue(refused.refusalParagraph.contains("QEMU can't start it as defined"), refused.refusalParagraph)
        XCTAssertTrue(refused.refusalParagraph.contains("memfd backend pc.ram"), refused.refusalParagraph)
        XCTAssertEqual(try LedgerStore(directory: env.stateDirOverride!).read().refusals, 1, "a refusal like any other")

        // Where the pool is short too, the refusal says both.
        let big = hostDomain("odd", uuid: "6f1f0a59-0000-4000-8000-0000000000d1", mib: 147)
            .replacingOccurrences(of: "<hugepages/>", with: "<hugepages/><source type='memfd'/>")
        guard case let .decided(_, both, _) = Admission(environment: env).decide(
            xml: big, operation: "prepare", reserveFor: nil, reserve: true, hookName: "odd") else { return XCTFail("expected a decision") }
        XCTAssertTrue(both.refusalParagraph.contains("QEMU can't start it as defined, and the hugepage pool can't hold it"),
                      both.refusalParagraph)

        try Data("policy = warn\n".utf8).write(to: URL(fileURLWithPath: env.configPath))
        guard let warned = decide() else { return XCTFail("expected a decision under warn") }
        XCTAssertEqual(warned.decision.verdict, .admit)
        XCTAssertEqual(warned.logLine.level, .warning)
        XCTAssertTrue(warned.logLine["unstartable"]?.contains("memfd backend pc.ram") ?? false, warned.logLine.text)
    }
}
