import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// The two-node fixture as a kernel: a node write changes that node's and the global 2 MiB
/// counters by what it grants.
final class TwoNodeKernel: PoolWriter, @unchecked Sendable {
    let root: String
    init(root: String) { self.root = root }
    var global: String { root + "/sys/kernel/mm/hugepages/hugepages-2048kB" }
    func node(_ n: Int) -> String { root + "/sys/devices/system/node/node\(n)/hugepages/hugepages-2048kB" }
    func get(_ p: String) -> UInt64 { UInt64((try? String(contentsOfFile: p, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }
    func set(_ p: String, _ v: UInt64) { try? "\(v)\n".write(toFile: p, atomically: false, encoding: .utf8) }

    func count(pageSizeKiB: UInt64, node n: Int?) throws(HostError) -> UInt64 { get((n.map(node) ?? global) + "/nr_hugepages") }
    func setCount(_ pages: UInt64, pageSizeKiB: UInt64, node n: Int?) throws(HostError) {
        guard let n else { return XCTFail("confined demand must grow on its node, not globally") }
        let nr = get(node(n) + "/nr_hugepages")
        let delta = Int64(pages) - Int64(nr)
        for dir in [node(n), global] {
            set(dir + "/nr_hugepages", UInt64(Int64(get(dir + "/nr_hugepages")) + delta))
            set(dir + "/free_hugepages", UInt64(Int64(get(dir + "/free_hugepages")) + delta))
        }
    }
    func compact(node: Int?) {}
}

final class AdmissionGrowthNumaTests: XCTestCase {
    func testStrictNodeDemand_growsOnItsNodeAndRecordsTheNode() throws {
        let dir = try temporaryDirectory(self)
        let root = try copyOfFixture("two-nodes-2m-1g", in: dir)
        try write("MemTotal: 16315416 kB\nMemAvailable: 9000000 kB\nHugepagesize: 2048 kB\n", to: root + "/proc/meminfo")
        for n in 0...1 {
            try write("Node \(n) MemTotal: 8000000 kB\nNode \(n) MemFree: 4000000 kB\n", to: root + "/sys/devices/system/node/node\(n)/meminfo")
        }
        try write("pool.grow = on\n", to: dir + "/guard.conf")
        let kernel = TwoNodeKernel(root: root)
        let admission = Admission(environment: GuardEnvironment(sysfsRoot: root, stateDirOverride: dir + "/state", configPath: dir + "/guard.conf"),
                                  poolWriter: kernel)
        // 64 pages on node 1, which has 40 free, minus the 4 pages of resv counted against it: 28 short.
        let xml = """
            <domain><name>db1</name><memory unit='MiB'>128</memory>
            <memoryBacking><hugepages><page size='2' unit='M'/></hugepages></memoryBacking>
            <numatune><memory mode='strict' nodeset='1'/></numatune></domain>
            """
        guard case let .decided(_, report, _) = admission.decide(xml: xml, operation: "prepare", reserveFor: nil, reserve: true) else {
            return XCTFail("no decision")
        }
        XCTAssertEqual(report.decision.verdict, .admit, report.refusalParagraph)
        XCTAssertEqual(report.growth, .grown([GrowStep(pageSizeKiB: 2048, node: 1, pages: 28)]))
        XCTAssertEqual(kernel.get(kernel.node(1) + "/nr_hugepages"), 64 + 28)
        XCTAssertEqual(kernel.get(kernel.node(0) + "/nr_hugepages"), 64, "node 0 untouched")
        XCTAssertEqual(kernel.get(kernel.global + "/nr_hugepages"), 128 + 28)
        XCTAssertEqual(try LedgerStore(directory: dir + "/state").read().entry(domain: "db1")?.grown,
                       [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([1]), pages: 28)])
    }
}
