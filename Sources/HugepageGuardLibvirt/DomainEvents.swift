import CLibvirt

/// One domain event, copied out of libvirt's callback: no C pointer survives in it.
public struct DomainEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Lifecycle: raw `event`/`detail` codes; `LifecycleEvent(rawValue:)` names them.
        case lifecycle(event: Int32, detail: Int32)
        case deviceAdded(alias: String)
        case deviceRemoved(alias: String)
        /// virtio-mem's plugged size changed, in KiB.
        case memoryDeviceSizeChange(alias: String, sizeKiB: UInt64)
    }
    public var domain: DomainRef
    public var kind: Kind
    /// When the callback ran (monotonic), for event-to-log latency.
    public var received: ContinuousClock.Instant

    public init(domain: DomainRef, kind: Kind, received: ContinuousClock.Instant = .now) {
        self.domain = domain; self.kind = kind; self.received = received
    }

    /// `started`, `device_added`, ...
    public var name: String {
        switch kind {
        case let .lifecycle(event, _): LifecycleEvent(rawValue: event)?.name ?? "event\(event)"
        case .deviceAdded: "device_added"
        case .deviceRemoved: "device_removed"
        case .memoryDeviceSizeChange: "memory_device_size_change"
        }
    }

    /// `booted`, `destroyed`, ...; nil for device events.
    public var detailName: String? {
        guard case let .lifecycle(event, detail) = kind else { return nil }
        return LifecycleEvent(rawValue: event)?.detailName(detail) ?? "detail\(detail)"
    }
}

/// The callbacks registered on one connection; deregister them before closing it.
public final class DomainEventSubscription: @unchecked Sendable {
    private let connection: Connection
    private var callbackIDs: [Int32]

    private init(connection: Connection, callbackIDs: [Int32]) {
        self.connection = connection; self.callbackIDs = callbackIDs
    }

    /// Registers lifecycle, device-added, device-removed and memory-device-size-change
    /// callbacks (`virConnectDomainEventRegisterAny`, through the shim's typed helpers) for
    /// every domain. Each registration holds its own retained sink, released by libvirt's
    /// free callback. `deliver` runs on the event loop thread: keep it to a yield.
    public static func register(on connection: Connection,
                                deliver: @escaping @Sendable (DomainEvent) -> Void) throws(LibvirtError) -> DomainEventSubscription {
        let sub = DomainEventSubscription(connection: connection, callbackIDs: [])
        func retainedSink() -> UnsafeMutableRawPointer { Unmanaged.passRetained(EventSink(deliver)).toOpaque() }
        func add(_ function: String, _ register: (UnsafeMutableRawPointer) -> Int32) throws(LibvirtError) {
            let opaque = retainedSink()
            let id = register(opaque)
            if id < 0 {
                let error = LibvirtError.last(function)
                Unmanaged<EventSink>.fromOpaque(opaque).release()   // libvirt did not take it
                sub.deregister()
                throw error
            }
            sub.callbackIDs.append(id)
        }
        let ptr = connection.ptr
        try add("virConnectDomainEventRegisterAny(LIFECYCLE)") { hg_register_lifecycle(ptr, lifecycleTrampoline, $0, releaseSink) }
        try add("virConnectDomainEventRegisterAny(DEVICE_ADDED)") {
            hg_register_device(ptr, Int32(VIR_DOMAIN_EVENT_ID_DEVICE_ADDED.rawValue), deviceAddedTrampoline, $0, releaseSink)
        }
        try add("virConnectDomainEventRegisterAny(DEVICE_REMOVED)") {
            hg_register_device(ptr, Int32(VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED.rawValue), deviceRemovedTrampoline, $0, releaseSink)
        }
        try add("virConnectDomainEventRegisterAny(MEMORY_DEVICE_SIZE_CHANGE)") {
            hg_register_memory_size(ptr, memorySizeTrampoline, $0, releaseSink)
        }
        return sub
    }

    /// `virConnectDomainEventDeregisterAny` for each callback. Errors are ignored: on a
    /// dead connection libvirt has already dropped them (and freed their sinks).
    public func deregister() {
        for id in callbackIDs { _ = virConnectDomainEventDeregisterAny(connection.ptr, id) }
        callbackIDs.removeAll()
        var err = virError(); _ = virCopyLastError(&err); virResetError(&err)
    }

    public var count: Int { callbackIDs.count }
}

/// The opaque passed to libvirt for one registration.
private final class EventSink {
    let deliver: @Sendable (DomainEvent) -> Void
    init(_ deliver: @escaping @Sendable (DomainEvent) -> Void) { self.deliver = deliver }
}

private func sink(_ opaque: UnsafeMutableRawPointer?) -> EventSink? {
    opaque.map { Unmanaged<EventSink>.fromOpaque($0).takeUnretainedValue() }
}

/// `virFreeCallback`: libvirt calls it when a registration is dropped.
private let releaseSink: virFreeCallback = { opaque in
    guard let opaque else { return }
    Unmanaged<EventSink>.fromOpaque(opaque).release()
}

/// `virConnectDomainEventCallback` for VIR_DOMAIN_EVENT_ID_LIFECYCLE.
private let lifecycleTrampoline: virConnectDomainEventCallback = { _, dom, event, detail, opaque in
    sink(opaque)?.deliver(DomainEvent(domain: domainRef(borrowing: dom), kind: .lifecycle(event: event, detail: detail)))
    return 0
}

/// `virConnectDomainEventDeviceAddedCallback` for VIR_DOMAIN_EVENT_ID_DEVICE_ADDED.
private let deviceAddedTrampoline: virConnectDomainEventDeviceAddedCallback = { _, dom, alias, opaque in
    let a = alias.map { String(cString: $0) } ?? ""
    sink(opaque)?.deliver(DomainEvent(domain: domainRef(borrowing: dom), kind: .deviceAdded(alias: a)))
}

/// `virConnectDomainEventDeviceRemovedCallback` for VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED
/// (same signature as the added one, which the shim's helper takes).
private let deviceRemovedTrampoline: virConnectDomainEventDeviceAddedCallback = { _, dom, alias, opaque in
    let a = alias.map { String(cString: $0) } ?? ""
    sink(opaque)?.deliver(DomainEvent(domain: domainRef(borrowing: dom), kind: .deviceRemoved(alias: a)))
}

/// `virConnectDomainEventMemoryDeviceSizeChangeCallback`; libvirt reports the size in KiB.
private let memorySizeTrampoline: virConnectDomainEventMemoryDeviceSizeChangeCallback = { _, dom, alias, size, opaque in
    let a = alias.map { String(cString: $0) } ?? ""
    sink(opaque)?.deliver(DomainEvent(domain: domainRef(borrowing: dom), kind: .memoryDeviceSizeChange(alias: a, sizeKiB: size)))
}
