import CExpatXML
@testable import HugepageGuardCore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Inputs an attacker or a broken tool could hand the hook. Each is either refused with
/// the reason, or read correctly; none is expanded, loaded or printed. The limits tested
/// here are the ones Sources/CExpatXML/include/hg_xml.h lists.
final class HostileXMLTests: XCTestCase {
    // MARK: - helpers

    private func refusal(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> DomainXMLError? {
        parseError(xml, file: file, line: line)
    }

    private func refusal(bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> DomainXMLError? {
        do {
            _ = try DomainSpec(xml: bytes)
            XCTFail("expected a parse error", file: file, line: line)
            return nil
        } catch { return error }
    }

    private func assertForbidden(_ error: DomainXMLError?, mentions part: String, line expectedLine: Int? = nil,
                                 file: StaticString = #filePath, line: UInt = #line) {
        guard case let .forbidden(at, message)? = error else {
            return XCTFail("expected .forbidden, got \(String(describing: error))", file: file, line: line)
        }
        XCTAssertTrue(message.contains(part), "'\(message)' should mention '\(part)'", file: file, line: line)
        if let expectedLine { XCTAssertEqual(at, expectedLine, file: file, line: line) }
    }

    private func assertOverLimit(_ error: DomainXMLError?, mentions part: String, line expectedLine: Int? = nil,
                                 file: StaticString = #filePath, line: UInt = #line) {
        guard case let .overLimit(at, message)? = error else {
            return XCTFail("expected .overLimit, got \(String(describing: error))", file: file, line: line)
        }
        XCTAssertTrue(message.contains(part), "'\(message)' should mention '\(part)'", file: file, line: line)
        if let expectedLine { XCTAssertEqual(at, expectedLine, file: file, line: line) }
    }

    /// A domain whose <metadata> holds `inner`, so the rest of it stays valid.
    private func withMetadata(_ inner: String) -> String { domainXML(metadata: inner) }

    /// A temporary file holding a marker; `body` runs while inotify watches it, and the test
    /// fails if anything opened it. A control open at the end proves the watch works.
    private func assertNeverOpened(_ body: (_ path: String) -> Void, file: StaticString = #filePath, line: UInt = #line) {
        let path = "/tmp/hugepage-guard-xml-secret.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0, file: file, line: line)
        _ = "SECRET-MARKER".withCString { write(fd, $0, strlen($0)) }
        close(fd)
        defer { unlink(path) }
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        XCTAssertGreaterThanOrEqual(watch, 0, file: file, line: line)
        defer { close(watch) }
        XCTAssertGreaterThanOrEqual(inotify_add_watch(watch, path, UInt32(IN_OPEN | IN_ACCESS)), 0, file: file, line: line)
        var events = [UInt8](repeating: 0, count: 4096)

        body(path)
        XCTAssertLessThanOrEqual(read(watch, &events, events.count), 0, "the parser opened \(path)", file: file, line: line)

        close(open(path, O_RDONLY))
        XCTAssertGreaterThan(read(watch, &events, events.count), 0, "the watch saw no control open", file: file, line: line)
    }

    // MARK: - DTDs and entities

    func testDoctype_isRefusedWithItsLine() {
        let xml = "<?xml version='1.0'?>\n<!DOCTYPE domain>\n" + domainXML()
        assertForbidden(refusal(xml), mentions: "DOCTYPE", line: 2)
        XCTAssertTrue(refusal(xml).map { "\($0)" }?.contains("line 2") == true)
    }

    func testBillionLaughs_isRefusedAtItsDoctype() {
        var xml = "<!DOCTYPE domain [\n<!ENTITY l0 'lol'>\n"
        for i in 1...9 { xml += "<!ENTITY l\(i) '" + String(repeating: "&l\(i - 1);", count: 10) + "'>\n" }
        xml += "]>\n" + domainXML(name: "&l9;")
        assertForbidden(refusal(xml), mentions: "DOCTYPE", line: 1)
    }

    func testTwoThousandEntityReferencesInName_areRefused() {
        let refs = String(repeating: "&big;", count: 2000)
        let declared = "<!DOCTYPE domain [<!ENTITY big '" + String(repeating: "x", count: 50_000) + "'>]>\n"
            + domainXML(name: refs)
        assertForbidden(refusal(declared), mentions: "DOCTYPE")
        // Without the declaration the reference is to an undeclared entity: refused as well.
        assertForbidden(refusal(domainXML(name: refs)), mentions: "entity reference", line: 2)
    }

    func testUndeclaredEntityInAttribute_isRefused() {
        assertForbidden(refusal(domainXML(memory: "<memory unit='&u;'>1</memory>")), mentions: "entity reference")
    }

    func testPredefinedAndCharacterReferences_areRead() {
        let s = spec(domainXML(name: "a&amp;b&lt;&#x41;&#66;"))
        XCTAssertEqual(s?.name, "a&b<AB")
    }

    func testExternalDTD_isRefusedAndNeverOpened() {
        assertNeverOpened { path in
            let xml = "<!DOCTYPE domain SYSTEM '\(path)'>\n" + domainXML()
            assertForbidden(refusal(xml), mentions: "DOCTYPE")
        }
    }

    func testExternalEntity_isRefusedAndNeverOpened() {
        assertNeverOpened { path in
            let xml = "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file://\(path)'>]>\n" + domainXML(name: "&x;")
            assertForbidden(refusal(xml), mentions: "DOCTYPE")
            let pe = "<!DOCTYPE domain [<!ENTITY % p SYSTEM '\(path)'> %p;]>\n" + domainXML()
            assertForbidden(refusal(pe), mentions: "DOCTYPE")
        }
    }

    func testXInclude_isAnOrdinaryElementAndNeverOpened() {
        assertNeverOpened { path in
            let include = "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='\(path)' parse='text'/>"
            let s = spec(domainXML(name: "web1\(include)", metadata: include))
            XCTAssertEqual(s?.name, "web1", "nothing was included")
        }
    }

    // MARK: - Encoding and well-formedness

    func testInvalidUTF8_isRefusedNotReplaced() {
        let good = Array(domainXML(name: "web1").utf8)
        let at = good.firstIndex(of: UInt8(ascii: "1"))!
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] {
            var bytes = good
            bytes.replaceSubrange(at...at, with: bad)
            guard case let .malformed(line, message)? = refusal(bytes: bytes) else {
                XCTFail("\(bad) should be refused as malformed"); continue
            }
            XCTAssertEqual(line, 2, "\(bad)")
            XCTAssertTrue(message.contains("UTF-8"), message)
        }
        // A document declaring another encoding is still read as UTF-8.
        var latin1 = Array("<?xml version='1.0' encoding='ISO-8859-1'?>\n".utf8) + good
        latin1[latin1.count - good.count + at] = 0xE9
        if case .malformed? = refusal(bytes: latin1) {} else { XCTFail("a Latin-1 byte must be refused") }
    }

    func testTrailingContentAfterTheRoot_isRefused() {
        for tail in ["junk", "<domain/>", "<x/>"] {
            guard case let .malformed(_, message)? = refusal(domainXML() + tail) else {
                XCTFail("'\(tail)' after </domain> must be refused"); continue
            }
            XCTAssertTrue(message.contains("junk after document element"), message)
        }
        if case .malformed? = refusal(domainXML() + "&amp;") {} else { XCTFail("a reference after </domain> must be refused") }
        XCTAssertNotNil(spec(domainXML() + "\n<!-- a comment -->\n  "), "comments and spaces may follow")
    }

    func testMalformed_namesTheLine() {
        XCTAssertEqual(refusal("<domain>\n<name>x</name>\n<memory>1</mem>\n</domain>"),
                       .malformed(line: 3, message: "mismatched tag"))
    }

    func testNothingReachesStdoutOrStderr() throws {
        let capture = "/tmp/hugepage-guard-xml-stdio.\(getpid())"
        let fd = open(capture, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd); unlink(capture) }
        fflush(nil)
        let savedOut = dup(1), savedErr = dup(2)
        dup2(fd, 1); dup2(fd, 2)
        for xml in ["<domain><name>x</name>", "<!DOCTYPE d [<!ENTITY e 'x'>]><d>&e;</d>", "<d>&u;</d>",
                    "<d/>junk", "<d a='1' a='2'/>", "<a:d/>", "<d>\u{1}</d>", "<d>&#0;</d>"] {
            _ = try? DomainSpec(xml: xml)
        }
        _ = try? DomainSpec(xml: [0x3C, 0x64, 0x3E, 0xFF, 0x3C, 0x2F, 0x64, 0x3E])
        fflush(nil)
        dup2(savedOut, 1); dup2(savedErr, 2)
        close(savedOut); close(savedErr)
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        XCTAssertEqual(st.st_size, 0, "the parser wrote to stdout or stderr")
    }

