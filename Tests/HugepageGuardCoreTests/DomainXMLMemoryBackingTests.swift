@testable import HugepageGuardCore
import XCTest

final class DomainXMLMemoryBackingTests: XCTestCase {
    func testHugepages_absent_isNil() {
        XCTAssertNil(spec(domainXML())?.hugepages)
    }

    func testHugepages_emptyElement_isOneRequestForTheDefaultSize() {
        let s = spec(domainXML(backing: "<hugepages/>"))
        XCTAssertEqual(s?.hugepages, [HugepageRequest(sizeKiB: nil, guestCells: nil)])
    }

    func testHugepages_pageList_keepsSizesAndNodesetsInOrder() {
        let s = spec(domainXML(backing: """
            <hugepages>
              <page size='2048' unit='KiB' nodeset='0,2-3'/>
              <page size='1' unit='GiB'/>
            </hugepages>
            """))
        XCTAssertEqual(s?.hugepages, [HugepageRequest(sizeKiB: 2048, guestCells: NodeSet([0, 2, 3])),
                                      HugepageRequest(sizeKiB: kib1G, guestCells: nil)])
    }

    func testHugepages_pageWithoutUnit_isKiB() {
        XCTAssertEqual(spec(domainXML(backing: "<hugepages><page size='2048'/></hugepages>"))?.hugepages,
                       [HugepageRequest(sizeKiB: 2048)])
    }

    func testSource_memfd_isRecorded() {
        let s = spec(domainXML(backing: "<hugepages/><source type='memfd'/><access mode='shared'/>"))
        XCTAssertEqual(s?.memfdSource, true)
    }

    func testSource_file_isNotMemfd() {
        XCTAssertEqual(spec(domainXML(backing: "<hugepages/><source type='file'/>"))?.memfdSource, false)
    }

    func testDomain_nameUuidAndMemoryAreRead() {
        let s = spec(domainXML(name: "db 1", memory: "<memory unit='KiB'>131072</memory>",
                               extra: "<currentMemory unit='KiB'>65536</currentMemory>"))
        XCTAssertEqual(s?.name, "db 1")
        XCTAssertEqual(s?.uuid, "c7a5fdbd-cdaf-9455-926a-d65c16db1809")
        XCTAssertEqual(s?.memoryKiB, 131072, "<currentMemory> must not replace <memory>")
    }
}
