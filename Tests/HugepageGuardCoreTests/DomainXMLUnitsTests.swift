@testable import HugepageGuardCore
import XCTest

/// Every unit libvirt's `virScaleInteger` accepts, through `<memory unit=...>`.
final class DomainXMLUnitsTests: XCTestCase {
    private func memoryKiB(_ value: String, unit: String?) -> UInt64? {
        let attr = unit.map { " unit='\($0)'" } ?? ""
        return spec(domainXML(memory: "<memory\(attr)>\(value)</memory>"))?.memoryKiB
    }

    func testUnits_noUnitMeansKiB() {
        XCTAssertEqual(memoryKiB("70000", unit: nil), 70000)
    }

    func testUnits_bytesRoundUpToWholeKiB() {
        XCTAssertEqual(memoryKiB("1048576", unit: "b"), 1024)
        XCTAssertEqual(memoryKiB("1048576", unit: "bytes"), 1024)
        XCTAssertEqual(memoryKiB("1000", unit: "bytes"), 1)
        XCTAssertEqual(memoryKiB("1025", unit: "b"), 2)
    }

    func testUnits_caseIsFoldedInASCIIOnly_asLibvirtDoes() {
        XCTAssertEqual(memoryKiB("2", unit: "mIb"), 2048)
        // U+212A KELVIN SIGN lower-cases to "k" in Unicode, but libvirt's STRCASEEQ folds ASCII only.
        XCTAssertThrowsError(try DomainSpec(xml: domainXML(memory: "<memory unit='\u{212A}iB'>2</memory>"))) {
            XCTAssertTrue("\($0)".contains("unknown unit"), "\($0)")
        }
    }

    func testUnits_binaryKilo_isOneKiB() {
        XCTAssertEqual(memoryKiB("512", unit: "k"), 512)
        XCTAssertEqual(memoryKiB("512", unit: "KiB"), 512)
    }

    func testUnits_decimalKilo_isThousandBytesRoundedUp() {
        // 1000 KB = 1 000 000 bytes = 976.5625 KiB.
        XCTAssertEqual(memoryKiB("1000", unit: "KB"), 977)
    }

    func testUnits_mega_binaryAndDecimal() {
        XCTAssertEqual(memoryKiB("96", unit: "M"), 98304)
        XCTAssertEqual(memoryKiB("96", unit: "MiB"), 98304)
        // 100 MB = 97656.25 KiB: seen on the real machine to take 48 x 2 MiB.
        XCTAssertEqual(memoryKiB("100", unit: "MB"), 97657)
    }

    func testUnits_giga_binaryAndDecimal() {
        XCTAssertEqual(memoryKiB("1", unit: "G"), 1_048_576)
        XCTAssertEqual(memoryKiB("1", unit: "GiB"), 1_048_576)
        XCTAssertEqual(memoryKiB("1", unit: "GB"), 976_563)
    }

    func testUnits_tera_binaryAndDecimal() {
        XCTAssertEqual(memoryKiB("1", unit: "T"), 1_073_741_824)
        XCTAssertEqual(memoryKiB("1", unit: "TiB"), 1_073_741_824)
        XCTAssertEqual(memoryKiB("1", unit: "TB"), 976_562_500)
    }

    func testUnits_areCaseInsensitive() {
        XCTAssertEqual(memoryKiB("2", unit: "gib"), 2_097_152)
        XCTAssertEqual(memoryKiB("2", unit: "mb"), 1954)
    }

    func testUnits_unitAppliesToCellsPagesAndDeviceSizes() {
        let xml = domainXML(
            memory: "<memory unit='GiB'>2</memory>",
            backing: "<hugepages><page size='1' unit='G'/></hugepages>",
            cpu: "<cell id='0' cpus='0' memory='512' unit='MiB'/><cell id='1' cpus='1' memory='536870912' unit='bytes'/>",
            devices: "<memory model='dimm'><target><size unit='GB'>1</size><node>0</node></target></memory>")
        guard let s = spec(xml) else { return }
        XCTAssertEqual(s.hugepages, [HugepageRequest(sizeKiB: kib1G)])
        XCTAssertEqual(s.cells.map(\.memoryKiB), [524_288, 524_288])
        XCTAssertEqual(s.memoryDevices.first?.sizeKiB, 976_563)
    }

    func testSizeUnit_rejectsUnknownUnitsAndOverflow() {
        XCTAssertNil(SizeUnit.bytes(per: "XB"))
        XCTAssertNil(SizeUnit.bytes(per: "MiBs"))
        XCTAssertNil(SizeUnit.kibibytes(value: UInt64.max, unit: "GiB"))
    }
}
