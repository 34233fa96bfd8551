import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class SysfsPoolReaderTests: XCTestCase {
    private func read(_ root: String, file: StaticString = #filePath, line: UInt = #line) -> HugepagePool? {
        do { return try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read() } catch {
            XCTFail("\(error)", file: file, line: line); return nil
        }
    }

    func testOneNode2M_readsGlobalAndNodeCountersAndTheMount() {
        guard let pool = read(fixtureRoot("one-node-2m")) else { return }
        XCTAssertEqual(pool.sizes.keys.sorted(), [2048])
        XCTAssertEqual(pool.sizes[2048], PagePool(sizeKiB: 2048, nr: 64, free: 64, resv: 0, surplus: 0,
                                                  nodes: [0: NodeCounts(nr: 64, free: 64, surplus: 0)]))
        XCTAssertEqual(pool.mounts, [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: 2048)])
        XCTAssertEqual(pool.kernelDefaultKiB, 2048)
        XCTAssertEqual(pool.libvirtDefaultKiB, 2048)
    }

    func testFreeOnly_readsEveryNodesFreePages_andSaysItSkippedTheTotals() throws {
        let root = try copyOfFixture("eight-nodes-2m-1g", in: try temporaryDirectory(self))
        // Overcommitted pages, so that a surplus read and one skipped differ.
        for dir in ["/sys/kernel/mm/hugepages/hugepages-2048kB", "/sys/devices/system/node/node0/hugepages/hugepages-2048kB"] {
            try "3\n".write(toFile: root + dir + "/surplus_hugepages", atomically: true, encoding: .utf8)
        }
        let environment = GuardEnvironment(sysfsRoot: root)
        let all = try SysfsPoolReader(environment: environment).read()
        let light = try SysfsPoolReader(environment: environment).read(nodes: .freeOnly)
        XCTAssertTrue(all.nodeTotalsRead)
        XCTAssertFalse(light.nodeTotalsRead)
        XCTAssertEqual(all.sizes[2048]?.surplus, 3)
        XCTAssertEqual(all.sizes[2048]?.nodes[0]?.surplus, 3)
        XCTAssertEqual(light.sizes.keys.sorted(), all.sizes.keys.sorted())
        for (size, pool) in all.sizes {
            let l = try XCTUnwrap(light.sizes[size])
            XCTAssertEqual([l.nr, l.free, l.resv], [pool.nr, pool.free, pool.resv], "global counters of \(size)")
            XCTAssertEqual(l.surplus, 0, "no decision reads a size's surplus: not read")
            XCTAssertEqual(l.nodes.mapValues(\.free), pool.nodes.mapValues(\.free), "free pages per node of \(size)")
            XCTAssertTrue(l.nodes.values.allSatisfy { $0.nr == 0 && $0.surplus == 0 })
        }
    }

    func testFreeOnly_skipsANodeWithoutTheSize_butAMissingCounterIsAnError() throws {
        let root = try copyOfFixture("two-nodes-2m-1g", in: try temporaryDirectory(self))
        let node1 = root + "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB"
        try FileManager.default.removeItem(atPath: node1)
        let environment = GuardEnvironment(sysfsRoot: root)
        XCTAssertEqual(try SysfsPoolReader(environment: environment).read(nodes: .freeOnly).sizes[1_048_576]?.nodes.keys.sorted(), [0])
        XCTAssertEqual(try SysfsPoolReader(environment: environment).read().sizes[1_048_576]?.nodes.keys.sorted(), [0])
        let free0 = root + "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"
        try FileManager.default.removeItem(atPath: free0)
        for nodes in [SysfsPoolReader.NodeCounters.all, .freeOnly] {
            XCTAssertThrowsError(try SysfsPoolReader(environment: environment).read(nodes: nodes)) {
                XCTAssertEqual("\($0)", "\(free0): missing")
            }
        }
    }

    func testTwoNodes2M1G_readsBothSizesPerNodeWithResv() {
        guard let pool = read(fixtureRoot("two-nodes-2m-1g")) else { return }
        XCTAssertEqual(pool.sizes.keys.sorted(), [2048, 1_048_576])
        let p2 = pool.sizes[2048]
        XCTAssertEqual(p2?.nr, 128)
        XCTAssertEqual(p2?.free, 100)
        XCTAssertEqual(p2?.resv, 4)
        XCTAssertEqual(p2?.available, 96)
        XCTAssertEqual(p2?.nodes[0], NodeCounts(nr: 64, free: 60, surplus: 0))
        XCTAssertEqual(p2?.nodes[1], NodeCounts(nr: 64, free: 40, surplus: 0))
        XCTAssertEqual(pool.sizes[1_048_576]?.nodes.keys.sorted(), [0, 1])
        XCTAssertEqual(pool.mounts.map(\.pageSizeKiB), [2048, 1_048_576], "pagesize=1024M is 1 GiB")
    }

    func testEightNodes2M1G_readsEveryNodeAndUnescapesTheMountPath() {
        guard let pool = read(fixtureRoot("eight-nodes-2m-1g")) else { return }
        XCTAssertEqual(pool.sizes[2048]?.nodes.keys.sorted(), Array(0...7))
        XCTAssertEqual(pool.sizes[2048]?.nodes[3]?.free, 8)
        XCTAssertEqual(pool.sizes[2048]?.free, 232)
        XCTAssertEqual(pool.sizes[1_048_576]?.nodes[7]?.free, 0)
        XCTAssertEqual(pool.mount(forPageSize: 1_048_576)?.path, "/mnt/huge 1G")
    }

    func testEightNodes_strictDemandOnTheShortNodeIsRefused_unconfinedFits() {
        guard let pool = read(fixtureRoot("eight-nodes-2m-1g")) else { return }
        func verdict(_ nodes: NodeSet?, _ pages: UInt64) -> Decision.Verdict {
            Decision.evaluate(AdmissionInput(demand: DomainDemand(domain: "v", items: [DemandItem(pageSizeKiB: 2048, hostNodes: nodes, pages: pages)]),
                                             pool: pool, inFlight: [], config: GuardConfig())).verdict
        }
        XCTAssertEqual(verdict(NodeSet([3]), 10), .refuse)
        XCTAssertEqual(verdict(NodeSet([2]), 10), .admit)
        XCTAssertEqual(verdict(nil, 232), .admit)
        XCTAssertEqual(verdict(nil, 233), .refuse)
    }

    func testRootWithTrailingSlash_isTheSameRoot() {
        XCTAssertEqual(read(fixtureRoot("one-node-2m") + "/"), read(fixtureRoot("one-node-2m")))
    }

    func testMissingHugepagesDirectory_isAnErrorNamingThePath() throws {
        let dir = try temporaryDirectory(self)
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: dir)).read()) {
            XCTAssertTrue("\($0)".contains("sys/kernel/mm/hugepages"), "\($0)")
        }
    }

    func testUnreadableCounter_isAnErrorNamingTheFile() throws {
        let root = try copyOfFixture("one-node-2m", in: try temporaryDirectory(self))
        let counter = root + "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
        try write("lots\n", to: counter)
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()) {
            XCTAssertTrue("\($0)".contains(counter) && "\($0)".contains("lots"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: counter)
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()) {
            XCTAssertTrue("\($0)".contains(counter), "\($0)")
        }
    }

    func testASizeEntryThatIsNotADirectory_isSkipped_aSizeDirectoryWithoutItsCountersIsAnError() throws {
        let root = try copyOfFixture("one-node-2m", in: try temporaryDirectory(self))
        try write("not a directory\n", to: root + "/sys/kernel/mm/hugepages/hugepages-4096kB")
        XCTAssertEqual(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read().sizes.keys.sorted(), [2048])
        let empty = root + "/sys/kernel/mm/hugepages/hugepages-8192kB"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        XCTAssertThrowsError(try SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root)).read()) {
            XCTAssertEqual("\($0)", "\(empty)/nr_hugepages: missing")
        }
    }

    func testNoMounts_meansNoMountsNotAnError() throws {
        let root = try copyOfFixture("one-node-2m", in: try temporaryDirectory(self))
        try FileManager.default.removeItem(atPath: root + "/proc/mounts")
        XCTAssertEqual(read(root)?.mounts, [])
    }

    func testEnvironment_hostJoinsPathsUnderTheRoot() {
        XCTAssertEqual(GuardEnvironment(sysfsRoot: "/").host("/proc/meminfo"), "/proc/meminfo")
        XCTAssertEqual(GuardEnvironment(sysfsRoot: "/fx").host("/proc/meminfo"), "/fx/proc/meminfo")
        XCTAssertEqual(GuardEnvironment(sysfsRoot: "/fx/").host("/proc/meminfo"), "/fx/proc/meminfo")
        var c = GuardConfig(); c.stateDir = "/from/config"
        XCTAssertEqual(GuardEnvironment().stateDir(config: c), "/from/config")
        XCTAssertEqual(GuardEnvironment(stateDirOverride: "/tmp/x").stateDir(config: c), "/tmp/x")
    }
}
