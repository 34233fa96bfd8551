/// A process, identified so that a reused pid is not mistaken for it: pid plus its start
/// time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
public struct ProcessRef: Hashable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var startTicks: UInt64
    public init(pid: Int32, startTicks: UInt64) { self.pid = pid; self.startTicks = startTicks }
    public var description: String { "\(pid):\(startTicks)" }
    public init?(_ text: String) {
        let p = text.split(separator: ":")
        guard p.count == 2, let pid = Int32(p[0]), let t = UInt64(p[1]) else { return nil }
        self.init(pid: pid, startTicks: t)
    }
}

/// Who a ledger entry belongs to. libvirt knows a domain by its UUID, so where both sides
/// have one the UUID decides; otherwise the name does, compared byte for byte (no trimming,
/// no Unicode normalisation), exactly as libvirt passes it to the hook in argv[1].
public struct DomainIdentity: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    /// In canonical form (`canonicalUUID`).
    public var uuid: String?

    public init(name: String, uuid: String?) {
        self.name = name
        self.uuid = uuid.map(DomainIdentity.canonicalUUID)
    }

    /// Whether `other` is the same domain: the same UUID where both have one, else the same
    /// name bytes.
    public func isSame(as other: DomainIdentity) -> Bool {
        if let a = uuid, let b = other.uuid { return a == b }
        return name.utf8.elementsEqual(other.name.utf8)
    }

    /// A UUID as libvirt reads it (`virUUIDParse`: 32 hex digits, '-' and ' ' allowed
    /// between them, surrounding whitespace ignored), written lowercase as 8-4-4-4-12.
    /// Text that libvirt would not read as a UUID is kept as it is.
    public static func canonicalUUID(_ text: String) -> String {
        var digits: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0, end = bytes.count
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0d) }
        while i < end, isSpace(bytes[i]) { i += 1 }
        while end > i, isSpace(bytes[end - 1]) { end -= 1 }
        while i < end {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "-") || b == UInt8(ascii: " ") {
                guard digits.count % 2 == 0 else { return text }  // only between pairs
                continue
            }
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(b)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(b + 0x20)
            default: return text
            }
            guard digits.count <= 32 else { return text }
        }
        guard digits.count == 32 else { return text }
        var out: [UInt8] = []
        for (n, d) in digits.enumerated() {
            if n == 8 || n == 12 || n == 16 || n == 20 { out.append(UInt8(ascii: "-")) }
            out.append(d)
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { uuid.map { "\(name) (\($0))" } ?? name }
}

/// One domain's pages, as the ledger holds them.
public struct LedgerEntry: Equatable, Sendable {
    public enum State: String, Sendable {
        /// Admitted at prepare/migrate/restore begin; QEMU hasn't taken the pages yet, so
        /// they count against the pool.
        case reserved
        /// QEMU is running (`started begin` passed, or adopted by the agent): the pages
        /// show in the kernel's free count, so the entry no longer counts.
        case started
    }
    public var domain: String
    public var uuid: String?
    public var state: State
    /// The hook operation that took the reservation: prepare, migrate, restore, or adopt.
    public var operation: String
    /// Seconds since boot (CLOCK_BOOTTIME) when the entry was written.
    public var since: Int64
    /// The libvirtd that ran the hook; when it is gone the start died with it.
    public var owner: ProcessRef?
    public var items: [DemandItem]
    /// Pages the hook grew the pool by for this domain and has not given back, per size and
    /// node (one node, or nil for the size's pool as a whole).
    public var grown: [DemandItem] = []

    /// The operation of an entry that only holds grown pages a shrink could not give back
    /// yet: no demand, never in flight, and not the domain's own entry (the domain may
    /// start again while it waits).
    public static let grownHoldOperation = "shrink"
    public var isGrownHold: Bool { operation == Self.grownHoldOperation }

    public init(domain: String, uuid: String?, state: State, operation: String, since: Int64,
                owner: ProcessRef?, items: [DemandItem]) {
        self.domain = domain; self.uuid = uuid; self.state = state; self.operation = operation
        self.since = since; self.owner = owner; self.items = items
    }

    public var identity: DomainIdentity { DomainIdentity(name: domain, uuid: uuid) }

    /// Seconds since the entry was written, or nil when that can't be a real age: `since`
    /// after `now` (not this boot's clock) or so far back that the difference overflows.
    public func age(now: Int64) -> Int64? {
        let (age, overflow) = now.subtractingReportingOverflow(since)
        return overflow || age < 0 ? nil : age
    }
}

/// The reservation ledger: what in-flight starts have been promised, plus counters the
/// agent exports. Kept in `<state_dir>/ledger`, rewritten whole under `flock`.
public struct Ledger: Equatable, Sendable {
    public var entries: [LedgerEntry] = []
    /// Starts refused by the hook since boot.
    public var refusals: UInt64 = 0

