import HugepageGuardLibvirt

/// The XML of a domain defined in libvirt, read over a read-only connection: the live XML
/// of a running domain, else the persistent definition, which is what the next start uses.
func definedDomainXML(name: String, uri: String) throws -> String {
    do {
        let connection = try Connection.openReadOnly(uri)
        defer { connection.close() }
        return try connection.domain(name: name).xml()
    } catch {
        throw BadInput("cannot read domain '\(name)' from \(uri): \(error.message)")
    }
}
