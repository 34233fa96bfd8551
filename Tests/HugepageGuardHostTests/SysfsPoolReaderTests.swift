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

    func testNeeded_readsOnlyTheSizesAndNodesNamed_andEveryNodeOnceResvIsAboveZero() throws {
        let root = try copyOfFixture("eight-nodes-2m-1g", in: try temporaryDirectory(self))
        // Counters nobody asks for can't be read: reading them would fail.
        func spoil(_ path: String) throws { try write("spoiled\n", to: root + path) }
        try spoil("/sys/devices/system/node/node5/hugepages/hugepages-2048kB/free_hugepages")
        try spoil("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages")
        let reader = SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root))
        func read(_ sizes: [CounterNeeds.Size]) throws -> HugepagePool { try reader.read(nodes: .needed(CounterNeeds(sizes: sizes))) }

        let bound = try read([.init(pageSizeKiB: 2048, allNodes: false, nodes: [1, 3, 9])])
        XCTAssertEqual(bound.sizes.keys.sorted(), [2048])
        XCTAssertEqual(bound.sizes[2048]?.nodes.mapValues(\.free), [1: 32, 3: 8], "node 9 is not on this host")
        XCTAssertEqual([bound.sizes[2048]?.nr, bound.sizes[2048]?.free, bound.sizes[2048]?.resv], [256, 232, 0])
        XCTAssertFalse(bound.nodeTotalsRead)
        let whole = try read([.init(pageSizeKiB: 2048, allNodes: false, nodes: [])])
        XCTAssertEqual(whole.sizes[2048]?.nodes, [:])
        XCTAssertEqual(whole.sizes[2048]?.free, 232)

        // Every node, when asked, or when the kernel has pages reserved for a mapping.
        XCTAssertThrowsError(try read([.init(pageSizeKiB: 2048, allNodes: true, nodes: [])]))
        try write("2\n", to: root + "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages")
        XCTAssertThrowsError(try read([.init(pageSizeKiB: 2048, allNodes: false, nodes: [1])])) {
            XCTAssertTrue("\($0)".contains("node5"), "\($0)")
        }
        XCTAssertEqual(try read([.init(pageSizeKiB: 2048, allNodes: false, nodes: [])]).sizes[2048]?.resv, 2)
        // A size asked for is read whole.
        XCTAssertThrowsError(try read([.init(pageSizeKiB: 1_048_576, allNodes: false, nodes: [])]))
    }

    /// A decision on the counters it names is the decision on the whole pool, for every mix
    /// of bound and unbound pages, other starts, host reserves and `resv`, fitting or not.
    func testDecisionOnTheCountersItNames_isTheDecisionOnTheWholePool() throws {
        let root = try copyOfFixture("eight-nodes-2m-1g", in: try temporaryDirectory(self))
        let reader = SysfsPoolReader(environment: GuardEnvironment(sysfsRoot: root))
        let sets: [[Int]?] = [nil, [3], [0, 1], [0, 1, 2, 3], [5, 6, 7], [7]]
        let reserveChoices: [[HostReserve]] = [[], [HostReserve(pageSizeKiB: 2048, node: 3, pages: 4)],
                                               [HostReserve(pageSizeKiB: 2048, node: nil, pages: 16)],
                                               [HostReserve(pageSizeKiB: 1_048_576, node: 7, pages: 1)]]
        var compared = 0, refused = 0
        for resv in [0, 6] {
            try write("\(resv)\n", to: root + "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages")
            let whole = try reader.read()
            for vmNodes in sets {
                for size in [UInt64(2048), 1_048_576] {
                    for pages in [UInt64(1), 24, 100] {
                        for otherNodes in sets + [[2]] {
                          for otherPages in [UInt64(8), 40] {
                            for reserves in reserveChoices {
                                var config = GuardConfig()
                                config.reserves = reserves
                                let demand = DomainDemand(domain: "vm", items: [
                                    DemandItem(pageSizeKiB: size, hostNodes: vmNodes.map { NodeSet($0) }, pages: size == 2048 ? pages : pages / 24 + 1)])
                                let inFlight = [DemandItem(pageSizeKiB: 2048, hostNodes: otherNodes.map { NodeSet($0) }, pages: otherPages),
                                                DemandItem(pageSizeKiB: 1_048_576, hostNodes: otherNodes.map { NodeSet($0) }, pages: 1)]
                                let needs = Decision.counterNeeds(demand: demand, inFlight: inFlight, config: config)
                                let part = try reader.read(nodes: .needed(needs))
                                func decide(_ pool: HugepagePool) -> Decision {
                                    Decision.evaluate(AdmissionInput(demand: demand, pool: pool, inFlight: inFlight, config: config))
                                }
                                let a = decide(whole), b = decide(part)
                                XCTAssertEqual(a, b, "vm \(String(describing: vmNodes)) \(size) kB × \(pages), \(otherPages) others on \(String(describing: otherNodes)), reserves \(reserves), resv \(resv)")
                                compared += 1
                                if a.verdict == .refuse { refused += 1 }
                            }
                          }
                        }
                    }
                }
            }
        }
        // With `resv` above 0, its pages may lie on nodes no group names: here they must, for
        // the start to fit beside another start that takes most of nodes 0 and 1.
        let demand = DomainDemand(domain: "vm", items: [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0]), pages: 20)])
        let inFlight = [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([0, 1]), pages: 40)]
        let part = try reader.read(nodes: .needed(Decision.counterNeeds(demand: demand, inFlight: inFlight, config: GuardConfig())))
        XCTAssertEqual(part.sizes[2048]?.resv, 6)
        XCTAssertEqual(part.sizes[2048]?.nodes.count, 8, "every node, once resv is above 0")
        XCTAssertEqual(Decision.evaluate(AdmissionInput(demand: demand, pool: part, inFlight: inFlight, config: GuardConfig())).verdict, .admit)
        // Both outcomes were compared, many times each.
        XCTAssertGreaterThan(refused, 100)
        XCTAssertGreaterThan(compared - refused, 100)
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
