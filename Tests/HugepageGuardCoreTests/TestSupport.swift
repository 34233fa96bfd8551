@testable import HugepageGuardCore
import XCTest

/// A minimal libvirt domain document; each argument is spliced in where libvirt expects it.
func domainXML(name: String = "web1", memory: String = "<memory unit='MiB'>96</memory>",
               backing: String = "", cpu: String = "", numatune: String = "",
               devices: String = "", metadata: String = "", extra: String = "") -> String {
    """
    <domain type='kvm'>
      <name>\(name)</name>
      <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
      \(metadata.isEmpty ? "" : "<metadata>\(metadata)</metadata>")
      \(memory)
      \(extra)
      \(backing.isEmpty ? "" : "<memoryBacking>\(backing)</memoryBacking>")
      <vcpu placement='static'>2</vcpu>
      \(numatune.isEmpty ? "" : "<numatune>\(numatune)</numatune>")
      \(cpu.isEmpty ? "" : "<cpu><numa>\(cpu)</numa></cpu>")
      <devices>\(devices)</devices>
    </domain>
    """
}

/// Parses `xml`, failing the test (and returning nil) if it doesn't parse.
func spec(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> DomainSpec? {
    do { return try DomainSpec(xml: xml) } catch {
        XCTFail("unexpected parse error: \(error)", file: file, line: line)
        return nil
    }
}

/// The parse error for `xml`, failing the test if it parses.
func parseError(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> DomainXMLError? {
    do {
        _ = try DomainSpec(xml: xml)
        XCTFail("expected a parse error", file: file, line: line)
        return nil
    } catch { return error }
}

/// The demand of `xml` with the default context (4 KiB base, 2 MiB default hugepage).
func demand(_ xml: String, context: PageSizeContext = PageSizeContext(),
            file: StaticString = #filePath, line: UInt = #line) -> DomainDemand? {
    spec(xml, file: file, line: line).map { DomainDemand(spec: $0, context: context) }
}

let kib2M: UInt64 = 2048
let kib1G: UInt64 = 1_048_576
