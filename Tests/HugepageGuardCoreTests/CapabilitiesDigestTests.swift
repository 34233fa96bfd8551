@testable import HugepageGuardCore
import XCTest

/// The digest of a capabilities cache file: read back exactly, and only for the file it names.
final class CapabilitiesDigestTests: XCTestCase {
    private let caps = QemuCapabilities(emulator: "/opt/qemu 8/bin/qemu-system-x86_64", machines: [
        MachineCapability(virtType: "kvm", name: "pc-i440fx-7.2", alias: "pc", numaMemSupported: false),
        MachineCapability(virtType: "tcg", name: "pc-i440fx-2.12", numaMemSupported: true),
        MachineCapability(virtType: "kvm", name: "odd \"name\"=x", alias: "a b", numaMemSupported: true),
    ])
    private let source = "926803a9.xml 64768:1234 209199 1764354720.123456789 1764354720.5"

    func testRoundTrip_withQuotedValuesAndAMissingAlias() {
        let text = CapabilitiesDigest.encode(caps, source: source)
        XCTAssertTrue(text.hasPrefix(CapabilitiesDigest.header + "\n"), text)
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source), caps)
        let empty = QemuCapabilities(emulator: "/usr/bin/qemu-system-x86_64", machines: [])
        XCTAssertEqual(CapabilitiesDigest.decode(CapabilitiesDigest.encode(empty, source: source), source: source), empty)
    }

    /// `text` with its last line (the seal) replaced by the seal of what comes before it.
    private func resealed(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast(2)  // the empty string after the final newline, and the seal
        return CapabilitiesDigest.seal(lines.joined(separator: "\n") + "\n")
    }

    func testTheLastLineSealsTheRest() {
        let text = CapabilitiesDigest.encode(caps, source: source)
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(last.hasPrefix("sum="), last)
        XCTAssertEqual(last.count, 4 + 16, last)
        XCTAssertEqual(resealed(text), text)
        // Any change to a sealed line, even one that leaves a well-formed digest, unseals it.
        let edited = text.replacingOccurrences(of: "name=pc-i440fx-2.12 numa_mem=yes", with: "name=pc-i440fx-2.12 numa_mem=no")
        XCTAssertNotEqual(edited, text)
        XCTAssertNil(CapabilitiesDigest.decode(edited, source: source))
        XCTAssertNil(CapabilitiesDigest.decode(edited, source: source, machine: "pc-i440fx-2.12"))
        XCTAssertEqual(CapabilitiesDigest.decode(resealed(edited), source: source, machine: "pc-i440fx-2.12")?.machines.first?.numaMemSupported,
                       false)
        XCTAssertNil(CapabilitiesDigest.decode(text.replacingOccurrences(of: "sum=", with: "sum=0"), source: source))
        XCTAssertNil(CapabilitiesDigest.decode(String(text.split(separator: "\n").dropLast().joined(separator: "\n")) + "\n", source: source))
    }

    func testAMachineAsked_keepsOnlyThatMachineByNameOrAlias() {
        let text = CapabilitiesDigest.encode(caps, source: source)
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "pc")?.machines, [caps.machines[0]])
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "pc-i440fx-2.12")?.machines, [caps.machines[1]])
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "odd \"name\"=x")?.machines, [caps.machines[2]])
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "a b")?.machines, [caps.machines[2]], "an alias after a quoted name")
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "a")?.machines, [], "part of a quoted value")
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "q35")?.machines, [])
        XCTAssertEqual(CapabilitiesDigest.decode(text, source: source, machine: "q35")?.emulator, caps.emulator)
        // A changed line of another machine unseals the digest.
        XCTAssertNil(CapabilitiesDigest.decode(text.replacingOccurrences(of: "numa_mem=yes", with: "numa_mem=maybe"), source: source, machine: "pc"))
        // Under a valid seal, only the lines naming the machine are read: a broken line of
        // another machine is not, a broken line of the machine asked for is refused.
        let otherBroken = resealed(text.replacingOccurrences(of: "numa_mem=yes", with: "numa_mem=maybe"))
        XCTAssertEqual(CapabilitiesDigest.decode(otherBroken, source: source, machine: "pc")?.machines, [caps.machines[0]])
        XCTAssertNil(CapabilitiesDigest.decode(otherBroken, source: source, machine: "pc-i440fx-2.12"))
        XCTAssertNil(CapabilitiesDigest.decode(otherBroken, source: source))
    }

    func testADigestOfAnotherFileOrVersion_isNotUsed() {
        let text = CapabilitiesDigest.encode(caps, source: source)
        XCTAssertNil(CapabilitiesDigest.decode(text, source: source.replacingOccurrences(of: "209199", with: "209200")))
        XCTAssertNil(CapabilitiesDigest.decode(text, source: ""))
    }

    func testTextThatIsNotADigestAsWritten_isNotUsed() {
        let text = CapabilitiesDigest.encode(caps, source: source)
        let broken = [
            "",
            String(text.dropLast()),  // cut short: no final newline
            text.replacingOccurrences(of: "# hugepage-guard", with: "# other"),
            text.replacingOccurrences(of: "numa_mem=no", with: "numa_mem=maybe"),
            text.replacingOccurrences(of: "numa_mem=no", with: "numa=no"),
            text.replacingOccurrences(of: "type=tcg ", with: ""),
            text.replacingOccurrences(of: "alias=pc", with: "alias=pc alias=q35"),
            text + "name=\"unclosed\n",
            text.replacingOccurrences(of: "emulator=", with: "emulator_path="),
        ]
        for t in broken { XCTAssertNil(CapabilitiesDigest.decode(t, source: source), t) }
        // Sealed anew, each is still refused when every line is read.
        for t in broken.dropFirst(2) { XCTAssertNil(CapabilitiesDigest.decode(resealed(t), source: source), t) }
    }
}
