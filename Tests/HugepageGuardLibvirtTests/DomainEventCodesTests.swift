import CLibvirt
import HugepageGuardLibvirt
import XCTest

/// Pins every mirrored code to libvirt's own constant, as compiled from its headers.
final class DomainEventCodesTests: XCTestCase {
    func testLifecycleEvent_rawValuesEqualVirConstants() {
        let pairs: [(LifecycleEvent, virDomainEventType)] = [
            (.defined, VIR_DOMAIN_EVENT_DEFINED), (.undefined, VIR_DOMAIN_EVENT_UNDEFINED),
            (.started, VIR_DOMAIN_EVENT_STARTED), (.suspended, VIR_DOMAIN_EVENT_SUSPENDED),
            (.resumed, VIR_DOMAIN_EVENT_RESUMED), (.stopped, VIR_DOMAIN_EVENT_STOPPED),
            (.shutdown, VIR_DOMAIN_EVENT_SHUTDOWN), (.pmsuspended, VIR_DOMAIN_EVENT_PMSUSPENDED),
            (.crashed, VIR_DOMAIN_EVENT_CRASHED),
        ]
        XCTAssertEqual(pairs.count, LifecycleEvent.allCases.count)
        for (swift, c) in pairs { XCTAssertEqual(UInt32(swift.rawValue), c.rawValue, "\(swift)") }
    }

    func testDetailEnums_rawValuesEqualVirConstants() {
        func pin<D: EventDetail>(_ pairs: [(D, UInt32)], last: UInt32, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(UInt32(D.allCases.count), last, "\(D.self) covers every code up to _LAST", file: file, line: line)
            for (swift, c) in pairs { XCTAssertEqual(UInt32(swift.rawValue), c, "\(swift)", file: file, line: line) }
        }
        pin([(DefinedDetail.added, VIR_DOMAIN_EVENT_DEFINED_ADDED.rawValue), (.updated, VIR_DOMAIN_EVENT_DEFINED_UPDATED.rawValue),
             (.renamed, VIR_DOMAIN_EVENT_DEFINED_RENAMED.rawValue), (.fromSnapshot, VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT.rawValue)],
            last: VIR_DOMAIN_EVENT_DEFINED_LAST.rawValue)
        pin([(UndefinedDetail.removed, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED.rawValue), (.renamed, VIR_DOMAIN_EVENT_UNDEFINED_RENAMED.rawValue)],
            last: VIR_DOMAIN_EVENT_UNDEFINED_LAST.rawValue)
        pin([(StartedDetail.booted, VIR_DOMAIN_EVENT_STARTED_BOOTED.rawValue), (.migrated, VIR_DOMAIN_EVENT_STARTED_MIGRATED.rawValue),
             (.restored, VIR_DOMAIN_EVENT_STARTED_RESTORED.rawValue), (.fromSnapshot, VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT.rawValue),
             (.wakeup, VIR_DOMAIN_EVENT_STARTED_WAKEUP.rawValue)],
            last: VIR_DOMAIN_EVENT_STARTED_LAST.rawValue)
        pin([(SuspendedDetail.paused, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED.rawValue), (.migrated, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED.rawValue),
             (.ioerror, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR.rawValue), (.watchdog, VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG.rawValue),
             (.restored, VIR_DOMAIN_EVENT_SUSPENDED_RESTORED.rawValue), (.fromSnapshot, VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT.rawValue),
             (.apiError, VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR.rawValue), (.postcopy, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY.rawValue),
             (.postcopyFailed, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED.rawValue)],
            last: VIR_DOMAIN_EVENT_SUSPENDED_LAST.rawValue)
        pin([(ResumedDetail.unpaused, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED.rawValue), (.migrated, VIR_DOMAIN_EVENT_RESUMED_MIGRATED.rawValue),
             (.fromSnapshot, VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT.rawValue), (.postcopy, VIR_DOMAIN_EVENT_RESUMED_POSTCOPY.rawValue),
             (.postcopyFailed, VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED.rawValue)],
            last: VIR_DOMAIN_EVENT_RESUMED_LAST.rawValue)
        pin([(StoppedDetail.shutdown, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN.rawValue), (.destroyed, VIR_DOMAIN_EVENT_STOPPED_DESTROYED.rawValue),
             (.crashed, VIR_DOMAIN_EVENT_STOPPED_CRASHED.rawValue), (.migrated, VIR_DOMAIN_EVENT_STOPPED_MIGRATED.rawValue),
             (.saved, VIR_DOMAIN_EVENT_STOPPED_SAVED.rawValue), (.failed, VIR_DOMAIN_EVENT_STOPPED_FAILED.rawValue),
             (.fromSnapshot, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT.rawValue)],
            last: VIR_DOMAIN_EVENT_STOPPED_LAST.rawValue)
        pin([(ShutdownDetail.finished, VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED.rawValue), (.guest, VIR_DOMAIN_EVENT_SHUTDOWN_GUEST.rawValue),
             (.host, VIR_DOMAIN_EVENT_SHUTDOWN_HOST.rawValue)],
            last: VIR_DOMAIN_EVENT_SHUTDOWN_LAST.rawValue)
        pin([(PMSuspendedDetail.memory, VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY.rawValue), (.disk, VIR_DOMAIN_EVENT_PMSUSPENDED_DISK.rawValue)],
            last: VIR_DOMAIN_EVENT_PMSUSPENDED_LAST.rawValue)
        pin([(CrashedDetail.panicked, VIR_DOMAIN_EVENT_CRASHED_PANICKED.rawValue), (.crashloaded, VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED.rawValue)],
            last: VIR_DOMAIN_EVENT_CRASHED_LAST.rawValue)
    }

    func testEventIDsAndCloseReasons_rawValuesEqualVirConstants() {
        XCTAssertEqual(UInt32(DomainEventID.lifecycle.rawValue), VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue)
        XCTAssertEqual(UInt32(DomainEventID.deviceAdded.rawValue), VIR_DOMAIN_EVENT_ID_DEVICE_ADDED.rawValue)
        XCTAssertEqual(UInt32(DomainEventID.deviceRemoved.rawValue), VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED.rawValue)
        XCTAssertEqual(UInt32(DomainEventID.memoryDeviceSizeChange.rawValue), VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE.rawValue)
        XCTAssertEqual(UInt32(CloseReason.error.rawValue), VIR_CONNECT_CLOSE_REASON_ERROR.rawValue)
        XCTAssertEqual(UInt32(CloseReason.eof.rawValue), VIR_CONNECT_CLOSE_REASON_EOF.rawValue)
        XCTAssertEqual(UInt32(CloseReason.keepalive.rawValue), VIR_CONNECT_CLOSE_REASON_KEEPALIVE.rawValue)
        XCTAssertEqual(UInt32(CloseReason.client.rawValue), VIR_CONNECT_CLOSE_REASON_CLIENT.rawValue)
    }

    func testDetailName_readsAsAnAdminWould() {
        XCTAssertEqual(LifecycleEvent.started.detailName(0), "booted")
        XCTAssertEqual(LifecycleEvent.stopped.detailName(1), "destroyed")
        XCTAssertEqual(LifecycleEvent.defined.detailName(3), "from_snapshot")
        XCTAssertEqual(LifecycleEvent.stopped.detailName(99), "detail99")
    }
}
