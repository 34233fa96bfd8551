import HugepageGuardCore
import XCTest

final class NumaMapsTests: XCTestCase {
    func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/numa_maps/\(name).numa_maps")
        return try String(contentsOf: url, encoding: .utf8)
    }

    func testPlacement_ofTwoNodesAndTwoSizes_sumsEveryHugeMappingPerSizeAndNode() throws {
        let p = try NumaMaps.hugepagePlacement(fixture("two-nodes-two-sizes"))
        // ram-node0 (256 on N0), ram-node1 (6 on N0, 244 on N1), an anonymous hugetlb
        // mapping (4 on N1); the 1 GiB DIMM interleaved over both nodes.
        XCTAssertEqual(p.pages, [2048: [0: 262, 1: 248], 1048576: [0: 1, 1: 1]])
        XCTAssertEqual(p.pages(ofSize: 2048), 510)
        XCTAssertEqual(p.nodes(ofSize: 1048576), [0, 1])
    }

    func testPlacement_ofADeletedBackingFile_countsItsPages_andIgnoresOrdinaryMemory() throws {
        let maps = try NumaMaps.parse(fixture("file-backed-deleted"))
        let huge = maps.filter(\.isHuge)
        XCTAssertEqual(huge.count, 1)
        XCTAssertEqual(huge[0].file, "/dev/hugepages/libvirt/qemu/22-hgagent-nmcap2/qemu_back_mem.pc.ram.U6p8R4\\040(deleted)")
        XCTAssertEqual(huge[0].pageSizeKiB, 2048)
        XCTAssertEqual(try NumaMaps.hugepagePlacement(fixture("file-backed-deleted")).pages, [2048: [0: 32]])
    }

    func testPlacement_ofMemfdBackends_countsEachMapping() throws {
        XCTAssertEqual(try NumaMaps.hugepagePlacement(fixture("memfd")).pages, [2048: [0: 48]])
    }

    func testPlacement_ofAProcessWithoutHugepages_isEmpty() throws {
        let text = "55d0c1a00000 default file=/usr/bin/cat mapped=2 N0=2 kernelpagesize_kB=4\n7ffc6b5e1000 default stack anon=9 dirty=9 N0=9 kernelpagesize_kB=4\n"
        XCTAssertEqual(try NumaMaps.hugepagePlacement(text), HugepagePlacement())
        XCTAssertEqual(try NumaMaps.hugepagePlacement(""), HugepagePlacement())
    }

    func testParse_rejectsALineThatIsNotAMapping_namingTheLine() {
        XCTAssertThrowsError(try NumaMaps.parse("7f00 default N0=1 kernelpagesize_kB=4\nnot-an-address default\n")) { e in
            XCTAssertEqual((e as? NumaMaps.ParseError)?.line, 2)
        }
        XCTAssertThrowsError(try NumaMaps.parse("7f00 default huge N0=x kernelpagesize_kB=2048\n")) { e in
            XCTAssertEqual("\(e)", "numa_maps line 1: N0 'x' is not a page count")
        }
        XCTAssertThrowsError(try NumaMaps.parse("7f00 default huge N0=1 kernelpagesize_kB=0\n"))
        XCTAssertThrowsError(try NumaMaps.hugepagePlacement("7f00 default huge N0=18446744073709551615 kernelpagesize_kB=2048\n7f01 default huge N0=1 kernelpagesize_kB=2048\n"))
    }
}
