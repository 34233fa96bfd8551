@testable import HugepageGuardCore
import XCTest

final class HostMemoryTests: XCTestCase {
    func testMeminfo_hostAndNodeFigures() {
        let host = MemoryText.hostFigures(meminfo: "MemTotal:       24684084 kB\nMemFree:        23625740 kB\nMemAvailable:   24238400 kB\n")
        XCTAssertEqual(host, HostMemory.Figures(availableKiB: 24_238_400, totalKiB: 24_684_084))
        let node = MemoryText.nodeFigures(meminfo: "Node 0 MemTotal:        5335244 kB\nNode 0 MemFree:         4276952 kB\nNode 0 MemUsed: 1058292 kB\n")
        XCTAssertEqual(node, HostMemory.Figures(availableKiB: 4_276_952, totalKiB: 5_335_244))
        XCTAssertNil(MemoryText.hostFigures(meminfo: "MemTotal: 12 kB\n"), "no MemAvailable")
    }

    let buddy = """
        Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
        Node 0, zone    DMA32      2      1      4      2      5      4      4      4      5      3    751
        Node 0, zone   Normal    348     31    358    364    151     24     21     27      9     66    238
        Node 1, zone   Normal      0      0      0      0      0      0      0      0      0      4      1
        """

    func testBuddyinfo_sumsZonesButDMAPerNode() {
        let b = MemoryText.buddyinfo(buddy)
        XCTAssertEqual(b[0]?[9], 3 + 66)
        XCTAssertEqual(b[0]?[10], 751 + 238)
        XCTAssertEqual(b[1]?[9], 4)
    }

    func testBuddyEstimate_2MCountsOrderNineAndLargerBlocks_1GCountsWholeGigabytesOfTheLargest() {
        let m = HostMemory(host: .init(availableKiB: 0, totalKiB: 0), freeBlocks: MemoryText.buddyinfo(buddy))
        XCTAssertEqual(m.order(pageSizeKiB: 2048), 9)
        XCTAssertEqual(m.buddyEstimate(pageSizeKiB: 2048, node: 0), 69 + 2 * 989)
        XCTAssertEqual(m.buddyEstimate(pageSizeKiB: 2048, node: 1), 4 + 2)
        XCTAssertEqual(m.buddyEstimate(pageSizeKiB: 2048, node: nil), 69 + 2 * 989 + 6)
        XCTAssertEqual(m.buddyEstimate(pageSizeKiB: 1_048_576, node: 0), 989 / 256)
        XCTAssertNil(HostMemory(host: .init(availableKiB: 0, totalKiB: 0)).buddyEstimate(pageSizeKiB: 2048, node: nil))
    }
}

final class HumanMemoryTests: XCTestCase {
    func testWholeAndTenths() {
        XCTAssertEqual(humanMemory(kib: 65536), "64 MiB")
        XCTAssertEqual(humanMemory(kib: 1536 * 1024), "1.5 GiB")
        XCTAssertEqual(humanMemory(kib: 512), "512 KiB")
        XCTAssertEqual(humanMemory(kib: UInt64.max), "17179869183 TiB")
    }
}
