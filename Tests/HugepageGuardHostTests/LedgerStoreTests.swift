import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

final class LedgerStoreTests: XCTestCase {

    private func entry(_ domain: String) -> LedgerEntry {
        LedgerEntry(domain: domain, uuid: nil, state: .reserved, operation: "prepare", since: 1, owner: nil,
                    items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)])
    }

    func testMissingFile_isAnEmptyLedgerReportedAsMissing() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self) + "/state/dir")
        let load = try store.withLock { ledger, load -> LedgerLoad in
            XCTAssertEqual(ledger, Ledger())
            return load
        }
        XCTAssertEqual(load, .missing)
        XCTAssertNotNil(contents(store.ledgerPath), "a fresh file is written")
        XCTAssertEqual(try store.withLock { _, load in load }, .loaded)
    }

    func testRead_withoutDirectoryOrFile_isEmpty() throws {
        XCTAssertEqual(try LedgerStore(directory: try temporaryDirectory(self) + "/nope").read(), Ledger())
        XCTAssertEqual(try LedgerStore(directory: try temporaryDirectory(self)).read(), Ledger())
    }

    func testWithLock_changesArePersistedAndReadBack() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self))
        try store.withLock { ledger, _ in ledger.reserve(entry("web1")); ledger.refusals = 2 }
        let read = try store.read()
        XCTAssertEqual(read.entries.map(\.domain), ["web1"])
        XCTAssertEqual(read.refusals, 2)
    }

    func testCorruptFile_isQuarantinedByteForByteAndReportedAsCorrupt() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self))
        let garbage = Data([0x67, 0x61, 0x72, 0x62, 0x0a, 0xff, 0xfe, 0x00, 0x0a])
        try garbage.write(to: URL(fileURLWithPath: store.ledgerPath))
        let load = try store.withLock { ledger, load -> LedgerLoad in
            XCTAssertEqual(ledger, Ledger())
            return load
        }
        guard case let .corrupt(aside, error) = load else { return XCTFail("expected .corrupt, got \(load)") }
        XCTAssertEqual(error.reason, "is not valid UTF-8 text")
        XCTAssertTrue(aside.hasPrefix(store.ledgerPath + ".corrupt."), aside)
        XCTAssertEqual(contents(aside), garbage, "nothing of the bad file is lost")
        XCTAssertEqual(try store.read(), Ledger(), "a fresh ledger replaced it")
    }

    func testRead_ofACorruptFile_throwsAndDoesNotRepair() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self))
        try write("not a ledger\n", to: store.ledgerPath)
        XCTAssertThrowsError(try store.read()) {
            XCTAssertTrue("\($0)".contains(store.ledgerPath), "\($0)")
        }
        XCTAssertEqual(contents(store.ledgerPath), Data("not a ledger\n".utf8))
    }

    func testThrowingBody_leavesTheFileUnchanged() throws {
        let store = LedgerStore(directory: try temporaryDirectory(self))
        try store.withLock { ledger, _ in ledger.reserve(entry("web1")); ledger.refusals = 3 }
        let before = contents(store.ledgerPath)
        XCTAssertThrowsError(try store.withLock { (ledger: inout Ledger, _: LedgerLoad) throws(LedgerStoreError) in
            ledger.refusals = 99
            ledger.entries.removeAll()
            throw LedgerStoreError.io(HostError(path: store.ledgerPath, reason: "the body failed"))
        })
        XCTAssertEqual(contents(store.ledgerPath), before)
    }

    func testConcurrentWriters_neverLoseAnUpdate() throws {
        let dir = try temporaryDirectory(self)
        let failures = LockedBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let store = LedgerStore(directory: dir)
            for i in 0..<25 {
                do {
                    try store.withLock { ledger, _ in
                        ledger.refusals += 1
                        ledger.reserve(LedgerEntry(domain: "w\(worker)", uuid: nil, state: .reserved, operation: "prepare",
                                                   since: Int64(i), owner: nil, items: []))
                    }
                } catch { failures.update { $0.append("\(error)") } }
            }
        }
        XCTAssertEqual(failures.current, [])
        let ledger = try LedgerStore(directory: dir).read()
        XCTAssertEqual(ledger.refusals, 200)
        XCTAssertEqual(Set(ledger.entries.map(\.domain)), Set((0..<8).map { "w\($0)" }))
        XCTAssertEqual(ledger.entries.map(\.since), Array(repeating: 24, count: 8))
    }

    func testNoTemporaryFilesAreLeftBehind() throws {
        let dir = try temporaryDirectory(self)
        let store = LedgerStore(directory: dir)
        for n in 0..<3 { try store.withLock { ledger, _ in ledger.refusals = UInt64(n) } }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["ledger", "ledger.lock"])
    }
}
