import Foundation
@testable import HugepageGuardCore
import XCTest

/// The README's "Log events" table lists every `LogEvent` case, and nothing else.
final class LogEventReferenceTests: XCTestCase {
    /// The rows of the table: event name -> the backquoted words of its fields cell.
    private func reference(file: StaticString = #filePath) throws -> [(event: String, fields: [String])] {
        let readme = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "\n## Log events\n") else {
            XCTFail("README.md has no '## Log events' section"); return []
        }
        let section = text[start.upperBound...].components(separatedBy: "\n## ")[0]
        return section.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { row in
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            func quoted(_ cell: String) -> [String] {
                cell.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            }
            return (quoted(cells[1]).first ?? "", cells.count > 4 ? quoted(cells[4]) : [])
        }
    }

    func testReadme_listsEveryLogEventOnce_andNoOtherEvent() throws {
        let documented = try reference().map(\.event)
        let cases = LogEvent.allCases.map(\.rawValue)
        XCTAssertFalse(documented.isEmpty)
        XCTAssertEqual(documented.count, Set(documented).count, "an event is listed twice: \(documented)")
        let missing = cases.filter { !documented.contains($0) }
        let unknown = documented.filter { LogEvent(rawValue: $0) == nil }
        XCTAssertEqual(missing, [], "LogEvent cases missing from README.md's 'Log events' table")
        XCTAssertEqual(unknown, [], "README.md's 'Log events' table lists events that LogEvent doesn't have")
    }

    func testReadme_decisionRow_namesEveryFieldTheDecisionLinesCarry() throws {
        guard let row = try reference().first(where: { $0.event == LogEvent.decision.rawValue }) else {
            return XCTFail("no decision row")
        }
        // `pages_<K>kB` stands for pages_2048kB and so on; `pages=0` documents the key `pages`.
        let documented = Set(row.fields.map { $0.split(separator: "=")[0].replacingOccurrences(of: "<K>", with: "#") })
        func pattern(_ key: String) -> String { key.replacingOccurrences(of: "[0-9]+", with: "#", options: .regularExpression) }

        let pool = pool2M(free: [40])
        var demand = demand2M([(nil, 48)])
        demand.uuid = "6f1c2a1e-0000-4000-8000-000000000000"
        let refused = DecisionReport(decision: decide(demand, pool), pool: pool, operation: "prepare")
        var unmounted = pool
        unmounted.mounts = []
        let noMount = DecisionReport(decision: decide(demand, unmounted), pool: unmounted, operation: "prepare")
        let unsupported = DecisionReport(decision: decide(DomainDemand(domain: "x", items: [DemandItem(pageSizeKiB: 64, hostNodes: nil, pages: 1)]), pool),
                                         pool: pool, operation: "prepare")
        let lines = [refused.logLine, noMount.logLine, unsupported.logLine,
                     DecisionReport.noHugepagesLogLine(operation: "prepare", domain: "x", uuid: "u"),
                     DecisionReport.failureLogLine(operation: "prepare", domain: "x", message: "bad")]
        for line in lines {
            XCTAssertEqual(line.event, .decision)
            for key in line.fields.map(\.key) {
                XCTAssertTrue(documented.contains(pattern(key)), "'\(key)' of \(line) is not in the README's decision row")
            }
        }
    }
}
