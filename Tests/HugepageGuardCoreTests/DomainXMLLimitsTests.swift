@testable import HugepageGuardCore
import XCTest

/// Values libvirt would never pass: each is refused with the element named.
final class DomainXMLLimitsTests: XCTestCase {
    private func assertRefused(_ xml: String, element: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let error = parseError(xml, file: file, line: line) else { return }
        XCTAssertTrue("\(error)".contains(element), "'\(error)' should name \(element)", file: file, line: line)
    }

    func testZeroAndNegativeSizes_areRefused() {
        assertRefused(domainXML(memory: "<memory>0</memory>"), element: "<memory>")
        assertRefused(domainXML(memory: "<memory>-0</memory>"), element: "<memory>")
        assertRefused(domainXML(memory: "<memory>+5</memory>"), element: "<memory>")
        assertRefused(domainXML(backing: "<hugepages><page size='0'/></hugepages>"), element: "<hugepages><page size>")
        assertRefused(domainXML(cpu: "<cell id='0' cpus='0' memory='0'/>"), element: "<numa><cell memory>")
    }

    func testSizesAboveLibvirtsLimit_areRefused() {
        assertRefused(domainXML(memory: "<memory unit='EiB'>8</memory>"), element: "<memory>")
        assertRefused(domainXML(memory: "<memory unit='KiB'>18446744073709551615</memory>"), element: "<memory>")
    }

    func testSumOfDimmSizesPastTheLimit_isAnErrorNamingTheElement() {
        let dimm = "<memory model='dimm'><target><size unit='PiB'>4095</size><node>0</node></target></memory>"
        assertRefused(domainXML(cpu: "<cell id='0' cpus='0' memory='64' unit='MiB'/>", devices: String(repeating: dimm, count: 3)),
                      element: "<devices><memory><target><size>")
    }

    func testSumOfCellSizesPastTheLimit_isAnErrorNamingTheElement() {
        let cells = (0..<3).map { "<cell id='\($0)' cpus='\($0)' memory='4095' unit='PiB'/>" }.joined()
        assertRefused(domainXML(backing: "<hugepages/>", cpu: cells), element: "<numa><cell memory>")
    }

    func testVirtioMemRequestedAboveSize_isRefused() {
        let dev = "<memory model='virtio-mem'><target><size unit='MiB'>64</size><node>0</node><block unit='MiB'>2</block><requested unit='MiB'>128</requested></target></memory>"
        assertRefused(domainXML(cpu: "<cell id='0' cpus='0' memory='64' unit='MiB'/>", devices: dev), element: "<requested>")
        let ok = dev.replacingOccurrences(of: "<requested unit='MiB'>128", with: "<requested unit='MiB'>0")
        XCTAssertEqual(spec(domainXML(cpu: "<cell id='0' cpus='0' memory='64' unit='MiB'/>", devices: ok))?.memoryDevices.first?.requestedKiB, 0)
    }

    func testDimmSlotAndMachineAndEmulator_areRead() {
        let s = spec(domainXML(devices: "<emulator>/usr/bin/qemu-system-x86_64</emulator><memory model='dimm'><target><size unit='MiB'>64</size><node>0</node></target><address type='dimm' slot='3'/></memory>")
            .replacingOccurrences(of: "<vcpu", with: "<os><type arch='x86_64' machine='pc-i440fx-5.0'>hvm</type></os><vcpu"))
        XCTAssertEqual(s?.memoryDevices.first?.slot, 3)
        XCTAssertEqual(s?.machine, "pc-i440fx-5.0")
        XCTAssertEqual(s?.virtType, "kvm")
        XCTAssertEqual(s?.emulator, "/usr/bin/qemu-system-x86_64")
    }
}
