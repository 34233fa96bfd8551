import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class AdmissionGrowthNumaTests: XCTestCase {
    func testStrictNodeDemand_growsOnItsNodeAndRecordsTheNode() throws {
        let dir = try temporaryDirectory(self)
        let root = try copyOfFixture("two-nodes-2m-1g", in: dir)
        try write("MemTotal: 16315416 kB\nMemAvailable: 9000000 kB\nHugepagesize: 2048 kB\n", to: root + "/proc/meminfo")
        for n in 0...1 {
            try write("Node \(n) MemTotal: 8000000 kB\nNode \(n) MemFree: 4000000 kB\n", to: root + "/sys/devices/system/node/node\(n)/meminfo")
        }
        try write("pool.grow = on\n", to: dir + "/guard.conf")
        let kernel = SysfsTreeKernel(root: root, nodeWritesOnly: true)
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
        XCTAssertEqual(kernel.nr(1), 64 + 28)
        XCTAssertEqual(kernel.nr(0), 64, "node 0 untouched")
        XCTAssertEqual(kernel.nr(nil), 128 + 28)
        XCTAssertEqual(try LedgerStore(directory: dir + "/state").read().entry(domain: "db1")?.grown,
                       [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([1]), pages: 28)])
    }
}
