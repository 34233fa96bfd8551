@testable import HugepageGuardCore
import XCTest

/// qemu.conf's memory_backing_dir, the cpuset cgroup, and libvirt's DIMM aliases.
final class DemandHostFactsTests: XCTestCase {
    private let twoCells = "<cell id='0' cpus='0' memory='32' unit='MiB'/><cell id='1' cpus='1' memory='32' unit='MiB'/>"

    func testSharedAccessWithoutHugepages_takesPagesWhenMemoryBackingDirIsOnHugetlbfs() {
        let xml = domainXML(memory: "<memory unit='MiB'>96</memory>", backing: "<access mode='shared'/>")
        XCTAssertEqual(demand(xml)?.isZero, true)
        XCTAssertEqual(demand(xml, context: PageSizeContext(memoryBackingDirPageKiB: kib2M))?.pages(ofSize: kib2M), 48)
        let file = domainXML(memory: "<memory unit='MiB'>96</memory>", backing: "<source type='file'/>")
        XCTAssertEqual(demand(file, context: PageSizeContext(memoryBackingDirPageKiB: kib2M))?.pages(ofSize: kib2M), 48)
        // memfd is never a file in memory_backing_dir.
        let memfd = domainXML(memory: "<memory unit='MiB'>96</memory>", backing: "<source type='memfd'/><access mode='shared'/>")
        XCTAssertEqual(demand(memfd, context: PageSizeContext(memoryBackingDirPageKiB: kib2M))?.isZero, true)
    }

    func testGlobalStrict_confinesEveryMemnodeWhateverItsMode() {
        for mode in NumaMode.allCases {
            let d = demand(domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells,
                                     numatune: "<memory mode='strict' nodeset='0-1'/><memnode cellid='0' mode='\(mode.rawValue)' nodeset='1'/>"))
            // Cell 0: a strict memnode binds it to node 1; any other mode follows the cgroup's 0-1.
            let cell0 = mode == .strict ? NodeSet([1]) : NodeSet([0, 1])
            XCTAssertEqual(d?.backends.map(\.allowedNodes), [cell0, NodeSet([0, 1])], mode.rawValue)
        }
    }

    func testGlobalRestrictive_confinesThroughCpuset_onlyWhenLibvirtCanUseIt() {
        let xml = domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells,
                            numatune: "<memory mode='restrictive' nodeset='3'/><memnode cellid='1' mode='restrictive' nodeset='2'/>")
        XCTAssertEqual(demand(xml)?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([3]), pages: 32)])
        XCTAssertEqual(demand(xml, context: PageSizeContext(cpusetUsable: false))?.items,
                       [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 32)])
        let unknown = demand(xml, context: PageSizeContext(cpusetUsable: nil))
        XCTAssertEqual(unknown?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([3]), pages: 32)])
        XCTAssertEqual(unknown?.assumptions.contains { $0.contains("cpuset") }, true)
    }

    func testGlobalStrictWithoutCpuset_processBindHoldsOnlyWhereNoBackendPolicy() {
        let xml = domainXML(memory: "<memory unit='MiB'>64</memory>", backing: "<hugepages/>", cpu: twoCells,
                            numatune: "<memory mode='strict' nodeset='0'/><memnode cellid='0' mode='preferred' nodeset='1'/><memnode cellid='1' mode='restrictive' nodeset='1'/>")
        let d = demand(xml, context: PageSizeContext(cpusetUsable: false))
        // preferred gives cell 0 its own policy (may spill); restrictive gives none, so the
        // process-wide bind to node 0 holds for cell 1.
        XCTAssertEqual(d?.backends.map(\.allowedNodes), [nil, NodeSet([0])])
    }

    func testDimmNodemask_underRestrictive_followsTheGlobalNodes() {
        let xml = domainXML(memory: "<memory unit='MiB'>96</memory>", backing: "<hugepages/>",
                            cpu: "<cell id='0' cpus='0-1' memory='64' unit='MiB'/>",
                            numatune: "<memory mode='restrictive' nodeset='4-5'/>",
                            devices: "<memory model='dimm'><source><nodemask>7</nodemask></source><target><size unit='MiB'>32</size><node>0</node></target></memory>")
        XCTAssertEqual(demand(xml)?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: NodeSet([4, 5]), pages: 48)])
    }

    func testDimmAliases_followTheSlot_notACountPerModel() {
        let devices = [
            MemoryDevice(model: .dimm, sizeKiB: 1, slot: 2),
            MemoryDevice(model: .dimm, sizeKiB: 1),
            MemoryDevice(model: .nvdimm, sizeKiB: 1),
            MemoryDevice(model: .virtioMem, sizeKiB: 1),
            MemoryDevice(model: .virtioMem, alias: "virtiomem4", sizeKiB: 1),
            MemoryDevice(model: .dimm, alias: "ua-mine", sizeKiB: 1),
            MemoryDevice(model: .dimm, sizeKiB: 1),
        ]
        XCTAssertEqual(DeviceAliases.assign(devices), ["dimm2", "dimm0", "nvdimm1", "virtiomem5", "virtiomem4", "ua-mine", "dimm3"])
    }

    func testDimmAliases_manyDevicesWithoutAliases_getDistinctSlots() {
        let devices = (0..<30_000).map { _ in MemoryDevice(model: .dimm, sizeKiB: 2048) }
        let aliases = DeviceAliases.assign(devices)
        XCTAssertEqual(Set(aliases).count, 30_000)
        XCTAssertEqual(aliases.last, "dimm29999")
    }

    func testHugeSums_saturateInsteadOfTrapping() {
        let cells = (0..<3).map { GuestCell(id: $0, memoryKiB: .max / 2) }
        var spec = DomainSpec(name: "x", memoryKiB: .max, hugepages: [HugepageRequest(sizeKiB: 4)], cells: cells)
        spec.hugepages = [HugepageRequest(sizeKiB: 1)]
        let d = DomainDemand(spec: spec, context: PageSizeContext(capabilities: [QemuCapabilities(emulator: "e", machines: [])]))
        XCTAssertEqual(d.pages(ofSize: 1), .max)
    }
}

extension DemandHostFactsTests {
    func testFileBackedDevicesAndCells_takeMemoryBackingDirPages_andDefaultAccessIsNone() {
        let ctx = PageSizeContext(memoryBackingDirPageKiB: kib2M)
        let cells = "<cell id='0' cpus='0' memory='32' unit='MiB' memAccess='shared'/><cell id='1' cpus='1' memory='32' unit='MiB' memAccess='default'/>"
        let dimm = { (attr: String, node: Int) in
            "<memory model='dimm'\(attr)><target><size unit='MiB'>4</size><node>\(node)</node></target></memory>" }
        let d = demand(domainXML(memory: "<memory unit='MiB'>76</memory>", cpu: cells,
                                 devices: dimm("", 0) + dimm("", 1) + dimm(" access='private'", 1)), context: ctx)
        // Cell 0 (shared) and its DIMM, and the private DIMM on cell 1: 16 + 2 + 2 pages.
        XCTAssertEqual(d?.backends.map(\.pageSizeKiB), [kib2M, nil, kib2M, nil, kib2M])
        XCTAssertEqual(d?.pages(ofSize: kib2M), 20)
    }
}