    // MARK: - Size

    func testHundredMegabyteDocument_isRefusedBySizeBeforeParsing() {
        let bytes = Array(domainXML().utf8) + [UInt8](repeating: 0x20, count: 100 * 1024 * 1024)
        XCTAssertEqual(refusal(bytes: bytes), .tooLarge(bytes: bytes.count, limit: 16 * 1024 * 1024))
        let xml = String(decoding: bytes, as: UTF8.self)
        XCTAssertEqual(refusal(xml), .tooLarge(bytes: bytes.count, limit: 16 * 1024 * 1024))
        XCTAssertTrue(refusal(xml).map { "\($0)" }?.contains("16 MiB") == true)
    }

    func testParseEntry_enforcesTheSizeItself() {
        // A well-formed document one byte too long: the C entry refuses it by its length.
        var input = [UInt8](repeating: 0x20, count: Int(HG_XML_MAX_INPUT_BYTES) + 1)
        input.replaceSubrange(0..<4, with: Array("<d/>".utf8))
        var error = hg_xml_error()
        let doc = input.withUnsafeBytes { hg_xml_parse($0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count, &error) }
        XCTAssertNil(doc)
        XCTAssertEqual(error.status, HG_XML_TOO_LARGE)
    }

    func testDocumentOfExactlySixteenMebibytes_isRead() {
        let base = domainXML(extra: "<!--PAD-->")
        let pad = String(repeating: "\n", count: 16 * 1024 * 1024 - base.utf8.count + 3)
        let xml = base.split(separator: "PAD", omittingEmptySubsequences: false).joined(separator: pad)
        XCTAssertEqual(xml.utf8.count, 16 * 1024 * 1024)
        XCTAssertEqual(spec(xml)?.name, "web1")
    }

