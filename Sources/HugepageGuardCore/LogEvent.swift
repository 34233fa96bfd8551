/// Every `event=` name that the hook and the agent write to the log, in one spelling
/// (snake_case), so an admin's `journalctl | grep event=...` matches both.
///
/// Add a case here for a new kind of line; the README's event reference lists each one
/// with its fields, and a test keeps the two in step.
public enum LogEvent: String, CaseIterable, Sendable {
    // The hook.
    /// One admission decision (admit or refuse), or a failure to decide.
    case decision
    /// `started begin`: the reservation stopped counting (QEMU holds the pages now).
    case reservationCommitted = "reservation_committed"
    /// `release end`: the reservation was dropped.
    case reservationReleased = "reservation_released"
    /// A reservation whose libvirtd died or that outlived `reservation_timeout`.
    case reservationExpired = "reservation_expired"
    /// The ledger file could not be parsed; it was moved aside.
    case ledgerCorrupt = "ledger_corrupt"
    /// The ledger could not be read or written.
    case ledgerError = "ledger_error"
    /// The pool was grown for a start that would have been refused (`pool.grow = on`).
    case poolGrown = "pool_grown"
    /// Growth was not tried: it would cross `pool.grow.min_available` or a `pool.grow.max` cap.
    case poolGrowRefused = "pool_grow_refused"
    /// The kernel gave fewer pages than asked (or the start still didn't fit): every count put back.
    case poolGrowRollback = "pool_grow_rollback"
    /// Pages grown for a domain were given back (its stop, a failed start, or the agent).
    case poolShrunk = "pool_shrunk"
    /// Grown pages that could not be given back safely yet; the agent retries.
    case poolShrinkDeferred = "pool_shrink_deferred"
    /// Grown pages of a domain that is gone, kept because `pool.shrink = off`.
    case poolGrownKept = "pool_grown_kept"

    // The agent: its own life and its connection.
    case agentStarting = "agent_starting"
    case agentStopping = "agent_stopping"
    case libvirtConnected = "libvirt_connected"
    case libvirtDisconnected = "libvirt_disconnected"
    case libvirtConnectFailed = "libvirt_connect_failed"
    case unparsableDomainXML = "unparsable_domain_xml"
    case reconciled
    case reconcileFailed = "reconcile_failed"
    case metricsWriteFailed = "metrics_write_failed"

    // The agent: libvirt's domain events, one line each, named after libvirt's event.
    case defined, undefined, started, suspended, resumed, stopped, shutdown, pmsuspended, crashed
    case deviceAdded = "device_added"
    case deviceRemoved = "device_removed"
    case memoryDeviceSizeChange = "memory_device_size_change"
    /// A lifecycle event whose code this build doesn't know (a newer libvirt); `code=` says which.
    case domainEvent = "domain_event"

    // The agent: reconciliation findings (each also has a `<name>_cleared` line when the
    // condition goes away).
    case drift
    case leakedHugetlbfsFile = "leaked_hugetlbfs_file"
    case ledgerEntryRemoved = "ledger_entry_removed"
    case adopted
    case commitmentChanged = "commitment_changed"
    case poolBelowReserve = "pool_below_reserve"
    /// A VM holds hugepages on a node outside its strict NUMA binding (from numa_maps).
    case pagesOutsideBinding = "pages_outside_binding"
}

/// The severity of a log line; the syslog priority is derived from it.
public enum LogLevel: String, Sendable, CaseIterable {
    case info, warning, error
}
