@testable import HugepageGuardCore
import XCTest

final class DomainXMLNumaTests: XCTestCase {
    func testCells_withIds_keepTheirIds() {
        let s = spec(domainXML(cpu: "<cell id='1' cpus='0' memory='32' unit='MiB'/><cell id='0' cpus='1' memory='64' unit='MiB'/>"))
        XCTAssertEqual(s?.cells, [GuestCell(id: 1, memoryKiB: 32768), GuestCell(id: 0, memoryKiB: 65536)])
    }

    func testCells_withoutIds_areNumberedInDocumentOrder() {
        let s = spec(domainXML(cpu: "<cell cpus='0' memory='32768'/><cell cpus='1' memory='16384'/>"))
        XCTAssertEqual(s?.cells, [GuestCell(id: 0, memoryKiB: 32768), GuestCell(id: 1, memoryKiB: 16384)])
    }

    func testNumatuneMemory_everyMode_isParsed() {
        for mode in NumaMode.allCases {
            let s = spec(domainXML(numatune: "<memory mode='\(mode.rawValue)' nodeset='1-2'/>"))
            XCTAssertEqual(s?.numatune.memory, NumaTuneEntry(mode: mode, nodeset: NodeSet([1, 2])), mode.rawValue)
        }
    }

    func testNumatuneMemory_withoutMode_defaultsToStrict() {
        XCTAssertEqual(spec(domainXML(numatune: "<memory nodeset='0'/>"))?.numatune.memory,
                       NumaTuneEntry(mode: .strict, nodeset: NodeSet([0])))
    }

    func testNumatuneMemory_placementAuto_hasNoNodeset() {
        let s = spec(domainXML(numatune: "<memory mode='strict' placement='auto'/>"))
        XCTAssertEqual(s?.numatune.memory, NumaTuneEntry(mode: .strict, nodeset: nil))
    }

    func testNumatuneMemnode_everyMode_isKeyedByCell() {
        for mode in NumaMode.allCases {
            let s = spec(domainXML(
                cpu: "<cell id='0' cpus='0' memory='32768'/><cell id='1' cpus='1' memory='32768'/>",
                numatune: "<memory mode='strict' nodeset='0'/><memnode cellid='1' mode='\(mode.rawValue)' nodeset='3'/>"))
            XCTAssertEqual(s?.numatune.memnodes, [1: NumaTuneEntry(mode: mode, nodeset: NodeSet([3]))], mode.rawValue)
            XCTAssertEqual(s?.numatune.memory, NumaTuneEntry(mode: .strict, nodeset: NodeSet([0])))
        }
    }

    func testNodeSet_parsesRangesAndExclusions() {
        XCTAssertEqual(NodeSet.parse("0-3,^2,5"), NodeSet([0, 1, 3, 5]))
        XCTAssertEqual(NodeSet.parse(" 1 "), NodeSet([1]))
        XCTAssertEqual(NodeSet([0, 1, 2, 5, 7, 8]).description, "0-2,5,7-8")
        for bad in ["", "a", "3-1", "0-", "1,,2", "-1", "^0"] {
            XCTAssertNil(NodeSet.parse(bad), "'\(bad)' must not parse")
        }
    }
}