    // MARK: - Limits, each at the limit and one past it

    func testHundredThousandAttributesOnOneElement_areRefused() {
        let attrs = (0..<100_000).map { " a\($0)='1'" }.joined()
        assertOverLimit(refusal(domainXML(memory: "<memory unit='MiB'\(attrs)>96</memory>")),
                        mentions: "more than 256 attributes", line: 5)
    }

    func testAttributesPerElement_256AreRead() {
        let attrs = (0..<255).map { " a\($0)='1'" }.joined()
        XCTAssertEqual(spec(domainXML(memory: "<memory unit='MiB'\(attrs)>96</memory>"))?.memoryKiB, 96 * 1024)
        let more = attrs + " a255='1'"
        assertOverLimit(refusal(domainXML(memory: "<memory unit='MiB'\(more)>96</memory>")), mentions: "256 attributes")
    }

    func testNesting_256DeepIsReadAnd257Refused() {
        // <domain> and <metadata> are two levels.
        let ok = String(repeating: "<a>", count: 254) + String(repeating: "</a>", count: 254)
        XCTAssertNotNil(spec(withMetadata(ok)))
        let deep = String(repeating: "<a>", count: 255) + String(repeating: "</a>", count: 255)
        assertOverLimit(refusal(withMetadata(deep)), mentions: "nested more than 256 deep")
    }

