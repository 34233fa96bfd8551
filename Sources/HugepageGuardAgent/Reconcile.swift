import HugepageGuardCore

/// A running domain as the agent sees it: identity plus the demand of its live XML.
public struct RunningDomain: Sendable, Equatable {
    public var name: String
    public var uuid: String
    /// libvirt's runtime id, which names its hugetlbfs directory (`<id>-<name>`).
    public var id: UInt32?
    public var demand: DomainDemand
    /// Where its QEMU's hugepages are, per size and node, from `/proc/<pid>/numa_maps`; nil
    /// when that couldn't be read (then the demand model stands in, and says so).
    public var placement: HugepagePlacement?
    public init(name: String, uuid: String, id: UInt32?, demand: DomainDemand, placement: HugepagePlacement? = nil) {
        self.name = name; self.uuid = uuid; self.id = id; self.demand = demand; self.placement = placement
    }
    public var usesHugepages: Bool { !demand.isZero }

    /// Where the VM's pages are, one share per page size and node: from numa_maps when it
    /// was read (`source` "numa_maps"), else the model's figure from its live XML (`source`
    /// "model", node `any` for pages that may sit on any node, else its node set).
    public var pageShares: [PageShare] {
        if let placement {
            return placement.pages.keys.sorted().flatMap { size in
                placement.nodes(ofSize: size).map {
                    PageShare(pageSizeKiB: size, node: String($0), pages: placement.pages(ofSize: size, node: $0), source: .numaMaps)
                }
            }
        }
        var shares: [PageShare] = []
        for item in demand.items where item.pages > 0 {
            let node = item.hostNodes?.description ?? "any"
            if let i = shares.firstIndex(where: { $0.pageSizeKiB == item.pageSizeKiB && $0.node == node }) {
                shares[i].pages += item.pages
            } else {
                shares.append(PageShare(pageSizeKiB: item.pageSizeKiB, node: node, pages: item.pages, source: .model))
            }
        }
        return shares.sorted { ($0.pageSizeKiB, $0.node) < ($1.pageSizeKiB, $1.node) }
    }
}

/// A VM's pages of one size on one node (or node set), and where the figure comes from.
public struct PageShare: Sendable, Equatable {
    public enum Source: String, Sendable { case numaMaps = "numa_maps", model }
    public var pageSizeKiB: UInt64
    public var node: String
    public var pages: UInt64
    public var source: Source
    public init(pageSizeKiB: UInt64, node: String, pages: UInt64, source: Source) {
        self.pageSizeKiB = pageSizeKiB; self.node = node; self.pages = pages; self.source = source
    }
}

/// A file found under `<hugetlbfs mount>/libvirt/qemu/`.
public struct HugetlbfsFile: Sendable, Equatable, Hashable {
    public var path: String
    public var pageSizeKiB: UInt64
    /// The per-domain directory it sits in (`3-web1`), nil when directly in `libvirt/qemu`.
    public var domainDir: String?
    /// Pages the file holds (allocated blocks).
    public var pages: UInt64
    public init(path: String, pageSizeKiB: UInt64, domainDir: String?, pages: UInt64) {
        self.path = path; self.pageSizeKiB = pageSizeKiB; self.domainDir = domainDir; self.pages = pages
    }
}

/// One page size on the whole host (`node == nil`) or on one NUMA node.
public struct PoolRow: Sendable, Equatable {
    public var pageSizeKiB: UInt64
    public var node: Int?
    public var total: UInt64
    public var free: UInt64
    public var surplus: UInt64
    /// Pages promised by the hook to starts whose QEMU hasn't taken them yet.
    public var reservedInFlight: UInt64
    /// Expected: the running domains' demand (their live XML). On a node: the pages their
    /// QEMU holds there (numa_maps), or the model's share where numa_maps couldn't be read.
    public var committed: UInt64
    /// Actual: what the kernel says is in use (allocated minus free, plus reserved mappings).
    public var inUse: UInt64
    /// inUse - committed; nil on a node when a running VM's numa_maps couldn't be read and
    /// its demand of this size may sit on any node.
    public var drift: Int64?
    public var hostReserve: UInt64
    /// What a new VM could still take: free - resv - in flight - host reserve.
    public var headroom: Int64
}

