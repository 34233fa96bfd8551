import HugepageGuardLibvirt
import XCTest

/// Runs against libvirt's in-process `test:///default` driver: no daemon needed.
final class ConnectionTests: XCTestCase {
    func testOpenReadOnly_onTestDriver_listsTheRunningTestDomainWithItsXML() throws {
        let conn = try Connection.openReadOnly("test:///default")
        defer { conn.close() }
        let running = try conn.listAllDomains(activeOnly: true)
        let test = try XCTUnwrap(running.first { $0.name == "test" })
        XCTAssertTrue(try test.isActive())
        XCTAssertEqual(test.uuid.count, 36)
        XCTAssertNotNil(test.id)
        XCTAssertTrue(try test.xml().contains("<name>test</name>"))
    }

    func testSetKeepAlive_onALocalDriverWithoutKeepalive_reportsFalseInsteadOfThrowing() throws {
        let conn = try Connection.openReadOnly("test:///default")
        defer { conn.close() }
        XCTAssertFalse(try conn.setKeepAlive(interval: 5, count: 3))
    }

    func testLookup_ofAMissingDomain_throwsLibvirtsNoDomainErrorWithItsMessage() throws {
        let conn = try Connection.openReadOnly("test:///default")
        defer { conn.close() }
        XCTAssertThrowsError(try conn.domain(name: "hgagent-no-such")) { error in
            guard let e = error as? LibvirtError else { return XCTFail("not a LibvirtError: \(error)") }
            XCTAssertTrue(e.isNoDomain, "code \(e.code)")
            XCTAssertTrue(e.message.hasPrefix("Domain not found"), e.message)
            XCTAssertEqual(e.function, "virDomainLookupByName")
        }
    }

    func testOpen_ofAnUnknownURI_throwsATypedErrorInsteadOfPrinting() {
        XCTAssertThrowsError(try Connection.openReadOnly("nosuchdriver:///x")) { error in
            let e = error as? LibvirtError
            XCTAssertNotNil(e)
            XCTAssertEqual(e?.function, "virConnectOpenReadOnly")
            XCTAssertFalse(e?.message.isEmpty ?? true)
        }
    }

    func testReadOnlyConnection_refusesToStartADomain() throws {
        let conn = try Connection.openReadOnly("test:///default")
        defer { conn.close() }
        let test = try conn.domain(name: "test")
        XCTAssertThrowsError(try test.destroy()) { error in
            XCTAssertTrue((error as? LibvirtError)?.message.lowercased().contains("read") ?? false, "\(error)")
        }
    }
}
