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

    /// The same from bytes, without building a String when they are `digits:digits`.
    init?(bytes b: UnsafeBufferPointer<UInt8>) {
        guard let colon = b.firstIndex(of: UInt8(ascii: ":")),
              let pid = LedgerCodec.parseUnsigned(UnsafeBufferPointer(rebasing: b[..<colon])), pid <= UInt64(Int32.max),
              let t = LedgerCodec.parseUnsigned(UnsafeBufferPointer(rebasing: b[(colon + 1)...])) else {
            self.init(String(decoding: b, as: UTF8.self))
            return
        }
        self.init(pid: Int32(pid), startTicks: t)
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
        // The byte counts first: a native String knows its own, and most names differ in it.
        return name.utf8.count == other.name.utf8.count && name.utf8.elementsEqual(other.name.utf8)
    }

    /// A UUID as libvirt reads it (`virUUIDParse`: 32 hex digits, '-' and ' ' allowed
    /// between them, surrounding whitespace ignored), written lowercase as 8-4-4-4-12.
    /// Text that libvirt would not read as a UUID is kept as it is.
    public static func canonicalUUID(_ text: String) -> String {
        // The ledger and libvirt write them canonical already: those are kept as they are.
        if text.utf8.withContiguousStorageIfAvailable(isCanonicalUUID) == true { return text }
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

    /// Whether the bytes are a UUID as `canonicalUUID` writes it: 8-4-4-4-12 lowercase hex.
    private static func isCanonicalUUID(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard c &- UInt8(ascii: "0") < 10 || c &- UInt8(ascii: "a") < 6 else { return false }
            }
        }
        return true
    }

    /// Whether `name` and `uuid` (as an entry holds them, not yet canonical) are this
    /// domain: `isSame(as: DomainIdentity(name: name, uuid: uuid))`, without building one.
    func isSame(name other: String, uuid otherUUID: String?) -> Bool {
        if let a = uuid, let b = otherUUID { return a == DomainIdentity.canonicalUUID(b) }
        return name.utf8.count == other.utf8.count && name.utf8.elementsEqual(other.utf8)
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
                owner: ProcessRef?, items: [DemandItem], grown: [DemandItem] = []) {
        self.domain = domain; self.uuid = uuid; self.state = state; self.operation = operation
        self.since = since; self.owner = owner; self.items = items; self.grown = grown
    }

    public var identity: DomainIdentity { DomainIdentity(name: domain, uuid: uuid) }

    /// The domain's own entry (not a hold of grown pages) for `id`.
    func isOwn(_ id: DomainIdentity) -> Bool { !isGrownHold && id.isSame(name: domain, uuid: uuid) }

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
    public func entry(_ id: DomainIdentity) -> LedgerEntry? { entries.first { $0.isOwn(id) } }
    /// The entry of the domain named `domain` (byte for byte).
    public func entry(domain: String) -> LedgerEntry? { entry(DomainIdentity(name: domain, uuid: nil)) }

    /// Pages promised to other in-flight starts, which the kernel's free count doesn't show yet.
    public func inFlight(excluding id: DomainIdentity?) -> [DemandItem] {
        var items: [DemandItem] = []
        items.reserveCapacity(entries.count)
        // By index: the entries are looked at, not copied.
        for i in entries.indices where entries[i].state == .reserved {
            if let id, id.isSame(name: entries[i].domain, uuid: entries[i].uuid) { continue }
            items.append(contentsOf: entries[i].items)
        }
        return items
    }

    public func inFlight(excluding domain: String?) -> [DemandItem] {
        inFlight(excluding: domain.map { DomainIdentity(name: $0, uuid: nil) })
    }

    /// Records a reservation, replacing any earlier entry of the same domain (an incoming
    /// migration or a restore runs `prepare begin` after its own `begin`). A hold of grown
    /// pages stays.
    public mutating func reserve(_ entry: LedgerEntry) {
        let id = entry.identity
        let same = entries.indices.filter { entries[$0].isOwn(id) }
        // Recording again what is already the last entry changes nothing: the ledger is left
        // untouched (not copied, not rewritten).
        if same == [entries.count - 1], entries[same[0]] == entry { return }
        entries.removeAll { $0.isOwn(id) }
        entries.append(entry)
    }

    /// `started begin`: the pages are now in the kernel's count.
    @discardableResult
    public mutating func markStarted(_ id: DomainIdentity, at now: Int64) -> Bool {
        guard let i = entries.firstIndex(where: { $0.isOwn(id) }) else { return false }
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
        guard let i = entries.firstIndex(where: { $0.isOwn(id) }) else { return nil }
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
    ///
    /// `isAlive` is asked once per owner: every start a libvirtd has in flight names it, and
    /// asking reads a /proc file.
    public mutating func expire(now: Int64, timeout: Int64, isAlive: (ProcessRef) -> Bool) -> [LedgerEntry] {
        var answers: [(owner: ProcessRef, alive: Bool)] = []
        func ownerIsAlive(_ owner: ProcessRef) -> Bool {
            if let known = answers.first(where: { $0.owner == owner }) { return known.alive }
            let alive = isAlive(owner)
            answers.append((owner, alive))
            return alive
        }
        // Found first without mutating, so that a ledger with nothing to expire stays untouched.
        let dead = entries.indices.filter { i in
            guard entries[i].state == .reserved else { return false }
            // An entry without a real age (written after `now`, or impossibly long ago) is
            // not from this boot: it can't be a start still in progress.
            return (entries[i].owner.map { !ownerIsAlive($0) } ?? false) || (entries[i].age(now: now).map { $0 > timeout } ?? true)
        }
        guard !dead.isEmpty else { return [] }
        let removed = dead.map { entries[$0] }
        for i in dead.reversed() { entries.remove(at: i) }
        return removed
    }
}

