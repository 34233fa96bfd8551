@testable import HugepageGuardCore
import XCTest

/// Backends QEMU refuses to create: a hugetlb memfd whose size is not whole pages, and a
/// hugetlbfs file smaller than one page.
final class DemandStartProblemTests: XCTestCase {
    func testMemfd_oddMiB_isRefusedNamingBackendSizePageAndNearestSizes() {
        guard let d = demand(domainXML(memory: "<memory unit='MiB'>147</memory>",
                                       backing: "<hugepages/><source type='memfd'/>")) else { return }
        XCTAssertEqual(d.unstartable.count, 1)
        let text = d.unstartable[0]
        for part in ["pc.ram", "150528 KiB (147 MiB)", "2 MiB", "146 MiB", "148 MiB"] {
            XCTAssertTrue(text.contains(part), "'\(text)' should mention '\(part)'")
        }
    }

    func testMemfd_isCheckedAfterLibvirtsOneMiBAlignment() {
        // 70000 KiB becomes 69 MiB: odd. 69632 KiB becomes 68 MiB: whole pages.
        XCTAssertEqual(demand(domainXML(memory: "<memory>70000</memory>", backing: "<hugepages/><source type='memfd'/>"))?.unstartable.count, 1)
        XCTAssertEqual(demand(domainXML(memory: "<memory>69000</memory>", backing: "<hugepages/><source type='memfd'/>"))?.unstartable, [])
    }

    func testMemfd_perCell() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>66</memory>", backing: "<hugepages/><source type='memfd'/>",
                                 cpu: "<cell id='0' cpus='0' memory='33' unit='MiB'/><cell id='1' cpus='1' memory='33' unit='MiB'/>"))
        XCTAssertEqual(d?.unstartable.count, 2)
        XCTAssertTrue(d?.unstartable[1].contains("ram-node1") == true)
    }

    func testMemfd_oneGiBPages_needWholeGiB() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>1536</memory>",
                                 backing: "<hugepages><page size='1' unit='G'/></hugepages><source type='memfd'/>"))
        XCTAssertEqual(d?.unstartable.count, 1)
        XCTAssertTrue(d?.unstartable.first?.contains("1 GiB") == true && d?.unstartable.first?.contains("2 GiB") == true,
                      d?.unstartable.first ?? "")
    }

    func testFileBacked_unalignedSizes_roundUpAndStart() {
        XCTAssertEqual(demand(domainXML(memory: "<memory unit='MiB'>147</memory>", backing: "<hugepages/>"))?.unstartable, [])
    }

    func testFileBacked_smallerThanOnePage_isRefused() {
        let d = demand(domainXML(memory: "<memory unit='MiB'>96</memory>", backing: "<hugepages/>"),
                       context: PageSizeContext(defaultHugepageKiB: kib1G))
        XCTAssertEqual(d?.unstartable.count, 1)
        XCTAssertTrue(d?.unstartable.first?.contains("smaller than one 1 GiB page") == true, d?.unstartable.first ?? "")
    }
}

extension DemandStartProblemTests {
    func testNumatuneBinding_aBackendThatIsNotWholePages_isRefused() {
        let cells = "<cell id='0' cpus='0' memory='33' unit='MiB'/><cell id='1' cpus='1' memory='34' unit='MiB'/>"
        for mode in NumaMode.allCases {
            let d = demand(domainXML(memory: "<memory unit='MiB'>67</memory>", backing: "<hugepages/>", cpu: cells,
                                     numatune: "<memory mode='\(mode.rawValue)' nodeset='0'/>"))
            // restrictive passes no policy to QEMU, so nothing is bound.
            XCTAssertEqual(d?.unstartable.count, mode == .restrictive ? 0 : 1, mode.rawValue)
            if mode != .restrictive {
                XCTAssertTrue(d?.unstartable.first?.contains("ram-node0") == true && d?.unstartable.first?.contains("34 MiB") == true,
                              d?.unstartable.first ?? "")
            }
        }
        // Without numatune the same cells start: file-backed memory rounds up.
        XCTAssertEqual(demand(domainXML(memory: "<memory unit='MiB'>67</memory>", backing: "<hugepages/>", cpu: cells))?.unstartable, [])
    }
}

extension DemandStartProblemTests {
    func testMemfdWithEmptyHugepages_andNoLibvirtMount_isRefused_butAnExplicitSizeIsFine() {
        let none = PageSizeContext(hasDefaultMount: false)
        let empty = demand(domainXML(memory: "<memory unit='MiB'>96</memory>", backing: "<hugepages/><source type='memfd'/>"), context: none)
        XCTAssertTrue(empty?.unstartable.first?.contains("no hugetlbfs mount") == true, "\(empty?.unstartable ?? [])")
        let explicit = demand(domainXML(memory: "<memory unit='MiB'>96</memory>",
                                        backing: "<hugepages><page size='2048'/></hugepages><source type='memfd'/>"), context: none)
        XCTAssertEqual(explicit?.unstartable, [])
    }
}