/// What a reconciliation found, for the log and the metrics.
public enum Finding: Sendable, Equatable, Hashable {
    /// Pages in use that neither running domains nor leaked libvirt files explain.
    case nonLibvirtConsumer(pageSizeKiB: UInt64, pages: UInt64)
    /// Running domains' demand the kernel doesn't show as in use.
    case missingPages(pageSizeKiB: UInt64, pages: UInt64)
    /// A file under libvirt's hugepage directories that belongs to no running domain.
    case leakedFile(HugetlbfsFile)
    /// A ledger entry removed: `started` for a domain that isn't running, or an expired reservation.
    case staleLedgerEntry(domain: String, state: String, reason: String)
    /// A running hugepage domain the ledger didn't know, now recorded.
    case adopted(domain: String, uuid: String, items: [DemandItem])
    /// A running domain whose demand changed (DIMM hotplug or unplug).
    case commitmentChanged(domain: String, uuid: String, from: [DemandItem], to: [DemandItem])
    /// Free pages below the configured host reserve.
    case belowReserve(pageSizeKiB: UInt64, node: Int?, available: UInt64, reserve: UInt64)
    /// A VM whose pages of one size are all bound to `allowed` (strict or restrictive
    /// numatune, or a DIMM's nodemask) holds `pages` of them on `node`, outside that binding.
    case pagesOutsideBinding(domain: String, uuid: String, pageSizeKiB: UInt64, node: Int, pages: UInt64, allowed: NodeSet)
}

public struct ReconcileReport: Sendable, Equatable {
    public var rows: [PoolRow]
    public var findings: [Finding]
    /// Running domains that use hugepages, by name.
    public var hugepageDomains: [RunningDomain]
    public var ledger: Ledger
    /// Pages in leaked files per page size.
    public var leakedPages: [UInt64: UInt64]
}

/// Expected (running domains' demand) against actual (the kernel's pool), per page size
/// and node, plus the ledger repairs the agent makes. Pure: all I/O is the caller's.
public enum Reconciler {
    /// libvirt's hugetlbfs directory name for a running domain (`virDomainDefGetShortName`):
    /// `<id>-<first 20 characters of the name>`.
    public static func shortName(id: UInt32, name: String) -> String { "\(id)-\(name.prefix(20))" }

    /// Reconciles what a scan found against the ledger.
    public static func reconcile(_ state: HostState, ledger: Ledger, config: GuardConfig, now: Int64,
                                 isAlive: (ProcessRef) -> Bool) -> ReconcileReport {
        reconcile(pool: state.pool, running: state.running, ledger: ledger, files: state.files, config: config, now: now,
                  listedAt: state.listedAt, isAlive: isAlive)
    }

