@testable import HugepageGuardCore
import XCTest

/// QEMU's legacy `-numa node,mem=` path: on machine types whose `numaMemSupported` is set in
/// libvirt's capabilities cache, libvirt builds one `-mem-path` block for all RAM when no cell
/// needs a backend of its own.
final class DemandLegacyNumaTests: XCTestCase {
    private let caps = [QemuCapabilities(emulator: "/usr/bin/qemu-system-x86_64", machines: [
        MachineCapability(virtType: "kvm", name: "pc-i440fx-5.0", numaMemSupported: true),
        MachineCapability(virtType: "kvm", name: "pc-i440fx-7.2", numaMemSupported: false),
        MachineCapability(virtType: "tcg", name: "pc-i440fx-5.0", numaMemSupported: false),
    ])]
    private var context: PageSizeContext { PageSizeContext(capabilities: caps) }

    private func xml(machine: String = "pc-i440fx-5.0", type: String = "kvm", backing: String, cells: [Int], extraCell: String = "",
                     numatune: String = "", emulator: String = "/usr/bin/qemu-system-x86_64") -> String {
        let cellXML = cells.enumerated().map { "<cell id='\($0.offset)' cpus='\($0.offset)' memory='\($0.element)' unit='MiB'\($0.offset == 0 ? extraCell : "")/>" }.joined()
        return domainXML(memory: "<memory unit='MiB'>\(cells.reduce(0, +))</memory>", backing: backing, cpu: cellXML,
                         numatune: numatune, devices: "<emulator>\(emulator)</emulator>")
            .replacingOccurrences(of: "<domain type='kvm'>", with: "<domain type='\(type)'>")
            .replacingOccurrences(of: "<vcpu placement='static'>2</vcpu>",
                                  with: "<vcpu placement='static'>\(cells.count)</vcpu><os><type arch='x86_64' machine='\(machine)'>hvm</type></os>")
    }

    func testLegacyMachine_fourOddCells_roundOnceForAllRam() {
        guard let d = demand(xml(backing: "<hugepages/>", cells: [33, 33, 33, 33]), context: context) else { return }
        XCTAssertEqual(d.pages(ofSize: kib2M), 66)
        XCTAssertEqual(d.backends.map(\.id), ["pc.ram"])
        XCTAssertEqual(d.assumptions, [])
    }

    func testNewMachine_fourOddCells_roundPerCell() {
        let d = demand(xml(machine: "pc-i440fx-7.2", backing: "<hugepages/>", cells: [33, 33, 33, 33]), context: context)
        XCTAssertEqual(d?.pages(ofSize: kib2M), 68)
        XCTAssertEqual(d?.backends.map(\.id), ["ram-node0", "ram-node1", "ram-node2", "ram-node3"])
    }

    func testLegacy_isLookedUpPerVirtType() {
        // tcg lists pc-i440fx-5.0 without numaMemSupported in this cache.
        let d = demand(xml(type: "qemu", backing: "<hugepages/>", cells: [33, 33, 33, 33]), context: context)
        XCTAssertEqual(d?.pages(ofSize: kib2M), 68)
    }

    func testLegacy_firstPageWins_masterThenBaseSizedNodesetPage() {
        // A base-size page for cell 0 doesn't need a backend: the first <page>, 2 MiB, backs all RAM.
        let d = demand(xml(backing: "<hugepages><page size='2048'/><page size='4' nodeset='0'/></hugepages>", cells: [64, 64]),
                       context: context)
        XCTAssertEqual(d?.items, [DemandItem(pageSizeKiB: kib2M, hostNodes: nil, pages: 64)])
    }

    func testLegacy_firstPageWins_baseSizedFirstMeansNoHugepages() {
        let d = demand(xml(backing: "<hugepages><page size='4' nodeset='0'/><page size='2048'/></hugepages>", cells: [64, 64]),
                       context: context)
        XCTAssertEqual(d?.isZero, true)
        XCTAssertEqual(d?.backends.map(\.id), ["pc.ram"])
    }

    func testLegacy_sumsCellsAlignedToOneMiB() {
        // Five cells of 1200 KiB become 5 x 2 MiB after libvirt's 1 MiB alignment: 10 MiB, 5 pages.
        let cells = (0..<5).map { "<cell id='\($0)' cpus='\($0)' memory='1200' unit='KiB'/>" }.joined()
        let text = xml(backing: "<hugepages/>", cells: [1]).replacingOccurrences(of: "<cell id='0' cpus='0' memory='1' unit='MiB'/>", with: cells)
        XCTAssertEqual(demand(text, context: context)?.pages(ofSize: kib2M), 5)
    }

    func testCellNeedingItsOwnBackend_forcesPerCellBackendsOnALegacyMachine() {
        let cases: [(String, String, String, String)] = [
            ("nodeset page", "<hugepages><page size='2048' nodeset='1'/><page size='2048'/></hugepages>", "", ""),
            ("memnode", "<hugepages/>", "", "<memnode cellid='1' mode='strict' nodeset='0'/>"),
            ("cell memAccess", "<hugepages/>", " memAccess='shared'", ""),
            ("domain access", "<hugepages/><access mode='shared'/>", "", ""),
            ("memfd", "<hugepages/><source type='memfd'/>", "", ""),
            ("file", "<hugepages/><source type='file'/>", "", ""),
        ]
        for (what, backing, cellAttr, numatune) in cases {
            let d = demand(xml(backing: backing, cells: [34, 34], extraCell: cellAttr, numatune: numatune), context: context)
            XCTAssertEqual(d?.backends.map(\.id), ["ram-node0", "ram-node1"], what)
        }
    }

    func testHMAT_forcesPerCellBackends() {
        let text = xml(backing: "<hugepages/>", cells: [33, 33])
            .replacingOccurrences(of: "</numa>", with: "<interconnects><latency initiator='0' target='1' type='access' value='5'/></interconnects></numa>")
        XCTAssertEqual(demand(text, context: context)?.pages(ofSize: kib2M), 34)
    }

    func testUnreadableCapabilities_countsTheLargerAnswer_andSaysSo() {
        let unknown = PageSizeContext(capabilities: nil)
        // Per cell is larger here (68 > 66).
        guard let d = demand(xml(backing: "<hugepages/>", cells: [33, 33, 33, 33]), context: unknown) else { return }
        XCTAssertEqual(d.pages(ofSize: kib2M), 68)
        XCTAssertEqual(d.assumptions.count, 1)
        XCTAssertTrue(d.assumptions[0].contains("counted the larger"), d.assumptions[0])
        XCTAssertTrue(d.assumptions[0].contains("66") && d.assumptions[0].contains("68"), d.assumptions[0])
        // The legacy answer is larger here (64 > 32).
        let e = demand(xml(backing: "<hugepages><page size='2048'/><page size='4' nodeset='0'/></hugepages>", cells: [64, 64]),
                       context: unknown)
        XCTAssertEqual(e?.pages(ofSize: kib2M), 64)
        XCTAssertEqual(e?.assumptions.count, 1)
    }

    func testCapabilitiesOfAnotherEmulator_doNotApply() {
        let d = demand(xml(backing: "<hugepages/>", cells: [33, 33, 33, 33], emulator: "/usr/bin/qemu-system-i386"), context: context)
        XCTAssertEqual(d?.assumptions.count, 1)
    }
}
