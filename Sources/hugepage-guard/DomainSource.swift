import ArgumentParser
import HugepageGuardCore
import HugepageGuardHost
import HugepageGuardLibvirt

/// Where `check` and `plan` read a domain: a file (or stdin), or a domain defined in libvirt.
struct DomainSource: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A domain XML file ('-' for stdin).", valueName: "file"))
    var xml: String?

    @Option(name: .long, help: ArgumentHelp("A domain defined in libvirt.", valueName: "name"))
    var domain: String?

    @Option(name: .long, help: ArgumentHelp("libvirt URI for --domain.", valueName: "uri"))
    var connect: String = "qemu:///system"

    func validate() throws {
        if (xml == nil) == (domain == nil) { throw ValidationError("give exactly one of --xml FILE or --domain NAME") }
    }

    /// The domain XML. What can't be read is a BadInput naming it, escaped for a terminal.
    func read() throws -> String {
        guard let xml else { return try definedDomainXML(name: domain!, uri: connect) }
        let text: String?
        do { text = try FileSystem.readText(xml == "-" ? "/dev/stdin" : xml) } catch {
            throw BadInput(TerminalText.escaped("cannot read \(error)"))
        }
        guard let text else { throw BadInput(TerminalText.escaped("\(xml): no such file")) }
        return text
    }

    /// The persistent definition of a domain (what its next start uses), read over a
    /// read-only connection.
    private func definedDomainXML(name: String, uri: String) throws -> String {
        do {
            let connection = try Connection.openReadOnly(uri)
            defer { connection.close() }
            return try connection.domain(name: name).xml(inactive: true)
        } catch {
            throw BadInput(TerminalText.escaped("cannot read domain '\(name)' from \(uri): \(error.message)"))
        }
    }
}