    public init(entries: [LedgerEntry] = [], refusals: UInt64 = 0) { self.entries = entries; self.refusals = refusals }

    /// The domain's own entry (never a hold of grown pages).
    public func entry(_ id: DomainIdentity) -> LedgerEntry? { entries.first { !$0.isGrownHold && $0.identity.isSame(as: id) } }
    /// The entry of the domain named `domain` (byte for byte).
    public func entry(domain: String) -> LedgerEntry? { entry(DomainIdentity(name: domain, uuid: nil)) }

    /// Pages promised to other in-flight starts, which the kernel's free count doesn't show yet.
    public func inFlight(excluding id: DomainIdentity?) -> [DemandItem] {
        entries.filter { $0.state == .reserved && !(id.map($0.identity.isSame(as:)) ?? false) }.flatMap(\.items)
    }

    public func inFlight(excluding domain: String?) -> [DemandItem] {
        inFlight(excluding: domain.map { DomainIdentity(name: $0, uuid: nil) })
    }

    /// Records a reservation, replacing any earlier entry of the same domain (an incoming
    /// migration or a restore runs `prepare begin` after its own `begin`). A hold of grown
    /// pages stays.
    public mutating func reserve(_ entry: LedgerEntry) {
        let id = entry.identity
        entries.removeAll { !$0.isGrownHold && $0.identity.isSame(as: id) }
        entries.append(entry)
    }

    /// `started begin`: the pages are now in the kernel's count.
    @discardableResult
    public mutating func markStarted(_ id: DomainIdentity, at now: Int64) -> Bool {
        guard let i = entries.firstIndex(where: { !$0.isGrownHold && $0.identity.isSame(as: id) }) else { return false }
        entries[i].state = .started
        entries[i].since = now
        return true
    }

    @discardableResult
    public mutating func markStarted(domain: String, at now: Int64) -> Bool {
        markStarted(DomainIdentity(name: domain, uuid: nil), at: now)
    }

    /// `release end`: idempotent.
    @discardableResult
    public mutating func drop(_ id: DomainIdentity) -> LedgerEntry? {
        guard let i = entries.firstIndex(where: { !$0.isGrownHold && $0.identity.isSame(as: id) }) else { return nil }
        return entries.remove(at: i)
    }

    @discardableResult
    public mutating func drop(domain: String) -> LedgerEntry? { drop(DomainIdentity(name: domain, uuid: nil)) }

    /// Counts one refused start; the counter stops at its maximum instead of overflowing.
    public mutating func countRefusal() {
        if refusals < UInt64.max { refusals += 1 }
    }

    /// Removes reservations whose start died halfway: their libvirtd is gone, or they are
    /// older than `timeout` seconds. Entries of running domains (`started`) are the agent's
    /// to reconcile. Returns what was removed.
    public mutating func expire(now: Int64, timeout: Int64, isAlive: (ProcessRef) -> Bool) -> [LedgerEntry] {
        var removed: [LedgerEntry] = []
        entries.removeAll { e in
            guard e.state == .reserved else { return false }
            // An entry without a real age (written after `now`, or impossibly long ago) is
            // not from this boot: it can't be a start still in progress.
            let dead = (e.owner.map { !isAlive($0) } ?? false) || (e.age(now: now).map { $0 > timeout } ?? true)
            if dead { removed.append(e) }
            return dead
        }
        return removed
    }
}

/// The ledger file format: a header, `refusals=N`, then one logfmt line per entry:
/// `domain=web1 uuid=… state=reserved op=prepare since=812 owner=1021:455 demand=2048@0-1,3:48;1048576@*:1`
public enum LedgerCodec {
    public static let header = "# hugepage-guard ledger v1 (rewritten under flock; do not edit while VMs start)"

    public static func encode(_ ledger: Ledger) -> String {
        var out = header + "\nrefusals=\(ledger.refusals)\n"
        out.reserveCapacity(out.utf8.count + ledger.entries.count * 128)
        for e in ledger.entries {
            out += "domain=" + Logfmt.value(e.domain)
            if let uuid = e.uuid { out += " uuid=" + Logfmt.value(uuid) }
            out += " state=" + e.state.rawValue + " op=" + Logfmt.value(e.operation) + " since=" + String(e.since)
            if let owner = e.owner { out += " owner=" + owner.description }
            out += " demand=" + encode(items: e.items)
            if !e.grown.isEmpty { out += " grown=" + encode(items: e.grown) }
            out += "\n"
        }
        return out
    }

    /// `2048@0-1,3:48;1048576@*:1` (size@nodes:pages; node sets use commas, so items use
    /// semicolons); `-` when empty.
    public static func encode(items: [DemandItem]) -> String {
        if items.isEmpty { return "-" }
        return items.map { "\($0.pageSizeKiB)@\($0.hostNodes?.description ?? "*"):\($0.pages)" }.joined(separator: ";")
    }