    public static func reconcile(pool: HugepagePool, running: [RunningDomain], ledger: Ledger,
                                 files: [HugetlbfsFile], config: GuardConfig, now: Int64,
                                 listedAt: Int64? = nil,
                                 isAlive: (ProcessRef) -> Bool) -> ReconcileReport {
        let hugepage = running.filter(\.usesHugepages).sorted { $0.name < $1.name }
        let runningNow = RunningIdentities(running)
        var (after, findings) = repairLedger(ledger, hugepage: hugepage, running: runningNow, config: config,
                                             now: now, listedAt: listedAt ?? now, isAlive: isAlive)
        let leaked = leaks(files, running: running)
        var leakedPages: [UInt64: UInt64] = [:]
        for f in leaked { leakedPages[f.pageSizeKiB, default: 0] += f.pages }
        findings += leaked.map(Finding.leakedFile)
        findings += hugepage.flatMap(outsideBinding)

        // In flight: reservations of domains whose QEMU isn't running yet. Running domains
        // whose start hasn't passed `started begin` may still be preallocating, so the kernel
        // may not show their pages yet.
        let inFlight = after.entries.filter { $0.state == .reserved && !runningNow.contains($0) }.flatMap(\.items)
        let reserved = LedgerIndex(after.entries.filter { $0.state == .reserved })
        let starting = hugepage.filter { reserved.first(of: $0) != nil }

        var rows: [PoolRow] = []
        for size in pool.sizes.keys.sorted() {
            guard let p = pool.sizes[size] else { continue }
            let flying = inFlight.filter { $0.pageSizeKiB == size }
            let (row, sizeFindings) = sizeRow(p, hugepage: hugepage, starting: starting, flying: flying,
                                              leaked: leakedPages[size] ?? 0, config: config)
            let (nodes, nodeFindings) = nodeRows(p, hugepage: hugepage, flying: flying, config: config)
            rows += [row] + nodes
            findings += sizeFindings + nodeFindings
        }
        return ReconcileReport(rows: rows, findings: findings, hugepageDomains: hugepage, ledger: after, leakedPages: leakedPages)
    }

    /// The ledger made to agree with the running domains: `started` entries of domains that
    /// aren't running are dropped (unless written in or after the second `listedAt` the list
    /// was taken: they may belong to a start the list just missed), expired reservations
    /// dropped, running hugepage domains the ledger lacks adopted, and DIMM hotplug followed.
    static func repairLedger(_ ledger: Ledger, hugepage: [RunningDomain], running: RunningIdentities, config: GuardConfig,
                             now: Int64, listedAt: Int64, isAlive: (ProcessRef) -> Bool) -> (Ledger, [Finding]) {
        var findings: [Finding] = []
        var after = ledger
        after.entries.removeAll { e in
            guard e.state == .started, !running.contains(e), e.since < listedAt else { return false }
            findings.append(.staleLedgerEntry(domain: e.domain, state: e.state.rawValue, reason: "domain is not running"))
            return true
        }
        for e in after.expire(now: now, timeout: config.reservationTimeout, isAlive: isAlive) {
            findings.append(.staleLedgerEntry(domain: e.domain, state: e.state.rawValue,
                                              reason: "reservation expired: its start never finished"))
        }
        let index = LedgerIndex(after.entries)
        for d in hugepage {
            if let i = index.first(of: d) {
                if after.entries[i].state == .started, after.entries[i].items != d.demand.items {
                    findings.append(.commitmentChanged(domain: d.name, uuid: d.uuid, from: after.entries[i].items, to: d.demand.items))
                    after.entries[i].items = d.demand.items
                }
            } else {
                after.entries.append(LedgerEntry(domain: d.name, uuid: d.uuid, state: .started, operation: "adopt",
                                                 since: now, owner: nil, items: d.demand.items))
                findings.append(.adopted(domain: d.name, uuid: d.uuid, items: d.demand.items))
            }
        }
        // Domains that stopped using hugepages (DIMM unplugged to zero) leave the ledger too.
        let hugepageNow = RunningIdentities(hugepage)
        for (i, e) in after.entries.enumerated().reversed() where e.state == .started && e.operation == "adopt" {
            if running.contains(e), !hugepageNow.contains(e) { after.entries.remove(at: i) }
        }
        return (after, findings)
    }

    /// Files under libvirt's hugetlbfs directories that hold pages and sit in no running
    /// domain's directory.
    static func leaks(_ files: [HugetlbfsFile], running: [RunningDomain]) -> [HugetlbfsFile] {
        let liveDirs = Set(running.compactMap { d in d.id.map { shortName(id: $0, name: d.name) } })
        return files.filter { f in f.pages > 0 && !(f.domainDir.map(liveDirs.contains) ?? false) }
    }

