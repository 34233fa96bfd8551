/// One QEMU memory backend as libvirt 9.0 builds it (`qemuBuildMemoryBackendProps`).
public struct Backend: Equatable, Sendable {
    /// QEMU's object id: `pc.ram`, `ram-node<i>`, `mem<alias>`.
    public var id: String
    public var sizeKiB: UInt64
    /// nil when the backend uses ordinary memory.
    public var pageSizeKiB: UInt64?
    /// The guest NUMA cell this backend belongs to, if any.
    public var guestCell: Int?
    /// Host nodes from numatune or the device's `<source><nodemask>`.
    public var hostNodes: NodeSet?
    public var mode: NumaMode?
    /// Hugepages this backend takes: `ceil(size / pagesize)`, or for virtio-mem its
    /// `<requested>` size, since QEMU maps the rest with `reserve=false`.
    public var pages: UInt64

    /// Whether the pages must come from `hostNodes` (strict or restrictive numatune).
    public var confined: Bool { hostNodes != nil && (mode?.confinesPages ?? false) }
}

/// Pages of one size that a VM takes, either from a fixed set of host nodes or from
/// anywhere in the pool (`hostNodes == nil`).
public struct DemandItem: Hashable, Sendable {
    public var pageSizeKiB: UInt64
    public var hostNodes: NodeSet?
    public var pages: UInt64
    public init(pageSizeKiB: UInt64, hostNodes: NodeSet?, pages: UInt64) {
        self.pageSizeKiB = pageSizeKiB; self.hostNodes = hostNodes; self.pages = pages
    }
}

/// Host facts the demand depends on.
public struct PageSizeContext: Equatable, Sendable {
    /// The base page size (`getpagesize()`); a `<page>` of this size means no hugepages.
    public var basePageKiB: UInt64
    /// What an empty `<hugepages/>` means: libvirt's default hugetlbfs mount.
    public var defaultHugepageKiB: UInt64
    public init(basePageKiB: UInt64 = 4, defaultHugepageKiB: UInt64 = 2048) {
        self.basePageKiB = basePageKiB; self.defaultHugepageKiB = defaultHugepageKiB
    }
}

/// Everything a domain takes from the hugepage pools.
public struct DomainDemand: Equatable, Sendable {
    public var domain: String
    public var uuid: String?
    public var backends: [Backend]
    /// Pages per (page size, host node set), sorted by size then nodes.
    public var items: [DemandItem]

    public var isZero: Bool { items.allSatisfy { $0.pages == 0 } }
    public var pageSizes: [UInt64] { Array(Set(items.map(\.pageSizeKiB))).sorted() }
    public func pages(ofSize kib: UInt64) -> UInt64 {
        items.filter { $0.pageSizeKiB == kib }.reduce(0) { $0 + $1.pages }
    }

    public init(domain: String, uuid: String? = nil, items: [DemandItem], backends: [Backend] = []) {
        self.domain = domain; self.uuid = uuid; self.items = items; self.backends = backends
    }

