import HugepageGuardCore

/// `hugepage-guard status`: the reconciliation report as a table an admin reads, or as JSON.
/// Pure rendering.
public enum StatusView {
    public static func table(_ report: ReconcileReport, ledgerWarnings: [String] = []) -> String {
        var out = ""
        let header = ["page size", "node", "total", "free", "in flight", "committed", "drift", "reserve", "headroom"]
        var rows: [[String]] = []
        for r in report.rows where r.total > 0 || r.committed > 0 || r.reservedInFlight > 0 {
            rows.append([shortPageSize(kib: r.pageSizeKiB), r.node.map(String.init) ?? "all", "\(r.total)", "\(r.free)", "\(r.reservedInFlight)",
                         "\(r.committed)", r.drift.map { $0 > 0 ? "+\($0)" : "\($0)" } ?? "?", "\(r.hostReserve)", "\(r.headroom)"])
        }
        if rows.isEmpty {
            out += "No hugepages are configured on this host (every pool has 0 pages).\n"
        } else {
            out += render([header] + rows)
        }
        if report.rows.contains(where: { $0.node != nil && $0.drift == nil }) {
            out += "drift '?': a VM's numa_maps couldn't be read and it may take pages from any node, so a node's share is unknown.\n"
        }
        out += "\n"
        if report.hugepageDomains.isEmpty {
            out += "No running VM uses hugepages.\n"
        } else {
            var drows: [[String]] = [["domain", "uuid", "pages", "bound to", "pages per node"]]
            for d in report.hugepageDomains {
                let pages = d.demand.pageSizes.map { "\(d.demand.pages(ofSize: $0)) × \(shortPageSize(kib: $0))" }.joined(separator: ", ")
                let nodes = d.demand.items.contains { $0.hostNodes == nil } ? "any"
                    : NodeSet(d.demand.items.compactMap(\.hostNodes).flatMap(\.ids)).description
                drows.append([d.name, d.uuid, pages, nodes, where_(d)])
            }
            out += "Running VMs holding hugepages:\n" + render(drows, leftAligned: drows[0].count)
        }
        let warnings = self.warnings(report) + ledgerWarnings
        out += "\n"
        if warnings.isEmpty {
            out += "No warnings.\n"
        } else {
            out += "Warnings:\n" + warnings.map { "  - " + $0 + "\n" }.joined()
        }
        return out
    }

    /// `2M: N0=32 N1=16` from numa_maps; `model: 2M any=48` when numa_maps couldn't be read.
    static func where_(_ d: RunningDomain) -> String {
        let shares = d.pageShares
        let sizes = Array(Set(shares.map(\.pageSizeKiB))).sorted()
        let text = sizes.map { s in
            shortPageSize(kib: s) + ": " + shares.filter { $0.pageSizeKiB == s }
                .map { ($0.node == "any" ? "any" : "N\($0.node)") + "=\($0.pages)" }.joined(separator: " ")
        }.joined(separator: ", ")
        return d.placement == nil ? "model: " + text : text
    }

    /// One sentence per finding, as `status` shows them.
    public static func warnings(_ report: ReconcileReport) -> [String] {
        report.findings.compactMap { f -> String? in
            switch f {
            case let .nonLibvirtConsumer(s, p):
                return "\(p) × \(shortPageSize(kib: s)) pages are in use by something other than a running VM or a libvirt hugetlbfs file."
            case let .missingPages(s, p):
                return "running VMs should hold \(p) × \(shortPageSize(kib: s)) pages more than the kernel shows in use."
            case let .leakedFile(file):
                return "\(file.path) holds \(file.pages) × \(shortPageSize(kib: file.pageSizeKiB)) pages and belongs to no running VM (leaked; delete it)."
            case let .staleLedgerEntry(d, s, reason):
                return "ledger entry for \(d) (\(s)) is stale: \(reason); the agent removes it."
            case let .adopted(d, _, _):
                return "running VM \(d) is not in the ledger; the agent adopts it."
            case .commitmentChanged(let d, _, _, _):
                return "the ledger's pages for \(d) differ from its live XML (memory hotplug); the agent updates it."
            case let .belowReserve(s, node, available, reserve):
                return "\(shortPageSize(kib: s)) pool\(node.map { " on node \($0)" } ?? ""): \(available) pages available, below the host reserve of \(reserve)."
            case let .pagesOutsideBinding(d, _, s, node, pages, allowed):
                return "\(d) holds \(pages) × \(shortPageSize(kib: s)) pages on node \(node), outside its binding to node(s) \(allowed)."
            }
        }
    }

    public static func json(_ report: ReconcileReport, ledgerWarnings: [String] = []) -> JSON {
        func opt(_ v: Int?) -> JSON { v.map { .int(Int64($0)) } ?? .null }
        let pools: [JSON] = report.rows.map { r in
            .object([("pageSizeKiB", .uint(r.pageSizeKiB)), ("node", opt(r.node)), ("total", .uint(r.total)), ("free", .uint(r.free)),
                     ("surplus", .uint(r.surplus)), ("reservedInFlight", .uint(r.reservedInFlight)), ("committed", .uint(r.committed)),
                     ("inUse", .uint(r.inUse)), ("drift", r.drift.map { .int($0) } ?? .null), ("hostReserve", .uint(r.hostReserve)),
                     ("headroom", .int(r.headroom))])
        }
        let domains: [JSON] = report.hugepageDomains.map { d in
            .object([("domain", .string(d.name)), ("uuid", .string(d.uuid)), ("id", d.id.map { .uint(UInt64($0)) } ?? .null),
                     ("demand", .array(d.demand.items.map { i in
                        .object([("pageSizeKiB", .uint(i.pageSizeKiB)),
                                 ("hostNodes", i.hostNodes.map { .array($0.ids.map { .int(Int64($0)) }) } ?? .null),
                                 ("pages", .uint(i.pages))]) })),
                     ("pagesPerNode", .array(d.pageShares.map { s in
                        .object([("pageSizeKiB", .uint(s.pageSizeKiB)), ("node", .string(s.node)), ("pages", .uint(s.pages)),
                                 ("source", .string(s.source.rawValue))]) }))])
        }
        let leaked: [JSON] = report.findings.compactMap {
            guard case let .leakedFile(f) = $0 else { return nil }
            return .object([("path", .string(f.path)), ("pageSizeKiB", .uint(f.pageSizeKiB)), ("pages", .uint(f.pages))])
        }
        return .object([("pools", .array(pools)), ("domains", .array(domains)), ("leakedFiles", .array(leaked)),
                        ("warnings", .array((warnings(report) + ledgerWarnings).map { .string($0) }))])
    }

    /// Columns padded to their widest cell; the first `leftAligned` are text, the rest numbers.
    static func render(_ rows: [[String]], leftAligned: Int = 2) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i < leftAligned ? cell + pad : pad + cell
            }.joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }.joined()
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
