@testable import HugepageGuardCore
import XCTest

/// Guest NUMA cells: one `ram-node<i>` per cell, each rounded up alone.
final class DemandNumaTests: XCTestCase {
    private let twoCells = "<cell id='0' cpus='0' memory='32' unit='MiB'/><cell id='1' cpus='1' memory='32' unit='MiB'/>"

    func testDemand_twoCellsDefaultHugepages_oneBackendPerCell() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells)) else { return }
        XCTAssertEqual(d.backends.map(\.id), ["ram-node0", "ram-node1"])
        XCTAssertEqual(d.backends.map(\.guestCell), [0, 1])
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32)])
    }

    func testDemand_twoCellsOf3MiB_roundUpPerCell_fourPagesNotThree() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>6</memory>", backing: "<hugepages/>",
                                 cpu: "<cell id='0' cpus='0' memory='3' unit='MiB'/><cell id='1' cpus='1' memory='3' unit='MiB'/>"))
        XCTAssertEqual(d?.backends.map(\.pages), [2, 2])
        XCTAssertEqual(d?.pages(ofSize: kib2M), 4)
    }

    func testDemand_twoCellsWithNodesetPageForCellZero_onlyCellZeroTakesHugepages() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>",
                                       backing: "<hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages>",
                                       cpu: twoCells)) else { return }
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 16)])
        XCTAssertEqual(d.backends.map(\.pageSizeKiB), [kib2M, nil])
    }

    func testDemand_nodesetPageAndMasterPage_uncoveredCellFallsBackToMaster() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>1088</memory>",
                                       backing: "<hugepages><page size='2048' nodeset='0'/><page size='1' unit='G'/></hugepages>",
                                       cpu: "<cell id='0' cpus='0' memory='64' unit='MiB'/><cell id='1' cpus='1' memory='1024' unit='MiB'/>"))
        else { return }
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32),
                                 DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 1)])
        XCTAssertEqual(d.pageSizes, [kib2M, kib1G])
    }

    func testDemand_masterPageOfBaseSize_uncoveredCellUsesOrdinaryMemory() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>",
                                 backing: "<hugepages><page size='4' unit='KiB'/><page size='2048' nodeset='1'/></hugepages>",
                                 cpu: twoCells))
        XCTAssertEqual(d?.backends.map(\.pageSizeKiB), [nil, kib2M])
        XCTAssertEqual(d?.pages(ofSize: kib2M), 16)
    }

    func testDemand_cellsWithoutIds_areMatchedByPosition() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>",
                                 backing: "<hugepages><page size='2048' nodeset='1'/></hugepages>",
                                 cpu: "<cell cpus='0' memory='16' unit='MiB'/><cell cpus='1' memory='48' unit='MiB'/>"))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 24)
    }
}
