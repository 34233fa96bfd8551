@testable import HugepageGuardCore
import XCTest

/// numatune: strict and restrictive confine pages to their nodes; preferred and interleave don't.
final class DemandNumatuneTests: XCTestCase {
    private let twoCells = "<cell id='0' cpus='0' memory='32' unit='MiB'/><cell id='1' cpus='1' memory='32' unit='MiB'/>"

    func testDemand_numatuneMemoryStrictOrRestrictive_confinesPagesToTheNodeset() {
        for mode in [NumaMode.strict, .restrictive] {
            let d = demand(domainXML(backing: "<hugepages/>", numatune: "<memory mode='\(mode.rawValue)' nodeset='1'/>"))
            XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([1]), pages: 48)], mode.rawValue)
            XCTAssertEqual(d?.backends.first?.confined, true)
        }
    }

    func testDemand_numatuneMemoryPreferredOrInterleave_leavesPagesUnconfined() {
        for mode in [NumaMode.preferred, .interleave] {
            guard let d = demand(domainXML(backing: "<hugepages/>", numatune: "<memory mode='\(mode.rawValue)' nodeset='0-1'/>")) else { return }
            XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 48)], mode.rawValue)
            XCTAssertEqual(d.backends.first?.hostNodes, NodeSet([0, 1]), "the backend still records where QEMU is pointed")
            XCTAssertEqual(d.backends.first?.mode, mode)
        }
    }

    func testDemand_numatuneWithoutMode_isStrict() {
        let d = demand(domainXML(backing: "<hugepages/>", numatune: "<memory nodeset='0'/>"))
        XCTAssertEqual(d?.items.first?.hostNodes, NodeSet([0]))
    }

    func testDemand_placementAuto_isUnconfined() {
        let d = demand(domainXML(backing: "<hugepages/>", numatune: "<memory mode='strict' placement='auto'/>"))
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 48)])
    }

    func testDemand_memnodePerCell_overridesNumatuneMemory() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells,
                                 numatune: "<memory mode='strict' nodeset='0-1'/><memnode cellid='1' mode='strict' nodeset='1'/>"))
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([0, 1]), pages: 16),
                                  DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([1]), pages: 16)])
    }

    /// Without a domain-wide strict or restrictive `<memory>`, libvirt sets no cpuset for QEMU's
    /// preallocation, and only a strict memnode binds its backend (restrictive passes no policy).
    func testDemand_memnodeInEveryMode_withoutGlobalNumatune_confinesOnlyForStrict() {
        for mode in NumaMode.allCases {
            let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells,
                                     numatune: "<memnode cellid='0' mode='\(mode.rawValue)' nodeset='2'/>"))
            let expected: [DemandItem] = mode == .strict
                ? [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 16), DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([2]), pages: 16)]
                : [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32)]
            XCTAssertEqual(d?.items, expected, mode.rawValue)
        }
    }

    func testDemand_twoCellsStrictOnDifferentNodes_twoItems() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells,
                                 numatune: "<memnode cellid='0' mode='strict' nodeset='0'/><memnode cellid='1' mode='strict' nodeset='3'/>"))
        XCTAssertEqual(d?.items.map(\.hostNodes), [NodeSet([0]), NodeSet([3])])
        XCTAssertEqual(d?.items.map(\.pages), [16, 16])
    }
}
