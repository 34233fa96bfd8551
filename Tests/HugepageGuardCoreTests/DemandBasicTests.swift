@testable import HugepageGuardCore
import XCTest

/// No guest NUMA: one `pc.ram` backend of the initial memory.
final class DemandBasicTests: XCTestCase {
    func testDemand_noNumaDefaultHugepages96MiB_takes48TwoMiBPages() {
        guard let d = demand(domainXML(backing: "<hugepages/>")) else { return }
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 48)])
        XCTAssertEqual(d.backends.map(\.id), ["pc.ram"])
        XCTAssertEqual(d.backends.first?.sizeKiB, 98304)
        XCTAssertEqual(d.domain, "web1")
    }

    func testDemand_70000KiB_roundsUpTo35Pages() {
        let d = demand(domainXML(memory: "<memory>70000</memory>", backing: "<hugepages/>"))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 35)
    }

    func testDemand_100DecimalMegabytes_takes48Pages() {
        let d = demand(domainXML(memory: "<memory unit='MB'>100</memory>", backing: "<hugepages/>"))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 48)
    }

    func testDemand_oneDecimalGigabyte_takes477Pages() {
        let d = demand(domainXML(memory: "<memory unit='GB'>1</memory>", backing: "<hugepages><page size='2' unit='M'/></hugepages>"))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 477)
    }

    func testDemand_oneGiBPages_1536MiBRoundsUpToTwoPages() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>1536</memory>",
                                 backing: "<hugepages><page size='1' unit='GiB'/></hugepages>"))
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 2)])
    }

    func testDemand_pageOfTheBasePageSize_takesNoHugepages() {
        guard let d = demand(domainXML(backing: "<hugepages><page size='4' unit='KiB'/></hugepages>")) else { return }
        XCTAssertTrue(d.isZero)
        XCTAssertEqual(d.items, [])
        XCTAssertNil(d.backends.first?.pageSizeKiB)
    }

    func testDemand_basePageSizeComesFromTheContext() {
        // On a 64 KiB-page host a 4 KiB <page> is not the base size; a 64 KiB one is.
        let ctx = PageSizeContext(basePageKiB: 64, defaultHugepageKiB: 524_288)
        XCTAssertEqual(demand(domainXML(backing: "<hugepages><page size='64'/></hugepages>"), context: ctx)?.isZero, true)
        XCTAssertEqual(demand(domainXML(backing: "<hugepages/>"), context: ctx)?.items,
                       [DemandItem(pageSizeKiB: 524_288, hostNodes: nil, pages: 1)])
    }

    func testDemand_emptyHugepages_usesTheContextsDefaultSize() {
        let ctx = PageSizeContext(basePageKiB: 4, defaultHugepageKiB: kib1G)
        let d = demand(domainXML(memory: "<memory unit='GiB'>3</memory>", backing: "<hugepages/>"), context: ctx)
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 3)])
    }

    func testDemand_noHugepagesElement_isZero() {
        guard let d = demand(domainXML()) else { return }
        XCTAssertTrue(d.isZero)
        XCTAssertEqual(d.items, [])
        XCTAssertEqual(d.pageSizes, [])
    }

    func testDemand_currentMemoryBelowMemory_doesNotReduceDemand() {
        let d = demand(domainXML(backing: "<hugepages/>", extra: "<currentMemory unit='MiB'>32</currentMemory>"))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 48)
    }

    func testDemand_maxMemory_isOnlyACeiling() {
        let d = demand(domainXML(backing: "<hugepages/>", extra: "<maxMemory slots='4' unit='GiB'>8</maxMemory>"))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 48)
    }

    func testDemand_noNumaWithOnlyAPageForNodesetZero_pcRamCountsAsCellZero() {
        // Observed on libvirt 9.0 (Tests/Fixtures/domains/nonuma-page-nodeset.xml):
        // 64 MiB took 32 x 2 MiB pages.
        let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>",
                                 backing: "<hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages>"))
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32)])
    }
}
