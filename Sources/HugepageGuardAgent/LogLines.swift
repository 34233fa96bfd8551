import HugepageGuardCore
import HugepageGuardLibvirt

/// The key/value fields of the agent's log lines, in the order an admin reads them.
/// Pure: the caller hands them to its `Logger`, whose handler renders logfmt.
public enum LogLines {
    /// `pages_2048kB=512 nodes=0` for a demand; `hugepages=none` when it has none.
    public static func demandFields(_ items: [DemandItem]) -> [(String, String)] {
        let sizes = Array(Set(items.map(\.pageSizeKiB))).sorted()
        if sizes.isEmpty || items.allSatisfy({ $0.pages == 0 }) { return [("hugepages", "none")] }
        var out: [(String, String)] = sizes.map { s in
            ("pages_\(s)kB", String(items.filter { $0.pageSizeKiB == s }.reduce(0) { $0 + $1.pages }))
        }
        let sets = items.map(\.hostNodes)
        if sets.contains(where: { $0 == nil }) {
            out.append(("nodes", "any"))
        } else {
            out.append(("nodes", NodeSet(sets.compactMap { $0 }.flatMap(\.ids)).description))
        }
        return out
    }

    /// `free_2048kB=1536/4096` for each size the domain uses, else for each configured pool.
    public static func freeFields(pool: HugepagePool, sizes: [UInt64]) -> [(String, String)] {
        let shown = sizes.isEmpty ? pool.sizes.keys.sorted().filter { (pool.sizes[$0]?.nr ?? 0) > 0 } : sizes
        return shown.compactMap { s in pool.sizes[s].map { ("free_\(s)kB", "\($0.free)/\($0.nr)") } }
    }

    /// The line for one domain event, e.g.
    /// `event=started detail=booted domain=web1 uuid=… pages_2048kB=512 nodes=0 free_2048kB=1536/4096`.
    public static func event(_ e: DomainEvent, demand: [DemandItem]?, pool: HugepagePool?) -> AgentLogLine {
        var f: [(String, String)] = []
        let name = logEvent(e)
        if name == .domainEvent, case let .lifecycle(code, _) = e.kind { f.append(("code", String(code))) }
        if let d = e.detailName { f.append(("detail", d)) }
        switch e.kind {
        case .lifecycle: break
        case let .deviceAdded(alias), let .deviceRemoved(alias): f.append(("alias", alias))
        case let .memoryDeviceSizeChange(alias, size): f += [("alias", alias), ("size_kib", String(size))]
        }
        f += [("domain", e.domain.name), ("uuid", e.domain.uuid)]
        if let demand { f += demandFields(demand) }
        if let pool { f += freeFields(pool: pool, sizes: demand.map { Array(Set($0.map(\.pageSizeKiB))).sorted() } ?? []) }
        return AgentLogLine(.info, name, f)
    }

    /// The event name of a libvirt domain event; `domain_event` (with its `code`) for a
    /// lifecycle code newer than this build knows.
    static func logEvent(_ e: DomainEvent) -> HugepageGuardCore.LogEvent {
        switch e.kind {
        case .deviceAdded: return .deviceAdded
        case .deviceRemoved: return .deviceRemoved
        case .memoryDeviceSizeChange: return .memoryDeviceSizeChange
        case let .lifecycle(event, _):
            switch LifecycleEvent(rawValue: event) {
            case .defined?: return .defined
            case .undefined?: return .undefined
            case .started?: return .started
            case .suspended?: return .suspended
            case .resumed?: return .resumed
            case .stopped?: return .stopped
            case .shutdown?: return .shutdown
            case .pmsuspended?: return .pmsuspended
            case .crashed?: return .crashed
            case nil: return .domainEvent
            }
        }
    }

    /// The line for one reconciliation finding.
    public static func finding(_ finding: Finding) -> AgentLogLine {
        switch finding {
        case let .nonLibvirtConsumer(size, pages):
            return AgentLogLine(.warning, .drift, [("cause", "non_libvirt_consumer"), ("page_size", "\(size)kB"), ("pages", "\(pages)")],
                                message: "hugepages in use that no running VM and no libvirt hugetlbfs file accounts for: another program holds them")
        case let .missingPages(size, pages):
            return AgentLogLine(.warning, .drift, [("cause", "fewer_in_use_than_committed"), ("page_size", "\(size)kB"), ("pages", "\(pages)")],
                                message: "running VMs should hold more hugepages than the kernel shows in use")
        case let .leakedFile(file):
            return AgentLogLine(.warning, .leakedHugetlbfsFile, [("path", file.path), ("page_size", "\(file.pageSizeKiB)kB"), ("pages", "\(file.pages)")],
                                message: "file under libvirt's hugepage directory belongs to no running VM; delete it to free its pages")
        case let .staleLedgerEntry(domain, state, reason):
            return AgentLogLine(.info, .ledgerEntryRemoved, [("domain", domain), ("state", state), ("reason", reason)],
                                message: "stale ledger entry removed")
        case let .adopted(domain, uuid, items):
            return AgentLogLine(.info, .adopted, [("domain", domain), ("uuid", uuid)] + demandFields(items),
                                message: "running VM was missing from the ledger (started before the guard?); recorded it")
        case let .commitmentChanged(domain, uuid, from, to):
            var f: [(String, String)] = [("domain", domain), ("uuid", uuid)]
            for s in Array(Set((from + to).map(\.pageSizeKiB))).sorted() {
                let a = from.filter { $0.pageSizeKiB == s }.reduce(0) { $0 + $1.pages }
                let b = to.filter { $0.pageSizeKiB == s }.reduce(0) { $0 + $1.pages }
                f.append(("pages_\(s)kB", "\(a)->\(b)"))
            }
            return AgentLogLine(.info, .commitmentChanged, f, message: "VM's hugepage commitment changed (memory device hotplug)")
        case let .belowReserve(size, node, available, reserve):
            return AgentLogLine(.warning, .poolBelowReserve, [("page_size", "\(size)kB"), ("node", node.map(String.init) ?? "all"),
                                                              ("available", "\(available)"), ("reserve", "\(reserve)")],
                                message: "free hugepages are below the host reserve")
        case let .pagesOutsideBinding(domain, uuid, size, node, pages, allowed):
            return AgentLogLine(.warning, .pagesOutsideBinding, [("domain", domain), ("uuid", uuid), ("page_size", "\(size)kB"),
                                                                 ("node", "\(node)"), ("pages", "\(pages)"), ("bound_to", allowed.description)],
                                message: "VM holds hugepages on a node outside its NUMA binding (numa_maps)")
        }
    }

    /// The line that says a condition went away.
    public static func cleared(_ finding: Finding) -> AgentLogLine {
        let line = self.finding(finding)
        return AgentLogLine(.info, line.event, line.fields, cleared: true, message: "condition cleared")
    }
}