    func testElementCount_isLimited() {
        let many = String(repeating: "<a/>", count: 200_000)
        assertOverLimit(refusal(withMetadata(many)), mentions: "more than 200000 elements")
    }

    func testAttributeCount_isLimitedForTheDocument() {
        let many = String(repeating: "<a x='1' y='2'/>", count: 125_001)
        assertOverLimit(refusal(withMetadata(many)), mentions: "more than 250000 attributes in the document")
    }

    func testNameLength_isLimited() {
        let name = String(repeating: "n", count: 1024)
        XCTAssertNotNil(spec(withMetadata("<\(name) \(name)='1'/>")))
        assertOverLimit(refusal(withMetadata("<\(name)x/>")), mentions: "name longer than 1024 bytes")
        assertOverLimit(refusal(withMetadata("<a \(name)x='1'/>")), mentions: "name longer than 1024 bytes")
        let uri = "urn:" + String(repeating: "u", count: 1021)
        assertOverLimit(refusal(withMetadata("<a xmlns:p='\(uri)'/>")), mentions: "namespace URI longer than 1024 bytes")
    }

    func testNamespaceDeclarations_areLimited() {
        let ok = String(repeating: "<x:a xmlns:x='urn:x'/>", count: 4000)
        XCTAssertNotNil(spec(withMetadata(ok)))
        let many = String(repeating: "<x:a xmlns:x='urn:x'/>", count: 4097)
        assertOverLimit(refusal(withMetadata(many)), mentions: "more than 4096 namespace declarations")
    }

    func testNamesInAllTags_areLimitedTo4MiB() {
        let name = String(repeating: "n", count: 1000)
        let many = String(repeating: "<\(name)/>", count: 4200)
        assertOverLimit(refusal(withMetadata(many)), mentions: "4 MiB of element and attribute names")
    }

    func testDistinctNames_areLimited() {
        let distinct = (0..<4100).map { "<e\($0)/>" }.joined()
        assertOverLimit(refusal(withMetadata(distinct)), mentions: "more than 4096 different")
    }

    func testAttributeValueLength_isLimited() {
        let value = String(repeating: "v", count: 1024 * 1024)
        XCTAssertNotNil(spec(withMetadata("<a v='\(value)'/>")))
        assertOverLimit(refusal(withMetadata("<a v='\(value)v'/>")), mentions: "attribute value longer than")
    }

    func testAttributeValuesInAllTags_areLimitedTo4MiB() {
        let value = String(repeating: "v", count: 1000)
        XCTAssertNotNil(spec(withMetadata(String(repeating: "<a v='\(value)'/>", count: 4000))))
        assertOverLimit(refusal(withMetadata(String(repeating: "<a v='\(value)'/>", count: 4200))),
                        mentions: "4 MiB of attribute values")
    }

    func testTextInOneElement_isLimitedButNotAcrossElements() {
        let text = String(repeating: "t", count: 1024 * 1024)
        XCTAssertNotNil(spec(withMetadata("<a>\(text)</a><b>\(text)</b>")))
        assertOverLimit(refusal(withMetadata("<a>\(text)<x/>t</a>")), mentions: "bytes of text in one element")
    }

    // MARK: - Large but real

    func testThirtyThousandDIMMsWithoutAliases_areRead() {
        let dimm = "<memory model='dimm'><target><size unit='MiB'>128</size><node>0</node></target></memory>\n"
        let s = spec(domainXML(devices: String(repeating: dimm, count: 30_000)))
        XCTAssertEqual(s?.memoryDevices.count, 30_000)
        XCTAssertEqual(s?.memoryDevices.last?.sizeKiB, 128 * 1024)
        XCTAssertNil(s?.memoryDevices.last?.alias)
    }

    func testNodesetOfHundredThousandRanges_isRead() {
        let nodeset = Array(repeating: "0-3", count: 100_000).joined(separator: ",")
        let s = spec(domainXML(numatune: "<memory mode='strict' nodeset='\(nodeset)'/>"))
        XCTAssertEqual(s?.numatune.memory?.nodeset, NodeSet(0...3))
    }
}
