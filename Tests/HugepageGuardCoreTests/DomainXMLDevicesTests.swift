@testable import HugepageGuardCore
import XCTest

final class DomainXMLDevicesTests: XCTestCase {
    func testDimm_withSourcePagesizeNodemaskAndTargetNode_isFullyRead() {
        let s = spec(domainXML(devices: """
            <memory model='dimm'>
              <source><pagesize unit='GiB'>1</pagesize><nodemask>1-2</nodemask></source>
              <target><size unit='GiB'>1</size><node>1</node></target>
              <alias name='dimm0'/>
            </memory>
            """))
        XCTAssertEqual(s?.memoryDevices, [MemoryDevice(model: .dimm, alias: "dimm0", sizeKiB: kib1G, targetNode: 1,
                                                       pageSizeKiB: kib1G, sourceNodes: NodeSet([1, 2]))])
    }

    func testDimm_withoutSource_hasNoPageSizeOrNodemask() {
        let s = spec(domainXML(devices: "<memory model='dimm'><target><size unit='MiB'>128</size><node>0</node></target></memory>"))
        XCTAssertEqual(s?.memoryDevices, [MemoryDevice(model: .dimm, sizeKiB: 131072, targetNode: 0)])
    }

    func testNvdimmAndVirtioPmem_areRecognised() {
        let s = spec(domainXML(devices: """
            <memory model='nvdimm'><source><path>/var/lib/nv0</path></source>
              <target><size unit='MiB'>512</size><node>0</node></target></memory>
            <memory model='virtio-pmem' access='shared'><source><path>/var/lib/pm0</path></source>
              <target><size unit='MiB'>256</size></target></memory>
            """))
        XCTAssertEqual(s?.memoryDevices.map(\.model), [.nvdimm, .virtioPmem])
        XCTAssertEqual(s?.memoryDevices.map(\.sizeKiB), [524_288, 262_144])
    }

    func testVirtioMem_readsRequestedSize() {
        let s = spec(domainXML(devices: """
            <memory model='virtio-mem'><target><size unit='MiB'>256</size><node>0</node>
              <block unit='MiB'>2</block><requested unit='MiB'>64</requested></target></memory>
            """))
        XCTAssertEqual(s?.memoryDevices, [MemoryDevice(model: .virtioMem, sizeKiB: 262_144, requestedKiB: 65536, targetNode: 0)])
    }

    func testMetadata_guardInOurNamespace_setsThePolicy() {
        for policy in Policy.allCases {
            let s = spec(domainXML(metadata: "<hg:guard xmlns:hg='\(metadataNamespace)' policy='\(policy.rawValue)'/>"))
            XCTAssertEqual(s?.policyOverride, policy)
        }
    }

    func testMetadata_guardAsDefaultNamespace_setsThePolicy() {
        let s = spec(domainXML(metadata: "<guard xmlns='http://hugepage-guard.org/xmlns/domain/1' policy='off'/>"))
        XCTAssertEqual(s?.policyOverride, .off)
    }

    func testMetadata_guardInAnotherNamespace_isIgnored() {
        let s = spec(domainXML(metadata: """
            <x:guard xmlns:x='http://example.com/other/1' policy='off'/>
            <guard policy='nonsense'/>
            """))
        XCTAssertNotNil(s)
        XCTAssertNil(s?.policyOverride)
    }

    func testMetadata_absent_meansNoOverride() {
        XCTAssertNil(spec(domainXML())?.policyOverride)
    }
}
