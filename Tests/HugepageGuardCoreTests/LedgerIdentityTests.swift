@testable import HugepageGuardCore
import XCTest

/// A ledger entry belongs to one domain: its UUID where there is one, else its exact name.
final class LedgerIdentityTests: XCTestCase {
    private func entry(_ domain: String, uuid: String?, pages: UInt64 = 40) -> LedgerEntry {
        LedgerEntry(domain: domain, uuid: uuid, state: .reserved, operation: "prepare", since: 100, owner: nil,
                    items: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: pages)])
    }

    func testNamesThatDifferOnlyInWhitespace_areThreeDomains() {
        var l = Ledger()
        l.reserve(entry("web1", uuid: nil))
        l.reserve(entry("web1 ", uuid: nil))
        l.reserve(entry("\tweb1", uuid: nil))
        XCTAssertEqual(l.entries.map(\.domain), ["web1", "web1 ", "\tweb1"])
        XCTAssertEqual(l.inFlight(excluding: "web1").map(\.pages), [40, 40])
        XCTAssertEqual(l.drop(domain: "web1 ")?.domain, "web1 ")
        XCTAssertEqual(l.entries.map(\.domain), ["web1", "\tweb1"])
    }

    func testNamesAreComparedByteForByte_notByUnicodeEquivalence() {
        // "café" precomposed and decomposed are equal Swift Strings, but two libvirt names.
        var l = Ledger(entries: [entry("caf\u{e9}", uuid: nil)])
        XCTAssertNil(l.entry(domain: "cafe\u{301}"))
        XCTAssertFalse(l.markStarted(domain: "cafe\u{301}", at: 1))
        XCTAssertNotNil(l.entry(domain: "caf\u{e9}"))
    }

    func testTheUUIDDecides_whereBothSidesHaveOne() {
        let a = "6f1c2a1e-0000-4000-8000-00000000000a", b = "6f1c2a1e-0000-4000-8000-00000000000b"
        var l = Ledger()
        l.reserve(entry("web1", uuid: a))
        l.reserve(entry("web1", uuid: b, pages: 8))  // another domain of the same name (redefined)
        XCTAssertEqual(l.entries.count, 2)
        XCTAssertEqual(l.inFlight(excluding: DomainIdentity(name: "web1", uuid: a)).map(\.pages), [8])
        XCTAssertTrue(l.markStarted(DomainIdentity(name: "web1", uuid: b), at: 5))
        XCTAssertEqual(l.entries.map(\.state), [.reserved, .started])
        // Without a UUID (the XML couldn't be read) the name finds the first entry.
        XCTAssertEqual(l.drop(DomainIdentity(name: "web1", uuid: nil))?.uuid, a)
    }

    func testUUIDsAreCanonicalAsLibvirtReadsThem() {
        let canonical = "6f1c2a1e-0000-4000-8000-00000000000a"
        for spelling in ["6F1C2A1E-0000-4000-8000-00000000000A", "6f1c2a1e000040008000 00000000000a", " 6f1c2a1e-0000-4000-8000-00000000000a\n"] {
            XCTAssertEqual(DomainIdentity.canonicalUUID(spelling), canonical, spelling)
        }
        for odd in ["not-a-uuid", "6f1c2a1e-0000-4000-8000-00000000000", "6-f1c2a1e0000400080000000000000000a"] {
            XCTAssertEqual(DomainIdentity.canonicalUUID(odd), odd, "kept as it is")
        }
        let l = Ledger(entries: [entry("web1", uuid: canonical.uppercased())])
        XCTAssertNotNil(l.entry(DomainIdentity(name: "other", uuid: canonical)))
    }
}
