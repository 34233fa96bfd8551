@testable import HugepageGuardCore
import XCTest

/// The tree the expat reader builds: what DomainSpec reads of it matches what libvirt reads.
final class XMLReaderTests: XCTestCase {
    private func root(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> XMLElement? {
        do { return try XMLDocument.parse(xml).root } catch {
            XCTFail("unexpected error: \(error)", file: file, line: line)
            return nil
        }
    }

    func testChildren_inDocumentOrderByLocalName() {
        guard let r = root("<d><a i='1'/><b/><a i='2'>x</a><!-- c --><?pi x?><a i='3'/></d>") else { return }
        XCTAssertEqual(r.name, "d")
        XCTAssertEqual(r.elements.map(\.name), ["a", "b", "a", "a"])
        XCTAssertEqual(r.children("a").map { $0["i"] }, ["1", "2", "3"])
        XCTAssertEqual(r.child("a")?["i"], "1")
        XCTAssertEqual(r.child("b")?.elements.count, 0)
        XCTAssertNil(r.child("c"))
        XCTAssertNil(r.child("aa"))
        XCTAssertNil(r.child(""))
    }

    func testNamespaces_ofElementsAndDefaultNamespace() {
        let xml = "<d xmlns:h='urn:h'><h:g/><g/><k xmlns='urn:k'><m/></k></d>"
        guard let r = root(xml) else { return }
        XCTAssertNil(r.namespace)
        XCTAssertEqual(r.elements.map(\.name), ["g", "g", "k"])
        XCTAssertEqual(r.elements.map(\.namespace), ["urn:h", nil, "urn:k"])
        XCTAssertEqual(r.child("k")?.child("m")?.namespace, "urn:k", "the default namespace is inherited")
    }

    func testAttributes_byLocalNameFirstMatchWhateverTheNamespaceLikeXmlGetProp() {
        guard let r = root("<d xmlns:h='urn:h'><p h:size='1' size='2' unit='KiB'/><q size='3' h:size='4'/></d>") else { return }
        XCTAssertEqual(r.child("p")?["size"], "1")
        XCTAssertEqual(r.child("q")?["size"], "3")
        XCTAssertEqual(r.child("p")?["unit"], "KiB")
        XCTAssertNil(r.child("p")?["uni"])
        XCTAssertNil(r.child("p")?["xmlns:h"], "namespace declarations are not attributes")
    }

    func testAttributeValues_areNormalisedWithReferencesExpanded() {
        guard let r = root("<d a='x&lt;y&amp;&#65;&#x42;&apos;&quot;' b='1\n\t2' c=''/>") else { return }
        XCTAssertEqual(r["a"], "x<y&AB'\"")
        XCTAssertEqual(r["b"], "1  2", "XML turns whitespace in attribute values into spaces")
        XCTAssertEqual(r["c"], "")
    }

    func testText_isAllDescendantTextWithCDATAAndReferences() {
        guard let r = root("<d><name>we<x>b</x><![CDATA[1<]]>&amp;&#10;<!-- no --></name><e/></d>") else { return }
        XCTAssertEqual(r.child("name")?.text, "web1<&\n")
        XCTAssertEqual(r.child("name")?.child("x")?.text, "b")
        XCTAssertEqual(r.child("e")?.text, "")
        XCTAssertEqual(r.text, "web1<&\n")
    }

    func testLargeDocument_fedToExpatInPieces_readsWhole() {
        // Past a MiB the input reaches expat in pieces split between tags; every element,
        // attribute and text must come through as if it had been read at once.
        var xml = "<d>"
        var expected = ""
        for i in 0..<40_000 {
            let t = "t\(i)"
            switch i % 4 {
            case 0: xml += "<e i='\(i)' v='\(String(repeating: "v", count: i % 50))'>\(t)</e>"
            case 1: xml += "<e i='\(i)'><![CDATA[\(t)]]><!-- \(String(repeating: "c", count: 90)) --></e>"
            case 2: xml += "<e i='\(i)'>\(t)&amp;</e>\n"
            default: xml += "<e i='\(i)'><?pi \(String(repeating: "p", count: 70))?>\(t)</e>"
            }
            expected += t + (i % 4 == 2 ? "&" : "")
            if i % 4 == 2 { expected += "\n" }
        }
        xml += "</d>"
        XCTAssertGreaterThan(xml.utf8.count, 2 * 1024 * 1024)
        guard let r = root(xml) else { return }
        let elements = r.children("e")
        guard elements.count == 40_000 else { return XCTFail("\(elements.count) elements read of 40000") }
        XCTAssertEqual(elements.map { $0["i"] }, (0..<40_000).map { String($0) })
        XCTAssertEqual(elements[39_996]["v"], String(repeating: "v", count: 39_996 % 50))
        XCTAssertEqual(r.text, expected)
    }

    func testText_keepsNonASCII() {
        guard let r = root("<d>\u{00E9}t\u{00E9} \u{1F600}</d>") else { return }
        XCTAssertEqual(r.text, "\u{00E9}t\u{00E9} \u{1F600}")
    }

    func testElementsOutliveTheirDocumentReference() {
        func firstChild() -> XMLElement? { try? XMLDocument.parse("<d><a k='v'>t</a></d>").root.child("a") }
        let a = firstChild()
        XCTAssertEqual(a?["k"], "v")
        XCTAssertEqual(a?.text, "t")
    }

    func testBytesAndStringEntries_agree() throws {
        let xml = "<d a='1'>x</d>"
        XCTAssertEqual(try XMLDocument.parse(Array(xml.utf8)).root["a"], try XMLDocument.parse(xml).root["a"])
    }

    func testDomainSpec_fromBytesReadsTheSameDomain() throws {
        let xml = domainXML(backing: "<hugepages><page size='2048' unit='KiB'/></hugepages>")
        XCTAssertEqual(try DomainSpec(xml: Array(xml.utf8)), try DomainSpec(xml: xml))
    }

    func testCharacterReferenceInName_isTheCharacter() {
        XCTAssertEqual(spec(domainXML(name: "a&#10;b"))?.name, "a\nb")
    }
}