    /// The whole-host row of one page size, and its drift and reserve findings. Drift per
    /// size is always exact: every page in use is either committed, leaked or someone else's.
    static func sizeRow(_ p: PagePool, hugepage: [RunningDomain], starting: [RunningDomain], flying: [DemandItem],
                        leaked: UInt64, config: GuardConfig) -> (PoolRow, [Finding]) {
        let size = p.sizeKiB
        let committed = hugepage.reduce(0) { $0 + $1.demand.pages(ofSize: size) }
        let flyingPages = flying.reduce(0) { $0 + $1.pages }
        let inUse = p.inUse + p.resv
        let drift = Int64(inUse) - Int64(committed)
        let reserve = config.reserve(pageSizeKiB: size, node: nil)
        let row = PoolRow(pageSizeKiB: size, node: nil, total: p.nr, free: p.free, surplus: p.surplus,
                          reservedInFlight: flyingPages, committed: committed, inUse: inUse, drift: drift,
                          hostReserve: reserve, headroom: Int64(p.available) - Int64(flyingPages) - Int64(reserve))
        var findings: [Finding] = []
        guard p.nr > 0 || committed > 0 else { return (row, findings) }
        if drift > 0, UInt64(drift) > leaked {
            findings.append(.nonLibvirtConsumer(pageSizeKiB: size, pages: UInt64(drift) - leaked))
        } else if drift < 0, UInt64(-drift) > starting.reduce(0, { $0 + $1.demand.pages(ofSize: size) }) {
            findings.append(.missingPages(pageSizeKiB: size, pages: UInt64(-drift)))
        }
        if reserve > 0, p.available < reserve {
            findings.append(.belowReserve(pageSizeKiB: size, node: nil, available: p.available, reserve: reserve))
        }
        return (row, findings)
    }

    /// One row per NUMA node of one page size, and the nodes below their reserve. A running
    /// VM's pages on a node are what its QEMU holds there (numa_maps). Where that couldn't be
    /// read, the model stands in: demand confined to exactly one node lands there, and on a
    /// one-node host everything does; other demand leaves the node's share, and its drift,
    /// unknown.
    static func nodeRows(_ p: PagePool, hugepage: [RunningDomain], flying: [DemandItem],
                         config: GuardConfig) -> ([PoolRow], [Finding]) {
        let size = p.sizeKiB
        let observed = hugepage.compactMap(\.placement)
        let modelled = hugepage.filter { $0.placement == nil }.flatMap(\.demand.items).filter { $0.pageSizeKiB == size }
        let nodes = p.nodes.keys.sorted()
        var rows: [PoolRow] = []
        var findings: [Finding] = []
        for node in nodes {
            guard let n = p.nodes[node] else { continue }
            func onNode(_ item: DemandItem) -> Bool? {
                if nodes.count == 1 { return true }
                guard let set = item.hostNodes, set.ids.count == 1 else { return nil }
                return set.ids[0] == node
            }
            let attributable = modelled.allSatisfy { onNode($0) != nil }
            let committed = observed.reduce(0) { $0 + $1.pages(ofSize: size, node: node) }
                + modelled.filter { onNode($0) == true }.reduce(0) { $0 + $1.pages }
            let nodeFlying = flying.filter { onNode($0) == true }.reduce(0) { $0 + $1.pages }
            let inUse = n.nr > n.free ? n.nr - n.free : 0
            let reserve = config.reserve(pageSizeKiB: size, node: node)
            rows.append(PoolRow(pageSizeKiB: size, node: node, total: n.nr, free: n.free, surplus: n.surplus,
                                reservedInFlight: nodeFlying, committed: committed, inUse: inUse,
                                drift: attributable ? Int64(inUse) - Int64(committed) : nil,
                                hostReserve: reserve, headroom: Int64(n.free) - Int64(nodeFlying) - Int64(reserve)))
            if reserve > 0, n.free < reserve {
                findings.append(.belowReserve(pageSizeKiB: size, node: node, available: n.free, reserve: reserve))
            }
        }
        return (rows, findings)
    }

