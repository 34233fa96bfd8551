import HugepageGuardLibvirt

/// The persistent definition of a domain (what its next start uses), read over a read-only
/// connection.
func definedDomainXML(name: String, uri: String) throws -> String {
    do {
        let connection = try Connection.openReadOnly(uri)
        defer { connection.close() }
        return try connection.domain(name: name).xml(inactive: true)
    } catch {
        throw BadInput("cannot read domain '\(name)' from \(uri): \(error.message)")
    }
}
