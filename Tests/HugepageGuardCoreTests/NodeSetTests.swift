@testable import HugepageGuardCore
import XCTest

/// NodeSet.parse reads node sets the way libvirt's virBitmapParse does.
final class NodeSetTests: XCTestCase {
    func testExclusion_appliesLeftToRightLikeLibvirt() {
        XCTAssertEqual(NodeSet.parse("0-3,^2"), NodeSet([0, 1, 3]))
        XCTAssertEqual(NodeSet.parse("^2,0-3"), NodeSet([0, 1, 2, 3]), "a later range sets the bit again")
        XCTAssertEqual(NodeSet.parse("0-3,^2,2"), NodeSet([0, 1, 2, 3]))
        XCTAssertEqual(NodeSet.parse("0-3,^2,^2,5"), NodeSet([0, 1, 3, 5]))
        XCTAssertNil(NodeSet.parse("0,^0"), "an empty result is no node set")
    }

    func testSpaces_allowedAroundNumbersDashesAndCommas() {
        XCTAssertEqual(NodeSet.parse(" 0 - 2 , 5 "), NodeSet([0, 1, 2, 5]))
        XCTAssertEqual(NodeSet.parse("\t1\n,\r3\u{0B}"), NodeSet([1, 3]))
        XCTAssertNil(NodeSet.parse("1 2"))
        XCTAssertNil(NodeSet.parse("^ 2,3"), "libvirt wants a digit right after ^")
    }

    func testCommas_oneTrailingCommaIsAccepted() {
        XCTAssertEqual(NodeSet.parse("0,"), NodeSet([0]))
        XCTAssertEqual(NodeSet.parse("0, "), NodeSet([0]))
        for bad in [",0", "0,,1", ",", " "] {
            XCTAssertNil(NodeSet.parse(bad), "'\(bad)' must not parse")
        }
    }

    func testRangeEnd_takesASignAsStrtolDoes() {
        XCTAssertEqual(NodeSet.parse("0-+3"), NodeSet([0, 1, 2, 3]))
        XCTAssertEqual(NodeSet.parse("0--0"), NodeSet([0]))
        XCTAssertNil(NodeSet.parse("1--0"))
        XCTAssertNil(NodeSet.parse("0-+"))
        XCTAssertNil(NodeSet.parse("^1-3"), "an exclusion is one number")
    }

    func testIds_above4095AreRefusedButMayBeExcluded() {
        XCTAssertEqual(NodeSet.parse("4095"), NodeSet([4095]))
        XCTAssertEqual(NodeSet.parse("4090-4095"), NodeSet(4090...4095))
        XCTAssertNil(NodeSet.parse("4096"))
        XCTAssertNil(NodeSet.parse("0-4096"))
        // libvirt's bitmap has 16384 bits: clearing one past our ids is a no-op there too.
        XCTAssertEqual(NodeSet.parse("1,^5000"), NodeSet([1]))
        XCTAssertNil(NodeSet.parse("1,^16384"))
        XCTAssertNil(NodeSet.parse("99999999999999999999999999"))
        XCTAssertEqual(NodeSet.parse("0000000000000000000000000007"), NodeSet([7]), "leading zeros, as strtol reads them")
    }

    func testNul_endsTheTextAsInC() {
        XCTAssertEqual(NodeSet.parse("1\u{0}junk"), NodeSet([1]))
    }

    func testRanges_crossingWordBoundariesAreExact() {
        XCTAssertEqual(NodeSet.parse("63-64"), NodeSet([63, 64]))
        XCTAssertEqual(NodeSet.parse("0-63"), NodeSet(0...63))
        XCTAssertEqual(NodeSet.parse("1-128,^64"), NodeSet(Array(1...63) + Array(65...128)))
        XCTAssertEqual(NodeSet.parse("0-4095"), NodeSet(0...4095))
    }

    func testHundredThousandRanges_parseToTheRightSet() {
        // Ranges are set a word at a time and the text is read once: 100k full-width ranges
        // (700 KB) are one pass, where expanding each range was 400M insertions.
        let wide = Array(repeating: "0-4095", count: 100_000).joined(separator: ",") + ",^7"
        XCTAssertEqual(NodeSet.parse(wide)?.ids, Array(0...4095).filter { $0 != 7 })
        let strided = (0..<100_000).map { i -> String in
            let lo = (i * 37) % 4000
            return "\(lo)-\(lo + (i % 3))"
        }.joined(separator: ",")
        var expected = Set<Int>()
        for i in 0..<100_000 { let lo = (i * 37) % 4000; expected.formUnion(lo...(lo + (i % 3))) }
        XCTAssertEqual(NodeSet.parse(strided), NodeSet(expected))
    }

    func testContains_findsExactlyTheMembers() {
        let set = NodeSet([0, 3, 64, 4095])
        for id in [0, 3, 64, 4095] { XCTAssertTrue(set.contains(id), "\(id)") }
        for id in [-1, 1, 2, 63, 65, 4094, 4096] { XCTAssertFalse(set.contains(id), "\(id)") }
        XCTAssertFalse(NodeSet([]).contains(0))
    }
}
