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
    public static func event(_ e: DomainEvent, demand: [DemandItem]?, pool: HugepagePool?) -> [(String, String)] {
        var f: [(String, String)] = [("event", e.name)]
        if let d = e.detailName { f.append(("detail", d)) }
        switch e.kind {
        case .lifecycle: break
        case let .deviceAdded(alias), let .deviceRemoved(alias): f.append(("alias", alias))
        case let .memoryDeviceSizeChange(alias, size): f += [("alias", alias), ("size_kib", String(size))]
        }
        f += [("domain", e.domain.name), ("uuid", e.domain.uuid)]
        if let demand { f += demandFields(demand) }
        if let pool { f += freeFields(pool: pool, sizes: demand.map { Array(Set($0.map(\.pageSizeKiB))).sorted() } ?? []) }
        return f
    }

    /// Level, fields and message for one reconciliation finding.
    public static func finding(_ finding: Finding) -> (warning: Bool, fields: [(String, String)], message: String) {
        switch finding {
        case let .nonLibvirtConsumer(size, pages):
            return (true, [("event", "drift"), ("cause", "non_libvirt_consumer"), ("page_size", "\(size)kB"), ("pages", "\(pages)")],
                    "hugepages in use that no running VM and no libvirt hugetlbfs file accounts for: another program holds them")
        case let .missingPages(size, pages):
            return (true, [("event", "drift"), ("cause", "fewer_in_use_than_committed"), ("page_size", "\(size)kB"), ("pages", "\(pages)")],
                    "running VMs should hold more hugepages than the kernel shows in use")
        case let .leakedFile(file):
            return (true, [("event", "leaked_hugetlbfs_file"), ("path", file.path), ("page_size", "\(file.pageSizeKiB)kB"),
                           ("pages", "\(file.pages)")],
                    "file under libvirt's hugepage directory belongs to no running VM; delete it to free its pages")
        case let .staleLedgerEntry(domain, state, reason):
            return (false, [("event", "ledger_entry_removed"), ("domain", domain), ("state", state), ("reason", reason)],
                    "stale ledger entry removed")
        case let .adopted(domain, uuid, items):
            return (false, [("event", "adopted"), ("domain", domain), ("uuid", uuid)] + demandFields(items),
                    "running VM was missing from the ledger (started before the guard?); recorded it")
        case let .commitmentChanged(domain, uuid, from, to):
            var f: [(String, String)] = [("event", "commitment_changed"), ("domain", domain), ("uuid", uuid)]
            for s in Array(Set((from + to).map(\.pageSizeKiB))).sorted() {
                let a = from.filter { $0.pageSizeKiB == s }.reduce(0) { $0 + $1.pages }
                let b = to.filter { $0.pageSizeKiB == s }.reduce(0) { $0 + $1.pages }
                f.append(("pages_\(s)kB", "\(a)->\(b)"))
            }
            return (false, f, "VM's hugepage commitment changed (memory device hotplug)")
        case let .belowReserve(size, node, available, reserve):
            return (true, [("event", "pool_below_reserve"), ("page_size", "\(size)kB"), ("node", node.map(String.init) ?? "all"),
                           ("available", "\(available)"), ("reserve", "\(reserve)")],
                    "free hugepages are below the host reserve")
        }
    }

    /// The line that says a condition went away.
    public static func cleared(_ finding: Finding) -> [(String, String)] {
        var f = self.finding(finding).fields
        f[0].1 += "_cleared"
        return f
    }
}