    public static func decode(_ text: String) throws(LedgerError) -> Ledger {
        var ledger = Ledger()
        var sawHeader = false
        var totalKiB: UInt64 = 0
        for (index, bytes) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let lineNo = index + 1
            if bytes.isEmpty { continue }
            let raw = Substring(bytes)
            if raw.hasPrefix("#") {
                if raw.hasPrefix("# hugepage-guard ledger v1") { sawHeader = true }
                continue
            }
            guard sawHeader else { throw LedgerError(line: lineNo, reason: "no 'hugepage-guard ledger v1' header") }
            guard let pairs = Logfmt.parse(raw) else { throw LedgerError(line: lineNo, reason: "not a logfmt line") }
            var f: [String: String] = [:]
            for (k, v) in pairs { f[k] = v }
            if pairs.count == 1, let r = f["refusals"] {
                guard let n = UInt64(r) else { throw LedgerError(line: lineNo, reason: "refusals '\(r)' is not a number") }
                ledger.refusals = n
                continue
            }
            guard let domain = f["domain"], !domain.isEmpty else { throw LedgerError(line: lineNo, reason: "no domain") }
            guard let state = f["state"].flatMap(LedgerEntry.State.init(rawValue:)) else {
                throw LedgerError(line: lineNo, reason: "state must be reserved or started")
            }
            guard let since = f["since"].flatMap({ Int64($0) }) else { throw LedgerError(line: lineNo, reason: "since is not a number") }
            var owner: ProcessRef?
            if let o = f["owner"] {
                guard let p = ProcessRef(o) else { throw LedgerError(line: lineNo, reason: "owner '\(o)' is not pid:starttime") }
                owner = p
            }
            guard let d = f["demand"], let items = decode(items: d) else {
                throw LedgerError(line: lineNo, reason: "demand is not size@nodes:pages;…")
            }
            for item in items {
                guard item.pageSizeKiB > 0 else { throw LedgerError(line: lineNo, reason: "demand has a page size of 0 KiB") }
                // Every sum the decision makes over the ledger stays below this total.
                let (kib, over) = item.pages.multipliedReportingOverflow(by: item.pageSizeKiB)
                let (sum, overSum) = totalKiB.addingReportingOverflow(kib)
                guard !over, !overSum else {
                    throw LedgerError(line: lineNo, reason: "demand of \(item.pages) pages of \(item.pageSizeKiB) KiB brings "
                                      + "the ledger past \(UInt64.max) KiB, more memory than any host has")
                }
                totalKiB = sum
            }
            var entry = LedgerEntry(domain: domain, uuid: f["uuid"], state: state, operation: f["op"] ?? "prepare",
                                    since: since, owner: owner, items: items)
            if let g = f["grown"] {
                guard let grown = decode(items: g) else { throw LedgerError(line: lineNo, reason: "grown is not size@node:pages;…") }
                guard grown.allSatisfy({ $0.pageSizeKiB > 0 && ($0.hostNodes.map { $0.ids.count == 1 } ?? true) }) else {
                    throw LedgerError(line: lineNo, reason: "grown must name a page size above 0 KiB and one node or *")
                }
                entry.grown = grown
            }
            ledger.entries.append(entry)
        }
        if !sawHeader && !text.isEmpty { throw LedgerError(line: 1, reason: "no 'hugepage-guard ledger v1' header") }
        return ledger
    }

    public static func decode(items text: String) -> [DemandItem]? {
        if text == "-" { return [] }
        var items: [DemandItem] = []
        // size@nodes:pages — split on ASCII bytes; only the node set goes through NodeSet.
        for part in text.utf8.split(separator: UInt8(ascii: ";")) {
            guard let at = part.firstIndex(of: UInt8(ascii: "@")), let colon = part.lastIndex(of: UInt8(ascii: ":")),
                  at < colon,
                  let size = UInt64(Substring(part[..<at])),
                  let pages = UInt64(Substring(part[part.index(after: colon)...])) else { return nil }
            let nodesText = Substring(part[part.index(after: at)..<colon])
            var nodes: NodeSet?
            if nodesText != "*" {
                guard let n = NodeSet.parse(String(nodesText)) else { return nil }
                nodes = n
            }
            items.append(DemandItem(pageSizeKiB: size, hostNodes: nodes, pages: pages))
        }
        return items
    }
}

public struct LedgerError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public init(line: Int, reason: String) { self.line = line; self.reason = reason }
    /// `line` 0 is the file as a whole (not a regular file, too large).
    public var description: String { line > 0 ? "line \(line): \(reason)" : reason }
}
