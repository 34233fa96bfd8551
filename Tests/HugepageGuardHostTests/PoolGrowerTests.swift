import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// A kernel that grants at most `grant` pages per write (less after a compaction when
/// `grantAfterCompaction` says so) and frees only free pages.
final class FakeKernel: PoolWriter, @unchecked Sendable {
    struct Key: Hashable { var size: UInt64; var node: Int? }
    private let lock = NSLock()
    var counts: [Key: UInt64] = [:]
    /// Pages in use per pool: a shrink never frees them.
    var inUse: [Key: UInt64] = [:]
    var grant: [Key: UInt64] = [:]
    var grantAfterCompaction: [Key: UInt64] = [:]
    var compactions: [Int?] = []
    var writes: [(Key, UInt64)] = []
    var log: [String] = []

    init(_ counts: [Key: UInt64]) { self.counts = counts }

    func count(pageSizeKiB: UInt64, node: Int?) throws(HostError) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        log.append("read")
        return counts[Key(size: pageSizeKiB, node: node)] ?? 0
    }

    func setCount(_ pages: UInt64, pageSizeKiB: UInt64, node: Int?) throws(HostError) {
        lock.lock(); defer { lock.unlock() }
        let k = Key(size: pageSizeKiB, node: node)
        log.append("write")
        writes.append((k, pages))
        let now = counts[k] ?? 0
        if pages > now {
            let compacted = compactions.contains { $0 == node }
            let limit = (compacted ? grantAfterCompaction[k] : nil) ?? grant[k] ?? UInt64.max
            counts[k] = now + min(pages - now, limit)
        } else {
            counts[k] = max(pages, inUse[k] ?? 0)
        }
    }

    func compact(node: Int?) { lock.lock(); compactions.append(node); log.append("compact"); lock.unlock() }
}

final class PoolGrowerTests: XCTestCase {
    let g2 = FakeKernel.Key(size: 2048, node: nil)
    let n1 = FakeKernel.Key(size: 2048, node: 1)
    let g1G = FakeKernel.Key(size: 1_048_576, node: nil)

    func testEveryStepGranted_growsRelativeToTheCurrentCount() {
        let k = FakeKernel([g2: 100, n1: 7])
        let steps = [GrowStep(pageSizeKiB: 2048, node: nil, pages: 32), GrowStep(pageSizeKiB: 2048, node: 1, pages: 5)]
        XCTAssertEqual(PoolGrower(writer: k).grow(steps), .granted(steps))
        XCTAssertEqual(k.counts[g2], 132)
        XCTAssertEqual(k.counts[n1], 12)
        XCTAssertTrue(k.compactions.isEmpty, "2 MiB pages granted at once need no compaction")
    }

    func testKernelGrantsPart_everyCountIsPutBackExactly() {
        let k = FakeKernel([g2: 100, n1: 7, g1G: 2])
        k.grant[n1] = 3                 // node 1 gives 3 of 10, also after compaction
        let steps = [GrowStep(pageSizeKiB: 2048, node: nil, pages: 32),
                     GrowStep(pageSizeKiB: 2048, node: 1, pages: 10),
                     GrowStep(pageSizeKiB: 1_048_576, node: nil, pages: 1)]
        let result = PoolGrower(writer: k).grow(steps)
        guard case let .rolledBack(asked, got, unrestored) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(asked, steps)
        XCTAssertEqual(got.map(\.pages), [32, 6, 0], "3 at the first write, 3 more after the one compaction")
        XCTAssertEqual(unrestored, [])
        XCTAssertEqual(k.counts, [g2: 100, n1: 7, g1G: 2], "every count back as it was")
        XCTAssertEqual(k.compactions, [1], "compacted once, on the node, and never looped")
        XCTAssertEqual(k.writes.filter { $0.0 == n1 && $0.1 > 7 }.count, 2, "one write and one retry")
        XCTAssertNil(k.writes.first { $0.0 == g1G }, "the step after the short one was never tried")
    }

    func testCompactionHelps_theRetryIsGranted() {
        let k = FakeKernel([g2: 0])
        k.grant[g2] = 10
        k.grantAfterCompaction[g2] = 100
        let steps = [GrowStep(pageSizeKiB: 2048, node: nil, pages: 32)]
        XCTAssertEqual(PoolGrower(writer: k).grow(steps), .granted(steps))
        XCTAssertEqual(k.counts[g2], 32)
        XCTAssertEqual(k.compactions, [nil], "the global compact_memory, once")
    }

    func testGiganticPages_compactBeforeTheFirstAsk() {
        let k = FakeKernel([g1G: 0])
        _ = PoolGrower(writer: k).grow([GrowStep(pageSizeKiB: 1_048_576, node: nil, pages: 1)])
        XCTAssertEqual(Array(k.log.prefix(3)), ["read", "compact", "write"])
        XCTAssertEqual(k.counts[g1G], 1)
    }

    func testRollbackThatCantFreeInUsePages_saysWhatWasLeft() {
        let k = FakeKernel([g2: 10])
        k.grant[g2] = 5
        k.grantAfterCompaction[g2] = 0
        k.inUse[g2] = 13                 // someone mapped 3 of the 5 new pages at once
        let result = PoolGrower(writer: k).grow([GrowStep(pageSizeKiB: 2048, node: nil, pages: 8)])
        guard case let .rolledBack(_, _, unrestored) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(unrestored, [GrowStep(pageSizeKiB: 2048, node: nil, pages: 3)])
    }

    func testSafeShrink_neverTakesPagesOthersCountOn() {
        var pool = HugepagePool(sizes: [2048: PagePool(sizeKiB: 2048, nr: 100, free: 50, resv: 4, surplus: 0,
                                                       nodes: [0: NodeCounts(nr: 60, free: 30, surplus: 0), 1: NodeCounts(nr: 40, free: 20, surplus: 0)])])
        var c = GuardConfig()
        c.reserves = [HostReserve(pageSizeKiB: 2048, node: nil, pages: 6), HostReserve(pageSizeKiB: 2048, node: 1, pages: 4)]
        let inFlight = [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 10), DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([1]), pages: 8)]
        // Size: 50 - 4 resv - 18 in flight - 10 reserve = 18. Node 1: 20 - 8 - 4 = 8.
        let out = PoolGrowth.safeShrink([GrowStep(pageSizeKiB: 2048, node: 1, pages: 32), GrowStep(pageSizeKiB: 2048, node: nil, pages: 32)],
                                        pool: pool, inFlight: inFlight, config: c)
        XCTAssertEqual(out.map(\.pages), [8, 10])
        pool.sizes[2048]!.free = 0
        XCTAssertEqual(PoolGrowth.safeShrink([GrowStep(pageSizeKiB: 2048, node: nil, pages: 3)], pool: pool, inFlight: [], config: GuardConfig()).map(\.pages), [0])
    }
}
