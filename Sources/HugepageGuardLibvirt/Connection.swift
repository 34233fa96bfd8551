import CLibvirt
import Glibc

/// Why libvirt closed a connection (`virConnectCloseReason`).
public enum CloseReason: Int32, Sendable, CustomStringConvertible {
    case error = 0, eof = 1, keepalive = 2, client = 3

    public var description: String {
        switch self {
        case .error: "error"
        case .eof: "eof"
        case .keepalive: "keepalive_timeout"
        case .client: "client_closed"
        }
    }
}

/// A libvirt connection (`virConnectPtr`). Methods are safe to call from any thread;
/// libvirt serializes calls on one connection itself.
public final class Connection: @unchecked Sendable {
    let ptr: virConnectPtr
    public let uri: String
    private var closed = false
    private var closeHandlerRegistered = false

    private init(ptr: virConnectPtr, uri: String) { self.ptr = ptr; self.uri = uri }

    deinit { if !closed { virConnectClose(ptr) } }

    /// `virConnectOpenReadOnly`: enough for events, domain lists and live XML.
    public static func openReadOnly(_ uri: String) throws(LibvirtError) -> Connection {
        LibvirtProcess.setUp()
        guard let p = virConnectOpenReadOnly(uri) else { throw LibvirtError.last("virConnectOpenReadOnly") }
        return Connection(ptr: p, uri: uri)
    }

    /// `virConnectOpen`: a read-write connection. The agent never uses one; tests and the
    /// benchmark do, to define and start domains on `test:///default`.
    public static func open(_ uri: String) throws(LibvirtError) -> Connection {
        LibvirtProcess.setUp()
        guard let p = virConnectOpen(uri) else { throw LibvirtError.last("virConnectOpen") }
        return Connection(ptr: p, uri: uri)
    }

    /// `virDomainDefineXML` (read-write connections only).
    public func defineDomain(xml: String) throws(LibvirtError) -> Domain {
        guard let d = virDomainDefineXML(ptr, xml) else { throw LibvirtError.last("virDomainDefineXML") }
        return Domain(owning: d)
    }

    /// `virConnectClose`. Unregisters the close handler first so it doesn't fire for our own close.
    public func close() {
        guard !closed else { return }
        if closeHandlerRegistered {
            virConnectUnregisterCloseCallback(ptr, closeTrampoline)
            closeHandlerRegistered = false
        }
        closed = true
        virConnectClose(ptr)
    }

    /// `virConnectIsAlive`.
    public var isAlive: Bool { virConnectIsAlive(ptr) == 1 }

    /// `virConnectSetKeepAlive`: probe every `interval` s, give up after `count` misses.
    /// Returns false where the driver has no keepalive (local drivers such as `test:///`).
    @discardableResult
    public func setKeepAlive(interval: Int32, count: UInt32) throws(LibvirtError) -> Bool {
        let r = virConnectSetKeepAlive(ptr, interval, count)
        if r < 0 {
            let error = LibvirtError.last("virConnectSetKeepAlive")
            if error.code == VIR_ERR_NO_SUPPORT.rawValue { return false }   // local drivers have none
            throw error
        }
        return r == 0
    }

    /// `virConnectRegisterCloseCallback`. `handler` runs on the event loop thread with a
    /// libvirt lock held: it must only signal, never call libvirt.
    public func onClose(_ handler: @escaping @Sendable (CloseReason) -> Void) throws(LibvirtError) {
        let box = Unmanaged.passRetained(CloseBox(handler)).toOpaque()
        if virConnectRegisterCloseCallback(ptr, closeTrampoline, box, releaseCloseBox) < 0 {
            let error = LibvirtError.last("virConnectRegisterCloseCallback")
            Unmanaged<CloseBox>.fromOpaque(box).release()
            throw error
        }
        closeHandlerRegistered = true
    }

    /// `virConnectListAllDomains`, active domains only when `activeOnly`.
    public func listAllDomains(activeOnly: Bool) throws(LibvirtError) -> [Domain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let flags = activeOnly ? VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue : 0
        let n = virConnectListAllDomains(ptr, &list, flags)
        if n < 0 { throw LibvirtError.last("virConnectListAllDomains") }
        defer { free(list) }
        guard let list else { return [] }
        return (0..<Int(n)).compactMap { list[$0].map(Domain.init(owning:)) }
    }

    /// `virDomainLookupByUUIDString`.
    public func domain(uuid: String) throws(LibvirtError) -> Domain {
        guard let d = virDomainLookupByUUIDString(ptr, uuid) else { throw LibvirtError.last("virDomainLookupByUUIDString") }
        return Domain(owning: d)
    }

    /// `virDomainLookupByName`.
    public func domain(name: String) throws(LibvirtError) -> Domain {
        guard let d = virDomainLookupByName(ptr, name) else { throw LibvirtError.last("virDomainLookupByName") }
        return Domain(owning: d)
    }

    /// `virConnectGetLibVersion`: libvirt's version as major * 1,000,000 + minor * 1,000 + micro.
    public func libVersion() throws(LibvirtError) -> UInt {
        var v: UInt = 0
        if virConnectGetLibVersion(ptr, &v) < 0 { throw LibvirtError.last("virConnectGetLibVersion") }
        return v
    }
}

/// Retained as the close callback's opaque; released only by `releaseCloseBox`.
private final class CloseBox {
    let handler: @Sendable (CloseReason) -> Void
    init(_ handler: @escaping @Sendable (CloseReason) -> Void) { self.handler = handler }
}

/// The `virConnectCloseFunc`: copies the reason and signals; the connection pointer is not kept.
private let closeTrampoline: virConnectCloseFunc = { _, reason, opaque in
    guard let opaque else { return }
    let box = Unmanaged<CloseBox>.fromOpaque(opaque).takeUnretainedValue()
    box.handler(CloseReason(rawValue: reason) ?? .error)
}

/// The `virFreeCallback` for the close callback's opaque.
private let releaseCloseBox: virFreeCallback = { opaque in
    guard let opaque else { return }
    Unmanaged<CloseBox>.fromOpaque(opaque).release()
}
