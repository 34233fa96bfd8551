@testable import HugepageGuardCore
import XCTest

/// Each error names the element and the offending value.
final class DomainXMLErrorTests: XCTestCase {
    private func assertMessage(_ xml: String, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        guard let error = parseError(xml, file: file, line: line) else { return }
        let text = "\(error)"
        for part in parts {
            XCTAssertTrue(text.contains(part), "'\(text)' should mention '\(part)'", file: file, line: line)
        }
    }

    func testMalformedXML_saysNotWellFormed() {
        assertMessage("<domain><name>x</name>\n<memory>1</memory>", mentions: ["not well-formed"])
        if case .malformed = parseError("<domain><name>x</name>") {} else { XCTFail("expected .malformed") }
    }

    func testReaderRefusals_sayWhatAndWhere() {
        assertMessage("<!DOCTYPE domain>\n<domain/>", mentions: ["line 1", "DOCTYPE", "libvirt never writes"])
        assertMessage("<domain>\n<name>&x;</name></domain>", mentions: ["line 2", "entity reference"])
        assertMessage("<domain>" + String(repeating: "<a>", count: 300), mentions: ["limit", "line 1", "nested more than 256 deep"])
        XCTAssertEqual("\(DomainXMLError.tooLarge(bytes: 100_000_000, limit: 16 * 1024 * 1024))",
                       "domain XML is 100000000 bytes, more than the 16 MiB hugepage-guard reads")
        assertMessage("<domain>\n<name>\u{1}</name></domain>", mentions: ["not well-formed", "line 2"])
    }

    func testEmptyDocument_isMalformed() {
        XCTAssertEqual(parseError(""), .malformed(line: 0, message: "the document is empty"))
    }

    func testOtherRootElement_isNotADomain() {
        XCTAssertEqual(parseError("<network><name>default</name></network>"), .notADomain(root: "network"))
        assertMessage("<network/>", mentions: ["<domain>", "<network>"])
    }

    func testMissingNameOrMemory_namesTheElement() {
        XCTAssertEqual(parseError("<domain><memory>1024</memory></domain>"), .missing(element: "<name>"))
        XCTAssertEqual(parseError("<domain><name>a</name></domain>"), .missing(element: "<memory>"))
    }

    func testBadUnit_namesElementAndUnit() {
        assertMessage(domainXML(memory: "<memory unit='XB'>512</memory>"), mentions: ["<memory>", "512", "XB"])
    }

    func testNonNumericSize_namesElementAndValue() {
        assertMessage(domainXML(memory: "<memory unit='MiB'>lots</memory>"), mentions: ["<memory>", "lots"])
        assertMessage(domainXML(backing: "<hugepages><page size='2M'/></hugepages>"), mentions: ["<hugepages><page size>", "2M"])
    }

    func testBadPageNodeset_namesElementAndValue() {
        assertMessage(domainXML(backing: "<hugepages><page size='2048' nodeset='0-'/></hugepages>"),
                      mentions: ["<hugepages><page nodeset>", "0-"])
    }

    func testBadNumatuneNodeset_namesElementAndValue() {
        assertMessage(domainXML(numatune: "<memory mode='strict' nodeset='x1'/>"), mentions: ["<numatune><memory nodeset>", "x1"])
        assertMessage(domainXML(cpu: "<cell id='0' cpus='0' memory='1024'/>",
                                numatune: "<memnode cellid='0' mode='strict' nodeset='2-1'/>"),
                      mentions: ["<numatune><memnode nodeset>", "2-1"])
    }

    func testBadNumatuneMode_namesElementAndValue() {
        assertMessage(domainXML(numatune: "<memory mode='strictest' nodeset='0'/>"), mentions: ["<numatune><memory mode>", "strictest"])
        assertMessage(domainXML(cpu: "<cell id='0' cpus='0' memory='1024'/>",
                                numatune: "<memnode cellid='0' mode='bind' nodeset='0'/>"),
                      mentions: ["<numatune><memnode mode>", "bind"])
    }

    func testBadDimmNodemask_namesElementAndValue() {
        assertMessage(domainXML(devices: "<memory model='dimm'><source><nodemask>all</nodemask></source><target><size>1024</size><node>0</node></target></memory>"),
                      mentions: ["<memory><source><nodemask>", "all"])
    }

    func testUnknownMemoryDeviceModel_namesModel() {
        assertMessage(domainXML(devices: "<memory model='ram-stick'><target><size>1024</size></target></memory>"),
                      mentions: ["<devices><memory model>", "ram-stick"])
    }

    func testBadGuardPolicyInOurNamespace_namesElementAndValue() {
        assertMessage(domainXML(metadata: "<hg:guard xmlns:hg='\(metadataNamespace)' policy='sometimes'/>"),
                      mentions: ["<metadata><guard policy>", "sometimes"])
    }

    func testBadCellId_namesElementAndValue() {
        assertMessage(domainXML(cpu: "<cell id='one' cpus='0' memory='1024'/>"), mentions: ["<numa><cell id>", "one"])
    }
}
