@testable import HugepageGuardCore
import XCTest

/// Memory devices: a `mem<alias>` backend each; initial memory is `<memory>` minus them all.
final class DemandDeviceTests: XCTestCase {
    private let oneCell = "<cell id='0' cpus='0-1' memory='64' unit='MiB'/>"

    private func dimm(_ sizeMiB: Int, node: Int = 0, source: String = "") -> String {
        "<memory model='dimm'>\(source.isEmpty ? "" : "<source>\(source)</source>")<target><size unit='MiB'>\(sizeMiB)</size><node>\(node)</node></target></memory>"
    }

    func testDemand_noNumaWithDimm_initialMemoryIsMemoryMinusDevices() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>1088</memory>",
                                       backing: "<hugepages><page size='2' unit='M'/></hugepages>",
                                       devices: dimm(1024, source: "<pagesize unit='GiB'>1</pagesize>"))) else { return }
        XCTAssertEqual(d.backends.first?.id, "pc.ram")
        XCTAssertEqual(d.backends.first?.sizeKiB, 65536)
        // Seen on the real machine: 32 x 2 MiB + 1 x 1 GiB.
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32),
                                 DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 1)])
    }

    func testDemand_dimmWithOwnPagesizeWithoutHugepages_takesOnlyTheDimmPages() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>1088</memory>", cpu: oneCell,
                                       devices: dimm(1024, source: "<pagesize unit='KiB'>1048576</pagesize>"))) else { return }
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib1G, hostNodes: nil, pages: 1)])
        XCTAssertNil(d.backends.first { $0.id == "ram-node0" }?.pageSizeKiB)
    }

    func testDemand_dimmWithoutPagesize_inheritsThePageOfItsTargetCell() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>192</memory>",
                                 backing: "<hugepages><page size='2048' nodeset='1'/></hugepages>",
                                 cpu: "<cell id='0' cpus='0' memory='32' unit='MiB'/><cell id='1' cpus='1' memory='32' unit='MiB'/>",
                                 devices: dimm(64, node: 1) + dimm(64, node: 0)))
        // cell 1 (16) + DIMM on cell 1 (32); cell 0 and its DIMM stay ordinary.
        XCTAssertEqual(d?.pages(ofSize: kib2M), 48)
        XCTAssertEqual(d?.backends.map(\.pageSizeKiB), [nil, kib2M, kib2M, nil])
    }

    func testDemand_dimmNodemask_confinesItsPagesToThoseHostNodes() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>128</memory>", backing: "<hugepages/>", cpu: oneCell,
                                 devices: dimm(64, source: "<nodemask>1</nodemask>")))
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32),
                                  DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([1]), pages: 32)])
    }

    func testDemand_dimmWithoutNodemask_followsNumatuneOfItsTargetCell() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>128</memory>", backing: "<hugepages/>", cpu: oneCell,
                                 numatune: "<memnode cellid='0' mode='strict' nodeset='2'/>",
                                 devices: dimm(64)))
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([2]), pages: 64)])
    }

    func testDemand_dimmsRoundUpSeparately() {
        // Two 3 MiB DIMMs of 2 MiB pages: 2 + 2 pages, plus 32 for the cell.
        let d = demand(domainXML(memory: "<memory unit='MiB'>70</memory>", backing: "<hugepages/>", cpu: oneCell,
                                 devices: dimm(3) + dimm(3)))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 36)
    }

    func testDemand_nvdimmAndVirtioPmem_takeNoHugepages() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>832</memory>", backing: "<hugepages/>", cpu: oneCell, devices: """
            <memory model='nvdimm'><source><path>/tmp/nv</path></source><target><size unit='MiB'>512</size><node>0</node></target></memory>
            <memory model='virtio-pmem'><source><path>/tmp/pm</path></source><target><size unit='MiB'>256</size></target></memory>
            """)) else { return }
        XCTAssertEqual(d.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32)])
        XCTAssertEqual(d.backends.count, 3)
        XCTAssertEqual(d.backends.dropFirst().map(\.pages), [0, 0])
    }

    func testDemand_virtioMem_countsRequestedNotFullSize() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>320</memory>", backing: "<hugepages/>", cpu: oneCell, devices: """
            <memory model='virtio-mem'><target><size unit='MiB'>256</size><node>0</node>
              <block unit='MiB'>2</block><requested unit='MiB'>64</requested></target></memory>
            """))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 32 + 32)
        XCTAssertEqual(d?.backends.last?.sizeKiB, 262_144)
    }

    func testDemand_virtioMemWithoutRequested_countsNothingForTheDevice() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>320</memory>", backing: "<hugepages/>", cpu: oneCell, devices: """
            <memory model='virtio-mem'><target><size unit='MiB'>256</size><node>0</node><block unit='MiB'>2</block></target></memory>
            """))
        XCTAssertEqual(d?.pages(ofSize: kib2M), 32)
    }

    func testDemand_memfdSource_countsLikeFileBacking() {
        guard let s = spec(domainXML(backing: "<hugepages/><source type='memfd'/><access mode='shared'/>")) else { return }
        XCTAssertTrue(s.memfdSource)
        XCTAssertEqual(DomainDemand(spec: s, context: PageSizeContext()).pages(ofSize: kib2M), 48)
    }

    func testDemand_devicesWithoutAlias_getLibvirtsPerModelAliases() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>448</memory>", backing: "<hugepages/>", cpu: oneCell, devices: """
            <memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target></memory>
            <memory model='virtio-mem'><target><size unit='MiB'>128</size><node>0</node><block unit='MiB'>2</block></target></memory>
            <memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target></memory>
            <memory model='virtio-mem'><target><size unit='MiB'>128</size><node>0</node><block unit='MiB'>2</block></target></memory>
            """))
        XCTAssertEqual(d?.backends.dropFirst().map(\.id), ["memdimm0", "memvirtiomem0", "memdimm1", "memvirtiomem1"])
    }

    func testDemand_backendIdsUseTheDeviceAlias() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>128</memory>", backing: "<hugepages/>", cpu: oneCell,
                                 devices: "<memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target><alias name='dimm0'/></memory>"))
        XCTAssertEqual(d?.backends.map(\.id), ["ram-node0", "memdimm0"])
    }
}
