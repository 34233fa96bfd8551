@testable import HugepageGuardCore
import XCTest

final class GrowthConfigTests: XCTestCase {
    func testNoPoolKeys_growthIsOffAndShrinkOnWithATenPercentFloor() throws {
        let c = try GuardConfig.parse("policy = enforce\n", source: "t")
        XCTAssertFalse(c.growth.grow)
        XCTAssertTrue(c.growth.shrink)
        XCTAssertEqual(c.growth.minAvailable, .percent(10))
        XCTAssertEqual(c.growth.caps, [])
    }

    func testEveryPoolKey_isParsed() throws {
        let c = try GuardConfig.parse("""
            pool.grow = on
            pool.grow.max.2M = 4096
            pool.grow.max.1G.node1 = 8
            pool.grow.min_available = 2G
            pool.shrink = off
            """, source: "t")
        XCTAssertTrue(c.growth.grow)
        XCTAssertFalse(c.growth.shrink)
        XCTAssertEqual(c.growth.minAvailable, .kib(2 * 1024 * 1024))
        XCTAssertEqual(c.growth.cap(pageSizeKiB: 2048, node: nil), 4096)
        XCTAssertEqual(c.growth.cap(pageSizeKiB: 1_048_576, node: 1), 8)
        XCTAssertNil(c.growth.cap(pageSizeKiB: 1_048_576, node: nil))
    }

    func testTwoSpellingsOfOneCap_areADuplicate() {
        let pairs = [("pool.grow.max.2M", "pool.grow.max.2048kB"), ("pool.grow.max.1G.node1", "pool.grow.max.1GiB.node01")]
        for (first, second) in pairs {
            XCTAssertThrowsError(try GuardConfig.parse("\(first) = 1\n\(second) = 2\n", source: "f")) { e in
                XCTAssertEqual((e as? ConfigError)?.line, 2)
                XCTAssertTrue("\(e)".contains("set twice (first on line 1 as '\(first)', the same key in another spelling)"), "\(e)")
            }
        }
        // A cap and a reserve of the same size are different keys.
        XCTAssertNoThrow(try GuardConfig.parse("pool.grow.max.2M = 1\nreserve.2M = 2\n", source: "f"))
    }

    func testBadValues_nameTheKeyAndLine() {
        let cases = ["pool.grow = yes": "pool.grow 'yes' is not one of on, off",
                     "pool.shrink = 1": "pool.shrink '1' is not one of on, off",
                     "pool.grow.max.2M = -1": "must be a whole number of pages",
                     "pool.grow.max.3X = 1": "expected a page size like 2M or 1G",
                     "pool.grow.max.2M.node1.x = 1": "expected pool.grow.max.<size> or pool.grow.max.<size>.node<N>",
                     "pool.grow.max.2M = +1": "must be a whole number of pages (digits only)",
                     "pool.grow.max.2M = 1_000": "must be a whole number of pages (digits only)",
                     "pool.grow.max.2M = 18446744073709551616": "is out of range",
                     "pool.grow.max.2M.node1024 = 1": "node numbers go from 0 to 1023",
                     "pool.grow.min_available = +2G": "must be a size like 2G",
                     "pool.grow.min_available = 1_0%": "must be a size like 2G",
                     "pool.grow.max.2M.nodeA = 1": "expected a node like node0",
                     "pool.grow.min_available = 2": "must be a size like 2G",
                     "pool.grow.min_available = 101%": "must be a size like 2G",
                     "pool.grow.sideways = on": "unknown key 'pool.grow.sideways'"]
        for (line, message) in cases {
            XCTAssertThrowsError(try GuardConfig.parse("\n" + line + "\n", source: "/etc/x.conf")) { e in
                XCTAssertEqual((e as? ConfigError)?.line, 2, line)
                XCTAssertTrue("\(e)".contains(message), "\(line): \(e)")
                XCTAssertTrue("\(e)".contains("/etc/x.conf"), "\(e)")
            }
        }
    }

    func testFloor_sizeOrPercentOfTotal() {
        XCTAssertEqual(MemoryFloor.parse("512M"), .kib(512 * 1024))
        XCTAssertEqual(MemoryFloor.parse("1T"), .kib(1 << 30))
        XCTAssertEqual(MemoryFloor.parse("25%")?.kib(ofTotal: 1000), 250)
        XCTAssertEqual(MemoryFloor.kib(7).kib(ofTotal: 1000), 7)
        XCTAssertNil(MemoryFloor.parse("99999999999999999999G"))
        XCTAssertNil(MemoryFloor.parse("18446744073709551615G"), "overflow is refused, not wrapped")
    }

    func testDomainMetadata_growOff() throws {
        let xml = """
            <domain><name>a</name><memory>1024</memory>
            <metadata><hg:guard xmlns:hg="\(metadataNamespace)" grow="off"/></metadata></domain>
            """
        let spec = try DomainSpec(xml: xml)
        XCTAssertEqual(spec.growOverride, false)
        XCTAssertNil(spec.policyOverride)
        let bad = xml.replacing("grow=\"off\"", with: "grow=\"maybe\"")
        XCTAssertThrowsError(try DomainSpec(xml: bad)) { XCTAssertTrue("\($0)".contains("<metadata><guard grow>"), "\($0)") }
    }
}