/// The ledger file format: a header, `refusals=N`, then one logfmt line per entry:
/// `domain=web1 uuid=… state=reserved op=prepare since=812 owner=1021:455 demand=2048@0-1,3:48;1048576@*:1`
public enum LedgerCodec {
    public static let header = "# hugepage-guard ledger v1 (rewritten under flock; do not edit while VMs start)"

    public static func encode(_ ledger: Ledger) -> String {
        // Written as bytes: one buffer, no intermediate Strings for numbers or node sets.
        var out = LedgerBytes()
        out.bytes.reserveCapacity(header.utf8.count + 32 + ledger.entries.count * 128)
        out.append(header)
        out.append(literal: "\nrefusals=")
        out.append(unsigned: ledger.refusals)
        out.append(byte: UInt8(ascii: "\n"))
        for e in ledger.entries {
            out.append(literal: "domain=")
            out.append(Logfmt.value(e.domain))
            if let uuid = e.uuid {
                out.append(literal: " uuid=")
                out.append(Logfmt.value(uuid))
            }
            out.append(literal: " state=")
            out.append(e.state.rawValue)
            out.append(literal: " op=")
            out.append(Logfmt.value(e.operation))
            out.append(literal: " since=")
            out.append(signed: e.since)
            if let owner = e.owner {
                out.append(literal: " owner=")
                out.append(signed: Int64(owner.pid))
                out.append(byte: UInt8(ascii: ":"))
                out.append(unsigned: owner.startTicks)
            }
            out.append(literal: " demand=")
            out.append(items: e.items)
            if !e.grown.isEmpty {
                out.append(literal: " grown=")
                out.append(items: e.grown)
            }
            out.append(byte: UInt8(ascii: "\n"))
        }
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// `2048@0-1,3:48;1048576@*:1` (size@nodes:pages; node sets use commas, so items use
    /// semicolons); `-` when empty.
    public static func encode(items: [DemandItem]) -> String {
        var out = LedgerBytes()
        out.append(items: items)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    public static func decode(_ text: String) throws(LedgerError) -> Ledger {
        var text = text
        let result = text.withUTF8 { bytes in Result { () throws(LedgerError) in try decode(bytes: bytes) } }
        return try result.get()
    }

    /// The decoder, on the file's UTF-8 bytes: lines and fields are found by their ASCII
    /// delimiters, and only the values an entry keeps become Strings.
    static func decode(bytes text: UnsafeBufferPointer<UInt8>) throws(LedgerError) -> Ledger {
        var ledger = Ledger()
        // Demand texts already read, with their items: hundreds of reservations usually hold a
        // handful of distinct demands, so each is parsed once and its items shared.
        var seenDemands = DemandCache()
        var sawHeader = false
        var totalKiB: UInt64 = 0
        var lineNo = 0
        var lineStart = 0
        // One entry per line: room for them all at once.
        var lines = 0
        while lineStart < text.count {
            lines += 1
            lineStart = text.firstIndex(of: UInt8(ascii: "\n"), or: UInt8(ascii: "\n"), from: lineStart) + 1
        }
        ledger.entries.reserveCapacity(lines)
        lineStart = 0
        while lineStart <= text.count {
            let lineEnd = text.firstIndex(of: UInt8(ascii: "\n"), or: UInt8(ascii: "\n"), from: lineStart)
            defer { lineStart = lineEnd + 1 }
            lineNo += 1
            if lineEnd == lineStart { continue }
            let bytes = UnsafeBufferPointer(rebasing: text[lineStart..<lineEnd])
            if bytes[0] == UInt8(ascii: "#") {
                // Compared as Characters, as a line that starts with `#` plus a combining mark
                // is not a comment.
                let raw = String(decoding: bytes, as: UTF8.self)
                if raw.hasPrefix("#") {
                    if raw.hasPrefix("# hugepage-guard ledger v1") { sawHeader = true }
                    continue
                }
            }
            guard sawHeader else { throw LedgerError(line: lineNo, reason: "no 'hugepage-guard ledger v1' header") }
            // The last of a repeated key wins; keys the ledger doesn't use are skipped.
            var fields = EntryFields()
            let wellFormed = Logfmt.scan(bytes: bytes) { key, value in fields.take(key, value, demands: &seenDemands) }
            guard wellFormed else { throw LedgerError(line: lineNo, reason: "not a logfmt line") }
            if fields.pairs == 1, let r = fields.refusals {
                guard let n = parseUnsigned(r) else { throw LedgerError(line: lineNo, reason: "refusals '\(r)' is not a number") }
                ledger.refusals = n
                continue
            }
            // Values are moved out of `fields`, not copied.
            guard let domain = fields.domain.take(), !domain.isEmpty else { throw LedgerError(line: lineNo, reason: "no domain") }
            guard let state = fields.state else {
                throw LedgerError(line: lineNo, reason: "state must be reserved or started")
            }
            guard let since = fields.since else { throw LedgerError(line: lineNo, reason: "since is not a number") }
            var owner: ProcessRef?
            switch fields.owner {
            case .absent: break
            case .invalid(let o): throw LedgerError(line: lineNo, reason: "owner '\(o)' is not pid:starttime")
            case .value(let p): owner = p
            }
            guard case .some(.some(let items)) = fields.demand.take() else {
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
            var grown: [DemandItem] = []
            if let g = fields.grown {
                guard let g else { throw LedgerError(line: lineNo, reason: "grown is not size@node:pages;…") }
                guard g.allSatisfy({ $0.pageSizeKiB > 0 && ($0.hostNodes.map { $0.ids.count == 1 } ?? true) }) else {
                    throw LedgerError(line: lineNo, reason: "grown must name a page size above 0 KiB and one node or *")
                }
                grown = g
            }
            let entry = LedgerEntry(domain: domain, uuid: fields.uuid.take(), state: state, operation: fields.op.take() ?? "prepare",
                                    since: since, owner: owner, items: items, grown: grown)
            ledger.entries.append(consume entry)
        }
        if !sawHeader && !text.isEmpty { throw LedgerError(line: 1, reason: "no 'hugepage-guard ledger v1' header") }
        return ledger
    }

    /// The values of one entry line that the ledger reads, each parsed where it is found
    /// (the last of a repeated key wins). Only the names stay text; a value that doesn't
    /// parse is kept as "present but unusable", or as its text where the error quotes it.
    private struct EntryFields {
        enum Owner { case absent, invalid(String), value(ProcessRef) }
        var pairs = 0
        var domain: String?, uuid: String?, op: String?
        var state: LedgerEntry.State?, since: Int64?, owner = Owner.absent
        /// nil: no such key; .some(nil): there, but not size@nodes:pages;…
        var demand: [DemandItem]??, grown: [DemandItem]??
        var refusals: String?

        mutating func take(_ key: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, demands: inout DemandCache) {
            pairs += 1
            func string() -> String { String(decoding: value, as: UTF8.self) }
            switch key.count {
            case 2 where matches(key, "op"):
                // Nearly every entry is a prepare: the literal needs no new String.
                op = matches(value, "prepare") ? "prepare" : string()
            case 4 where matches(key, "uuid"): uuid = string()
            case 5 where matches(key, "state"):
                state = matches(value, "reserved") ? .reserved : matches(value, "started") ? .started : nil
            case 5 where matches(key, "since"): since = LedgerCodec.parseSigned(value)
            case 5 where matches(key, "owner"): owner = ProcessRef(bytes: value).map(Owner.value) ?? .invalid(string())
            case 5 where matches(key, "grown"): grown = .some(demands.items(value))
            case 6 where matches(key, "domain"): domain = string()
            case 6 where matches(key, "demand"): demand = .some(demands.items(value))
            case 8 where matches(key, "refusals"): refusals = string()
            default: break
            }
        }

        private func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool { bytes.hasSameBytes(as: name) }
    }

    /// Demand texts (`2048@0-3:4`) already parsed in this file, with their items: 64 slots
    /// found by a hash of the text, the texts kept end to end in one buffer. A text whose slot
    /// holds another text is parsed each time it comes (a file of all-different demands parses
    /// each one, as without a cache).
    private struct DemandCache {
        private static let slotCount = 64
        /// A slot with an empty range is free (the empty text is never looked up).
        private struct Slot { var text: Range<Int> = 0..<0; var items: [DemandItem]? }
        private var texts: [UInt8] = []
        private var slots = [Slot](repeating: Slot(), count: DemandCache.slotCount)

        mutating func items(_ text: UnsafeBufferPointer<UInt8>) -> [DemandItem]? {
            if text.count == 1 && text[0] == UInt8(ascii: "-") { return [] }
            guard !text.isEmpty else { return LedgerCodec.decode(items: text) }
            var hash: UInt32 = 2_166_136_261  // FNV-1a
            for b in text { hash = (hash ^ UInt32(b)) &* 16_777_619 }
            let slot = Int(hash % UInt32(Self.slotCount))
            if !slots[slot].text.isEmpty {
                let known = slots[slot].text
                let same = texts.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[known]).hasSameBytes(as: text) }
                return same ? slots[slot].items : LedgerCodec.decode(items: text)
            }
            let items = LedgerCodec.decode(items: text)
            slots[slot] = Slot(text: texts.count..<texts.count + text.count, items: items)
            texts.append(contentsOf: text)
            return items
        }
    }

    public static func decode(items text: String) -> [DemandItem]? {
        if text == "-" { return [] }
        var text = text
        return text.withUTF8 { decode(items: $0) }
    }

    /// size@nodes:pages;… on bytes; only a node set other than canonical digits goes through
    /// NodeSet's full parser.
    static func decode(items b: UnsafeBufferPointer<UInt8>) -> [DemandItem]? {
        var items: [DemandItem] = []
        var start = 0
        while start < b.count {
            var end = start
            while end < b.count, b[end] != UInt8(ascii: ";") { end += 1 }
            defer { start = end + 1 }
            if end == start { continue }  // empty parts between semicolons are skipped
            let part = UnsafeBufferPointer(rebasing: b[start..<end])
            guard let at = part.firstIndex(of: UInt8(ascii: "@")), let colon = part.lastIndex(of: UInt8(ascii: ":")),
                  at < colon,
                  let size = parseUnsigned(UnsafeBufferPointer(rebasing: part[..<at])),
                  let pages = parseUnsigned(UnsafeBufferPointer(rebasing: part[(colon + 1)...])) else { return nil }
            let nodesText = UnsafeBufferPointer(rebasing: part[(at + 1)..<colon])
            var nodes: NodeSet?
            if !(nodesText.count == 1 && nodesText[0] == UInt8(ascii: "*")) {
                guard let n = canonicalNodeSet(nodesText) ?? NodeSet.parse(String(decoding: nodesText, as: UTF8.self)) else {
                    return nil
                }
                nodes = n
            }
            items.append(DemandItem(pageSizeKiB: size, hostNodes: nodes, pages: pages))
        }
        return items
    }

    /// The node set as the encoder writes it (`0-2,5`: ascending ids and ranges below
    /// `NodeSet.idLimit`, no spaces), read without NodeSet's general parser; nil for any
    /// other text, which that parser then reads.
    static func canonicalNodeSet(_ b: UnsafeBufferPointer<UInt8>) -> NodeSet? {
        var ids: [Int] = []
        var i = 0
        func number() -> Int? {
            let start = i
            var n = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39, i - start < 4 {
                n = n * 10 + Int(b[i] - 0x30)
                i += 1
            }
            return i > start && n < NodeSet.idLimit ? n : nil
        }
        while true {
            guard let first = number(), first > (ids.last ?? -1) else { return nil }
            var last = first
            if i < b.count, b[i] == UInt8(ascii: "-") {
                i += 1
                guard let end = number(), end >= first else { return nil }
                last = end
            }
            ids.append(contentsOf: first...last)
            if i == b.count { return NodeSet(sortedUnique: ids) }  // ascending, checked above
            guard b[i] == UInt8(ascii: ","), i + 1 < b.count else { return nil }
            i += 1
        }
    }

    /// A count in the ledger, read as `UInt64(text)` reads it: an optional sign, then ASCII
    /// digits (so `-0` is 0, and anything else below zero is not a count).
    static func parseUnsigned(_ b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard let (negative, magnitude) = signedDigits(b), !negative || magnitude == 0 else { return nil }
        return magnitude
    }

    static func parseUnsigned(_ text: String) -> UInt64? {
        var text = text
        return text.withUTF8 { parseUnsigned($0) }
    }

    /// A time in the ledger, read as `Int64(text)` reads it.
    static func parseSigned(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseSigned($0) }
    }

