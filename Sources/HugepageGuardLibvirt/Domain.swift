import CLibvirt
import Glibc

/// A domain handle (`virDomainPtr`) owned by Swift, freed with `virDomainFree`.
/// Never made from a pointer that libvirt lends to a callback.
public final class Domain: @unchecked Sendable {
    let ptr: virDomainPtr

    init(owning ptr: virDomainPtr) { self.ptr = ptr }
    deinit { virDomainFree(ptr) }

    /// `virDomainGetName`.
    public var name: String { virDomainGetName(ptr).map { String(cString: $0) } ?? "" }

    /// `virDomainGetUUIDString`.
    public var uuid: String { uuidString(of: ptr) ?? "" }

    /// `virDomainGetID`; nil when the domain is not running.
    public var id: UInt32? {
        let v = virDomainGetID(ptr)
        return v == UInt32.max ? nil : v
    }

    /// `virDomainIsActive`.
    public func isActive() throws(LibvirtError) -> Bool {
        let r = virDomainIsActive(ptr)
        if r < 0 { throw LibvirtError.last("virDomainIsActive") }
        return r == 1
    }

    /// `virDomainCreate` (read-write connections only).
    public func start() throws(LibvirtError) {
        if virDomainCreate(ptr) < 0 { throw LibvirtError.last("virDomainCreate") }
    }

    /// `virDomainDestroy` (read-write connections only).
    public func destroy() throws(LibvirtError) {
        if virDomainDestroy(ptr) < 0 { throw LibvirtError.last("virDomainDestroy") }
    }

    /// `virDomainUndefine` (read-write connections only).
    public func undefine() throws(LibvirtError) {
        if virDomainUndefine(ptr) < 0 { throw LibvirtError.last("virDomainUndefine") }
    }

    /// `virDomainGetXMLDesc`: the live XML of a running domain (flags 0), or with `inactive`
    /// the persistent definition the next start uses (`VIR_DOMAIN_XML_INACTIVE`).
    public func xml(inactive: Bool = false) throws(LibvirtError) -> String {
        let flags = inactive ? VIR_DOMAIN_XML_INACTIVE.rawValue : 0
        guard let c = virDomainGetXMLDesc(ptr, flags) else { throw LibvirtError.last("virDomainGetXMLDesc") }
        defer { free(c) }
        return String(cString: c)
    }
}

/// Name and UUID of a domain, copied out of libvirt: safe to keep and send anywhere.
public struct DomainRef: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var uuid: String
    public init(name: String, uuid: String) { self.name = name; self.uuid = uuid }
    public var description: String { "\(name) (\(uuid))" }
}

/// `virDomainGetUUIDString` into a stack buffer; nil on failure.
func uuidString(of dom: virDomainPtr) -> String? {
    let len = Int(hg_uuid_string_buflen())
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: len) { buf -> String? in
        guard let base = buf.baseAddress, virDomainGetUUIDString(dom, base) == 0 else { return nil }
        return String(cString: base)
    }
}

/// Copies name and UUID from a `virDomainPtr` that is valid only for the current call.
func domainRef(borrowing dom: virDomainPtr?) -> DomainRef {
    guard let dom else { return DomainRef(name: "", uuid: "") }
    let name = virDomainGetName(dom).map { String(cString: $0) } ?? ""
    return DomainRef(name: name, uuid: uuidString(of: dom) ?? "")
}
