/// Mirrors of libvirt's event codes (`virDomainEventType` and its `*DetailType` enums).
/// Each raw value is pinned to its `VIR_*` constant by `DomainEventCodesTests`.

/// `virDomainEventType`: what happened to a domain.
public enum LifecycleEvent: Int32, Sendable, CaseIterable {
    case defined = 0, undefined, started, suspended, resumed, stopped, shutdown, pmsuspended, crashed

    /// The word an admin reads in the log: `started`, `stopped`, ...
    public var name: String {
        switch self {
        case .defined: "defined"
        case .undefined: "undefined"
        case .started: "started"
        case .suspended: "suspended"
        case .resumed: "resumed"
        case .stopped: "stopped"
        case .shutdown: "shutdown"
        case .pmsuspended: "pmsuspended"
        case .crashed: "crashed"
        }
    }

    /// The name of `detail` for this event type, e.g. `booted` for started/0;
    /// `detail<N>` for a code newer than this mirror.
    public func detailName(_ detail: Int32) -> String {
        let names: [String]
        switch self {
        case .defined: names = DefinedDetail.allCases.map(\.name)
        case .undefined: names = UndefinedDetail.allCases.map(\.name)
        case .started: names = StartedDetail.allCases.map(\.name)
        case .suspended: names = SuspendedDetail.allCases.map(\.name)
        case .resumed: names = ResumedDetail.allCases.map(\.name)
        case .stopped: names = StoppedDetail.allCases.map(\.name)
        case .shutdown: names = ShutdownDetail.allCases.map(\.name)
        case .pmsuspended: names = PMSuspendedDetail.allCases.map(\.name)
        case .crashed: names = CrashedDetail.allCases.map(\.name)
        }
        return detail >= 0 && Int(detail) < names.count ? names[Int(detail)] : "detail\(detail)"
    }
}

/// Spelling shared by the detail enums: the case name in snake_case.
public protocol EventDetail: RawRepresentable, CaseIterable where RawValue == Int32 {}
extension EventDetail {
    public var name: String {
        String(describing: self).reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }
}

/// `virDomainEventDefinedDetailType`.
public enum DefinedDetail: Int32, EventDetail { case added = 0, updated, renamed, fromSnapshot }
/// `virDomainEventUndefinedDetailType`.
public enum UndefinedDetail: Int32, EventDetail { case removed = 0, renamed }
/// `virDomainEventStartedDetailType`.
public enum StartedDetail: Int32, EventDetail { case booted = 0, migrated, restored, fromSnapshot, wakeup }
/// `virDomainEventSuspendedDetailType`.
public enum SuspendedDetail: Int32, EventDetail {
    case paused = 0, migrated, ioerror, watchdog, restored, fromSnapshot, apiError, postcopy, postcopyFailed
}
/// `virDomainEventResumedDetailType`.
public enum ResumedDetail: Int32, EventDetail { case unpaused = 0, migrated, fromSnapshot, postcopy, postcopyFailed }
/// `virDomainEventStoppedDetailType`.
public enum StoppedDetail: Int32, EventDetail {
    case shutdown = 0, destroyed, crashed, migrated, saved, failed, fromSnapshot
}
/// `virDomainEventShutdownDetailType`.
public enum ShutdownDetail: Int32, EventDetail { case finished = 0, guest, host }
/// `virDomainEventPMSuspendedDetailType`.
public enum PMSuspendedDetail: Int32, EventDetail { case memory = 0, disk }
/// `virDomainEventCrashedDetailType`.
public enum CrashedDetail: Int32, EventDetail { case panicked = 0, crashloaded }

/// `virDomainEventID`: the event kinds the agent subscribes to.
public enum DomainEventID: Int32, Sendable, CaseIterable {
    case lifecycle = 0
    case deviceRemoved = 15
    case deviceAdded = 19
    case memoryDeviceSizeChange = 26
}