    static func parseSigned(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let (negative, magnitude) = signedDigits(b) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(bitPattern: 0 &- magnitude) : nil }
        return Int64(exactly: magnitude)
    }

    /// One optional `+` or `-`, then a number in ASCII digits (`ASCIIDecimal`).
    private static func signedDigits(_ b: UnsafeBufferPointer<UInt8>) -> (negative: Bool, magnitude: UInt64)? {
        let sign = b.first.flatMap { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") ? $0 : nil }
        let digits = sign == nil ? b : UnsafeBufferPointer(rebasing: b.dropFirst())
        return ASCIIDecimal(digits).value.map { (sign == UInt8(ascii: "-"), $0) }
    }
}

/// The encoder's output buffer.
private struct LedgerBytes {
    var bytes: [UInt8] = []

    mutating func append(byte: UInt8) { bytes.append(byte) }

    mutating func append(literal s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func append(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: s.utf8)
        }
    }

    mutating func append(unsigned n: UInt64) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes, room for 20 digits
        withUnsafeMutableBytes(of: &digits) { buf in
            var i = buf.count, n = n
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: n % 10) + 0x30
                n /= 10
            } while n > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i...]))
        }
    }

    mutating func append(signed n: Int64) {
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        append(unsigned: n.magnitude)
    }

    /// `size@nodes:pages;…`, `-` when empty.
    mutating func append(items: [DemandItem]) {
        if items.isEmpty { bytes.append(UInt8(ascii: "-")); return }
        for (n, item) in items.enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ";")) }
            append(unsigned: item.pageSizeKiB)
            bytes.append(UInt8(ascii: "@"))
            if let nodes = item.hostNodes { append(nodes: nodes) } else { bytes.append(UInt8(ascii: "*")) }
            bytes.append(UInt8(ascii: ":"))
            append(unsigned: item.pages)
        }
    }

    /// NodeSet's compact syntax (`0-2,5`), as its `description` writes it.
    mutating func append(nodes: NodeSet) {
        let ids = nodes.ids
        var i = 0
        while i < ids.count {
            var j = i
            while j + 1 < ids.count && ids[j + 1] == ids[j] + 1 { j += 1 }
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            append(signed: Int64(ids[i]))
            if j > i {
                bytes.append(UInt8(ascii: "-"))
                append(signed: Int64(ids[j]))
            }
            i = j + 1
        }
    }
}

public struct LedgerError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public init(line: Int, reason: String) { self.line = line; self.reason = reason }
    /// `line` 0 is the file as a whole (not a regular file, too large).
    public var description: String { line > 0 ? "line \(line): \(reason)" : reason }
}