    /// Pages a VM holds on nodes its binding doesn't allow. Checked per page size, and only
    /// where every backend of that size is bound (one unbound backend may use any node).
    static func outsideBinding(_ d: RunningDomain) -> [Finding] {
        guard let placement = d.placement else { return [] }
        var out: [Finding] = []
        for size in d.demand.pageSizes {
            let items = d.demand.items.filter { $0.pageSizeKiB == size }
            let sets = items.compactMap(\.hostNodes)
            guard sets.count == items.count else { continue }
            let allowed = NodeSet(sets.flatMap(\.ids))
            for node in placement.nodes(ofSize: size) where !allowed.ids.contains(node) {
                out.append(.pagesOutsideBinding(domain: d.name, uuid: d.uuid, pageSizeKiB: size, node: node,
                                                pages: placement.pages(ofSize: size, node: node), allowed: allowed))
            }
        }
        return out
    }
}

extension Finding {
    /// Findings that describe a state (logged when they appear and when they clear), as
    /// opposed to actions taken once (stale entries removed, adoptions, demand changes).
    public var isCondition: Bool {
        switch self {
        case .nonLibvirtConsumer, .missingPages, .leakedFile, .belowReserve, .pagesOutsideBinding: true
        case .staleLedgerEntry, .adopted, .commitmentChanged: false
        }
    }

    /// A key that stays the same while the condition persists, whatever its page count.
    public var conditionKey: String {
        switch self {
        case let .nonLibvirtConsumer(size, _): "non_libvirt/\(size)"
        case let .missingPages(size, _): "missing/\(size)"
        case let .leakedFile(f): "leaked/\(f.path)"
        case let .belowReserve(size, node, _, _): "reserve/\(size)/\(node.map(String.init) ?? "all")"
        case let .pagesOutsideBinding(_, uuid, size, node, _, _): "outside/\(uuid)/\(size)/\(node)"
        case let .staleLedgerEntry(d, s, _): "stale/\(d)/\(s)"
        case let .adopted(d, u, _): "adopt/\(d)/\(u)"
        case let .commitmentChanged(d, u, _, _): "change/\(d)/\(u)"
        }
    }
}

extension RunningDomain {
    /// Who this domain is to the ledger: its UUID (libvirt always has one), else its name.
    public var identity: DomainIdentity { DomainIdentity(name: name, uuid: uuid) }
}

/// The running domains as the ledger knows domains: by UUID where an entry has one, else by
/// the exact name bytes, as the hook keys its entries. Sets, so a reconcile over a thousand
/// domains stays linear.
struct RunningIdentities {
    private var uuids: Set<String> = []
    private var names: Set<[UInt8]> = []

    init(_ running: [RunningDomain]) {
        for d in running {
            if let uuid = d.identity.uuid { uuids.insert(uuid) }
            names.insert(Array(d.name.utf8))
        }
    }

    /// Whether the domain of `entry` is running.
    func contains(_ entry: LedgerEntry) -> Bool {
        if let uuid = entry.identity.uuid { return uuids.contains(uuid) }
        return names.contains(Array(entry.domain.utf8))
    }
}

/// Ledger entries (grown-page holds left out) found by a running domain's identity: by UUID,
/// else, for entries written without one, by the exact name bytes. Built once per
/// reconciliation, so matching a thousand domains to a thousand entries stays linear.
struct LedgerIndex {
    private var byUUID: [String: Int] = [:]
    private var byName: [[UInt8]: Int] = [:]

    /// Indices are positions in `entries`; the first entry of an identity wins.
    init(_ entries: [LedgerEntry]) {
        for (i, e) in entries.enumerated() where !e.isGrownHold {
            let id = e.identity
            if let uuid = id.uuid {
                if byUUID[uuid] == nil { byUUID[uuid] = i }
            } else {
                let name = Array(e.domain.utf8)
                if byName[name] == nil { byName[name] = i }
            }
        }
    }

    /// The entry of the running domain `d`: its UUID's, else a UUID-less entry of its name.
    func first(of d: RunningDomain) -> Int? {
        if let uuid = d.identity.uuid, let i = byUUID[uuid] { return i }
        return byName[Array(d.name.utf8)]
    }
}