    /// The demand of `spec` on a host described by `context`.
    public init(spec: DomainSpec, context: PageSizeContext) {
        var backends: [Backend] = []
        let devicesKiB = spec.memoryDevices.reduce(UInt64(0)) { $0 + $1.sizeKiB }
        let initialKiB = spec.memoryKiB > devicesKiB ? spec.memoryKiB - devicesKiB : 0

        // The cell's <memnode>, else <memory>. libvirt's mode defaults to strict.
        func tune(cell: Int?) -> (mode: NumaMode?, nodes: NodeSet?) {
            let entry = cell.flatMap { spec.numatune.memnodes[$0] } ?? spec.numatune.memory
            return (entry?.mode, entry?.nodeset)
        }

        // Without guest NUMA, libvirt 9.0 picks pc.ram's page size as guest cell 0's
        // (a lone `<page nodeset='0'>` applies to it; seen on the real libvirtd).
        func make(id: String, sizeKiB: UInt64, cell: Int?, explicitPage: UInt64?, nodes: NodeSet?,
                  countedKiB: UInt64? = nil, pageCell: Int? = nil) -> Backend {
            let t = tune(cell: cell)
            let page = resolvePageSize(explicit: explicitPage, cell: pageCell ?? cell, spec: spec, context: context)
            let counted = countedKiB ?? sizeKiB
            let pages = page.map { counted / $0 + (counted % $0 == 0 ? 0 : 1) } ?? 0
            let hostNodes = nodes ?? t.nodes
            return Backend(id: id, sizeKiB: sizeKiB, pageSizeKiB: page, guestCell: cell, hostNodes: hostNodes,
                           mode: hostNodes == nil ? t.mode : (t.mode ?? .strict), pages: pages)
        }

        if spec.cells.isEmpty {
            backends.append(make(id: "pc.ram", sizeKiB: initialKiB, cell: nil, explicitPage: nil, nodes: nil, pageCell: 0))
        } else {
            for cell in spec.cells {
                backends.append(make(id: "ram-node\(cell.id)", sizeKiB: cell.memoryKiB, cell: cell.id,
                                     explicitPage: nil, nodes: nil))
            }
        }
        // libvirt's aliases for devices that have none yet: dimm0, nvdimm0, virtiomem0, ...,
        // numbered per model (qemuAssignDeviceMemoryAlias).
        func defaultAlias(_ model: MemoryDeviceModel, index: Int) -> String {
            let prefix: String
            switch model {
            case .dimm: prefix = "dimm"
            case .nvdimm: prefix = "nvdimm"
            case .virtioPmem: prefix = "virtiopmem"
            case .virtioMem: prefix = "virtiomem"
            case .sgxEpc: prefix = "epc"
            }
            return prefix + String(spec.memoryDevices[..<index].filter { $0.model == model }.count)
        }
        for (index, device) in spec.memoryDevices.enumerated() {
            let id = "mem" + (device.alias ?? defaultAlias(device.model, index: index))
            switch device.model {
            case .dimm:
                backends.append(make(id: id, sizeKiB: device.sizeKiB, cell: device.targetNode,
                                     explicitPage: device.pageSizeKiB, nodes: device.sourceNodes))
            case .virtioMem:
                backends.append(make(id: id, sizeKiB: device.sizeKiB, cell: device.targetNode,
                                     explicitPage: device.pageSizeKiB, nodes: device.sourceNodes,
                                     countedKiB: device.requestedKiB ?? 0))
            case .nvdimm, .virtioPmem, .sgxEpc:
                // File- or EPC-backed: they take no hugepages, as a base-size page says.
                backends.append(make(id: id, sizeKiB: device.sizeKiB, cell: device.targetNode,
                                     explicitPage: context.basePageKiB, nodes: device.sourceNodes))
            }
        }

        var grouped: [DemandItem: UInt64] = [:]
        for b in backends {
            guard let page = b.pageSizeKiB, b.pages > 0 else { continue }
            let key = DemandItem(pageSizeKiB: page, hostNodes: b.confined ? b.hostNodes : nil, pages: 0)
            grouped[key, default: 0] += b.pages
        }
        let items = grouped.map { DemandItem(pageSizeKiB: $0.key.pageSizeKiB, hostNodes: $0.key.hostNodes, pages: $0.value) }
            .sorted { ($0.pageSizeKiB, $0.hostNodes?.ids ?? []) < ($1.pageSizeKiB, $1.hostNodes?.ids ?? []) }
        self.init(domain: spec.name, uuid: spec.uuid, items: items, backends: backends)
    }
}

/// libvirt's page size choice for one backend: the device's own `<source><pagesize>`,
/// else the `<page>` whose nodeset holds the backend's guest cell, else the `<page>`
/// without a nodeset (the last one, as libvirt's loop keeps it), else ordinary memory.
/// A size equal to the base page size means ordinary memory.
private func resolvePageSize(explicit: UInt64?, cell: Int?, spec: DomainSpec, context: PageSizeContext) -> UInt64? {
    var chosen: UInt64?
    if let explicit {
        chosen = explicit
    } else if let requests = spec.hugepages {
        var match: HugepageRequest?
        if let cell {
            match = requests.first { $0.guestCells?.contains(cell) == true }
        }
        if match == nil { match = requests.last { $0.guestCells == nil } }
        guard let match else { return nil }
        chosen = match.sizeKiB ?? context.defaultHugepageKiB
    }
    guard let size = chosen, size != context.basePageKiB, size > 0 else { return nil }
    return size
}

private func < (a: (UInt64, [Int]), b: (UInt64, [Int])) -> Bool {
    a.0 != b.0 ? a.0 < b.0 : a.1.lexicographicallyPrecedes(b.1)
}
