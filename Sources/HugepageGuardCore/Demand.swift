/// One QEMU memory backend as libvirt 9.0 builds it (`qemuBuildMemoryBackendProps`).
public struct Backend: Equatable, Sendable {
    /// QEMU's object id: `pc.ram`, `ram-node<i>`, `mem<alias>`. With QEMU's legacy
    /// `-numa node,mem=` there is no object: all RAM is one `pc.ram` block from `-mem-path`.
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
    /// The host nodes the kernel may take this backend's pages from, after QEMU's own
    /// policy (`bind`) and libvirt's cpuset cgroup; nil for anywhere.
    public var allowedNodes: NodeSet?
    /// The size QEMU is given: libvirt aligns RAM and cells to 1 MiB and DIMMs to 2 MiB.
    var alignedSizeKiB: UInt64 = 0

    /// Whether the pages must come from `allowedNodes`.
    public var confined: Bool { allowedNodes != nil }
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

/// Host facts the demand depends on: what libvirt and QEMU on this host will do.
public struct PageSizeContext: Equatable, Sendable {
    /// The base page size (`getpagesize()`); a `<page>` of this size means no hugepages.
    public var basePageKiB: UInt64
    /// What an empty `<hugepages/>` means: libvirt's default hugetlbfs mount.
    public var defaultHugepageKiB: UInt64
    /// libvirt's QEMU capabilities cache, for `numaMemSupported` per machine type; nil when
    /// it could not be read, and then both answers are counted and the larger one kept.
    public var capabilities: [QemuCapabilities]?
    /// The hugepage size of the hugetlbfs that holds qemu.conf's `memory_backing_dir`; nil
    /// when it is not on hugetlbfs. File-backed RAM without `<hugepages>` lives there.
    public var memoryBackingDirPageKiB: UInt64?
    /// Whether libvirt confines a `strict` or `restrictive` domain's QEMU with the cpuset
    /// cgroup (qemu.conf's `cgroup_controllers` and the host's controllers); nil when unknown,
    /// which is counted as confined (the stricter answer).
    public var cpusetUsable: Bool?
    /// Whether libvirt has any hugetlbfs mount: without one it can't size an empty
    /// `<hugepages/>` ("hugetlbfs filesystem is not mounted or disabled by administrator config").
    public var hasDefaultMount: Bool

    public init(basePageKiB: UInt64 = 4, defaultHugepageKiB: UInt64 = 2048,
                capabilities: [QemuCapabilities]? = [], memoryBackingDirPageKiB: UInt64? = nil,
                cpusetUsable: Bool? = true, hasDefaultMount: Bool = true) {
        self.basePageKiB = basePageKiB; self.defaultHugepageKiB = defaultHugepageKiB
        self.capabilities = capabilities; self.memoryBackingDirPageKiB = memoryBackingDirPageKiB
        self.cpusetUsable = cpusetUsable; self.hasDefaultMount = hasDefaultMount
    }
}

/// Everything a domain takes from the hugepage pools.
public struct DomainDemand: Equatable, Sendable {
    public var domain: String
    public var uuid: String?
    public var backends: [Backend]
    /// Pages per (page size, host node set), sorted by size then nodes.
    public var items: [DemandItem]
    /// What the model had to assume because the host could not tell it; each is one
    /// sentence for the decision's log line ("counted the larger ...").
    public var assumptions: [String] = []
    /// Backends QEMU will refuse to create, each one sentence naming the backend, its size
    /// and page size and what would work. A domain with any of these can't start.
    public var unstartable: [String] = []

    public var isZero: Bool { items.allSatisfy { $0.pages == 0 } }
    /// The page sizes the items name, ascending, each once.
    public var pageSizes: [UInt64] {
        var sizes: [UInt64] = []
        for item in items where !sizes.contains(item.pageSizeKiB) { sizes.append(item.pageSizeKiB) }
        sizes.sort()
        return sizes
    }
    public func pages(ofSize kib: UInt64) -> UInt64 {
        items.filter { $0.pageSizeKiB == kib }.reduce(0) { $0.saturatingAdd($1.pages) }
    }

    public init(domain: String, uuid: String? = nil, items: [DemandItem], backends: [Backend] = []) {
        self.domain = domain; self.uuid = uuid; self.items = items; self.backends = backends
    }

    /// The demand of `spec` on a host described by `context`.
    public init(spec: DomainSpec, context: PageSizeContext) {
        let model = DemandModel(spec: spec, context: context)
        var backends = model.memoryBackends()
        var assumptions: [String] = []
        if !spec.cells.isEmpty {
            let perCell = spec.cells.map { model.cellBackend($0) }
            switch model.legacyNumaPath() {
            case .some(true): backends = [model.legacyBackend()] + backends
            case .some(false): backends = perCell + backends
            case .none:
                // The capabilities cache can't say whether the machine type takes QEMU's
                // legacy `-numa node,mem=`: count the larger of the two answers.
                // Larger means more hugepage memory.
                let legacy = model.legacyBackend()
                let perCellPages = perCell.reduce(UInt64(0)) { $0.saturatingAdd($1.pages) }
                func hugeKiB(_ b: [Backend]) -> UInt64 {
                    b.reduce(UInt64(0)) { $0.saturatingAdd($1.pages.multipliedReportingOverflow(by: $1.pageSizeKiB ?? 0).overflow
                        ? .max : $1.pages * ($1.pageSizeKiB ?? 0)) }
                }
                let useLegacy = hugeKiB([legacy]) > hugeKiB(perCell)
                backends = (useLegacy ? [legacy] : perCell) + backends
                assumptions.append("libvirt's QEMU capabilities cache does not say whether machine "
                    + "'\(spec.machine ?? "?")' uses one legacy RAM backend (\(legacy.pages) pages) or one per cell "
                    + "(\(perCellPages) pages): counted the larger")
            }
        }
        if model.cpusetMatters && context.cpusetUsable == nil {
            assumptions.append("cannot tell whether libvirt can use the cpuset cgroup: counted the pages as confined to numatune's nodes")
        }
        var grouped: [DemandItem: UInt64] = [:]
        for b in backends {
            guard let page = b.pageSizeKiB, b.pages > 0 else { continue }
            let key = DemandItem(pageSizeKiB: page, hostNodes: b.allowedNodes, pages: 0)
            grouped[key, default: 0] = grouped[key, default: 0].saturatingAdd(b.pages)
        }
        let items = grouped.map { DemandItem(pageSizeKiB: $0.key.pageSizeKiB, hostNodes: $0.key.hostNodes, pages: $0.value) }
            .sorted { ($0.pageSizeKiB, $0.hostNodes?.ids ?? []) < ($1.pageSizeKiB, $1.hostNodes?.ids ?? []) }
        self.init(domain: spec.name, uuid: spec.uuid, items: items, backends: backends)
        self.assumptions = assumptions
        self.unstartable = backends.compactMap { model.startProblem($0) }
        if !context.hasDefaultMount, spec.memfdSource, spec.hugepages?.contains(where: { $0.sizeKiB == nil }) == true,
           backends.contains(where: { $0.pageSizeKiB != nil }) {
            // A memfd needs no mount for an explicit size, but libvirt takes the default size
            // from its mounts.
            self.unstartable.append("libvirt has no hugetlbfs mount to take the default page size of an empty "
                + "<hugepages/> from (qemu.conf's hugetlbfs_mount is empty, or none was mounted when libvirtd started); "
                + "give the page size, e.g. <page size='2048' unit='KiB'/>")
        }
    }
}

/// libvirt 9.0's rules for one domain on one host, backend by backend.
private struct DemandModel {
    let spec: DomainSpec
    let context: PageSizeContext

    /// libvirt aligns guest RAM and cells to 1 MiB and DIMMs to 2 MiB (x86,
    /// `qemuDomainAlignMemorySizes`) after the prepare hook; QEMU sees the aligned sizes.
    static let ramAlignKiB: UInt64 = 1024
    static let dimmAlignKiB: UInt64 = 2048

    /// The RAM without devices (`virDomainDefGetMemoryInitial`).
    var initialKiB: UInt64 {
        let devices = spec.memoryDevices.reduce(UInt64(0)) { $0.saturatingAdd($1.sizeKiB) }
        return spec.memoryKiB > devices ? spec.memoryKiB - devices : 0
    }

    // MARK: NUMA: one backend per cell, or QEMU's legacy `-numa node,mem=`

    /// Whether libvirt takes QEMU's legacy path (`qemuBuildNumaCommandLine`): the machine type
    /// supports it (`numaMemSupported`), there is no HMAT, and no cell needs a backend of its
    /// own. nil when the capabilities cache can't tell and the answer matters.
    func legacyNumaPath() -> Bool? {
        if spec.numaInterconnects || spec.cells.contains(where: { $0.hasCache }) { return false }
        if spec.cells.contains(where: cellNeedsBackend) { return false }
        return numaMemSupported()
    }

    /// `qemuBuildMemoryBackendProps` returning 0 for a cell: a `<page>` whose nodeset holds
    /// the cell (not of the base size), a `<memnode>` for it, a memory access mode (the cell's
    /// or the domain's), or a file or memfd source. discard alone does not.
    func cellNeedsBackend(_ cell: GuestCell) -> Bool {
        if let page = spec.hugepages?.first(where: { $0.guestCells?.contains(cell.id) == true }),
           page.sizeKiB != context.basePageKiB { return true }
        if spec.numatune.memnodes[cell.id] != nil { return true }
        if cell.memoryAccess != nil || spec.memoryAccess != nil { return true }
        return spec.fileSource || spec.memfdSource
    }

    /// `numaMemSupported` for the domain's emulator, virt type and machine, from libvirt's
    /// capabilities cache; nil when the cache was not read or doesn't list the machine.
    func numaMemSupported() -> Bool? {
        guard let caches = context.capabilities, let machine = spec.machine else { return nil }
        let accel = spec.virtType == "kvm" ? "kvm" : "tcg"
        let candidates = spec.emulator.map { e in caches.filter { $0.emulator == e } } ?? caches
        for caps in candidates {
            // A defined domain carries the full name; a file not yet defined may use the alias.
            if let m = caps.machines.first(where: { $0.virtType == accel && $0.name == machine })
                ?? caps.machines.first(where: { $0.virtType == accel && $0.alias == machine }) {
                return m.numaMemSupported
            }
        }
        return nil
    }

    func cellBackend(_ cell: GuestCell) -> Backend {
        make(id: "ram-node\(cell.id)", sizeKiB: cell.memoryKiB, alignKiB: Self.ramAlignKiB,
             cell: cell.id, page: pageSize(cell: cell.id), fileBacked: cell.memoryAccess != nil || defaultFileBacked)
    }

    /// The legacy path: one `-mem-path` block for all RAM (`qemuBuildMemPathStr`). Its page
    /// size is the FIRST `<page>` element's, whatever its nodeset; the RAM is the sum of the
    /// cells, each aligned to 1 MiB.
    func legacyBackend() -> Backend {
        let ram = spec.cells.reduce(UInt64(0)) { $0.saturatingAdd(align($1.memoryKiB, Self.ramAlignKiB)) }
        var page: UInt64?
        if let first = spec.hugepages?.first {
            let size = first.sizeKiB ?? context.defaultHugepageKiB
            page = size == context.basePageKiB ? nil : size
        }
        var b = make(id: "pc.ram", sizeKiB: ram, alignKiB: 1, cell: nil, page: page, fileBacked: false)
        b.hostNodes = nil; b.mode = nil
        b.allowedNodes = confinement(own: nil, ownMode: nil)
        return b
    }

    // MARK: memory devices and guest RAM without NUMA

    func memoryBackends() -> [Backend] {
        var out: [Backend] = []
        if spec.cells.isEmpty {
            // Without guest NUMA libvirt drops a `nodeset='0'` from each <page> at parse time,
            // so such a page applies to pc.ram like one without a nodeset.
            out.append(make(id: "pc.ram", sizeKiB: initialKiB, alignKiB: Self.ramAlignKiB, cell: nil,
                            page: pageSize(cell: 0), fileBacked: defaultFileBacked))
        }
        let aliases = DeviceAliases.assign(spec.memoryDevices)
        for (device, alias) in zip(spec.memoryDevices, aliases) {
            let id = "mem" + alias
            // A device's access mode, else its cell's, else the domain's (`qemuBuildMemoryBackendProps`).
            let cellAccess = device.targetNode.flatMap { n in spec.cells.first { $0.id == n }?.memoryAccess }
            let fileBacked = defaultFileBacked || (!spec.memfdSource && (device.access ?? cellAccess) != nil)
            switch device.model {
            case .dimm:
                out.append(make(id: id, sizeKiB: device.sizeKiB, alignKiB: Self.dimmAlignKiB, cell: device.targetNode,
                                page: device.pageSizeKiB.map(nonBase) ?? pageSize(cell: device.targetNode),
                                fileBacked: fileBacked, nodes: device.sourceNodes))
            case .virtioMem:
                out.append(make(id: id, sizeKiB: device.sizeKiB, alignKiB: Self.dimmAlignKiB, cell: device.targetNode,
                                page: device.pageSizeKiB.map(nonBase) ?? pageSize(cell: device.targetNode),
                                fileBacked: fileBacked, nodes: device.sourceNodes,
                                countedKiB: device.requestedKiB ?? 0))
            case .nvdimm, .virtioPmem, .sgxEpc:
                // File- or EPC-backed: they take no hugepages.
                out.append(make(id: id, sizeKiB: device.sizeKiB, alignKiB: Self.dimmAlignKiB, cell: device.targetNode,
                                page: nil, fileBacked: false, nodes: device.sourceNodes))
            }
        }
        return out
    }

    /// Without hugepages, libvirt still backs RAM with a file in `memory_backing_dir` when an
    /// access mode is set or the source is `file` (memfd excepted).
    var defaultFileBacked: Bool { !spec.memfdSource && (spec.fileSource || spec.memoryAccess != nil) }

    func make(id: String, sizeKiB: UInt64, alignKiB: UInt64, cell: Int?, page hugePage: UInt64?, fileBacked: Bool,
              nodes: NodeSet? = nil, countedKiB: UInt64? = nil) -> Backend {
        let memnode = cell.flatMap { spec.numatune.memnodes[$0] }
        let ownNodes = nodes ?? memnode?.nodeset ?? spec.numatune.memory?.nodeset
        let ownMode = memnode?.mode ?? spec.numatune.memory?.mode ?? (ownNodes == nil ? nil : .strict)
        var page = hugePage
        if page == nil && fileBacked && !spec.memfdSource { page = context.memoryBackingDirPageKiB }
        let counted = countedKiB ?? align(sizeKiB, alignKiB)
        let pages = page.map { counted / $0 + (counted % $0 == 0 ? 0 : 1) } ?? 0
        return Backend(id: id, sizeKiB: sizeKiB, pageSizeKiB: page, guestCell: cell, hostNodes: ownNodes,
                       mode: ownMode, pages: pages, allowedNodes: confinement(own: ownNodes, ownMode: ownMode),
                       alignedSizeKiB: align(sizeKiB, alignKiB))
    }

    // MARK: page sizes

    /// libvirt's page size for a cell's RAM (`qemuBuildMemoryGetPagesize`): the `<page>` whose
    /// nodeset holds the cell, else the `<page>` without a nodeset, else ordinary memory. A
    /// size equal to the base page size means ordinary memory.
    func pageSize(cell: Int?) -> UInt64? {
        guard let requests = spec.hugepages else { return nil }
        var match: HugepageRequest?
        if let cell { match = requests.first { $0.guestCells?.contains(cell) == true } }
        if match == nil { match = requests.last { $0.guestCells == nil } }
        guard let match else { return nil }
        return nonBase(match.sizeKiB ?? context.defaultHugepageKiB)
    }

    func nonBase(_ size: UInt64) -> UInt64? { size == context.basePageKiB || size == 0 ? nil : size }

    // MARK: host nodes

    /// Whether libvirt's cpuset cgroup could change where pages come from.
    var cpusetMatters: Bool {
        guard let global = spec.numatune.memory, global.nodeset != nil else { return false }
        return global.mode == .restrictive || spec.numatune.memnodes.values.contains { $0.mode != .strict }
            || spec.memoryDevices.contains { $0.sourceNodes != nil }
    }

    /// Where the kernel may take a backend's pages from. QEMU binds a backend to its own
    /// nodes only under `strict` (`preferred` and `interleave` may spill; `restrictive` passes
    /// no policy). With the domain's `<numatune><memory>` `strict` or `restrictive`, libvirt
    /// sets the whole QEMU process's `cpuset.mems` to that nodeset, which holds for every
    /// backend whatever its own mode. Without the cpuset controller, libvirt binds the process
    /// with `numa_set_membind` only for `strict`, and a backend's own policy overrides that.
    func confinement(own: NodeSet?, ownMode: NumaMode?) -> NodeSet? {
        let hasOwnPolicy = own != nil && ownMode != .restrictive
        let bound = hasOwnPolicy && ownMode == .strict ? own : nil
        var process: NodeSet?
        if let global = spec.numatune.memory, let nodes = global.nodeset {
            if context.cpusetUsable ?? true {
                if global.mode.confinesPages { process = nodes }
            } else if global.mode == .strict && !hasOwnPolicy {
                process = nodes
            }
        }
        switch (bound, process) {
        case let (b?, p?): return NodeSet(Set(b.ids).intersection(p.ids))
        case let (b?, nil): return b
        case let (nil, p?): return p
        case (nil, nil): return nil
        }
    }

    // MARK: backends QEMU refuses

    /// Why QEMU would fail to create this backend, or nil. A hugetlb memfd is sized with
    /// `ftruncate`, which refuses a size that is not a whole number of pages; a hugetlbfs
    /// file smaller than one page is refused ("memory size ... must be equal to or larger
    /// than page size").
    func startProblem(_ b: Backend) -> String? {
        guard let page = b.pageSizeKiB else { return nil }
        let size = b.alignedSizeKiB
        if spec.memfdSource && size % page != 0 {
            let lower = size / page * page, upper = lower.saturatingAdd(page)
            let options = lower > 0 ? "\(sizeText(lower)) or \(sizeText(upper))" : sizeText(upper)
            return "memfd backend \(b.id) is \(sizeText(size)), not a whole number of \(humanPageSize(kib: page)) pages, "
                + "and QEMU can't size a hugetlb memfd to it (ftruncate fails with Invalid argument); make it \(options)"
        }
        if let bound = b.hostNodes, b.mode != .restrictive, size % page != 0 {
            // QEMU mbind()s the backend's exact size; the kernel can't split a hugetlb mapping
            // inside a page, so numatune on a backend that is not whole pages fails.
            let lower = size / page * page, upper = lower.saturatingAdd(page)
            let options = lower > 0 ? "\(sizeText(lower)) or \(sizeText(upper))" : sizeText(upper)
            return "backend \(b.id) is \(sizeText(size)), not a whole number of \(humanPageSize(kib: page)) pages, and numatune "
                + "binds it to host nodes \(bound) (\(b.mode?.rawValue ?? "strict")); QEMU can't bind such a hugepage mapping "
                + "(cannot bind memory to host NUMA nodes); make it \(options)"
        }
        if !spec.memfdSource && size < page {
            return "backend \(b.id) is \(sizeText(size)), smaller than one \(humanPageSize(kib: page)) page, "
                + "and QEMU refuses hugetlbfs memory smaller than its page size; make it at least \(sizeText(page)) or use smaller pages"
        }
        return nil
    }

    private func sizeText(_ kib: UInt64) -> String { "\(kib) KiB (\(humanPageSize(kib: kib)))" }
}

/// The aliases libvirt 9.0 gives memory devices at start (`qemuAssignDeviceMemoryAlias`):
/// a device's own alias if it has one; a DIMM or NVDIMM is named after its DIMM slot
/// (`dimm<slot>`, `nvdimm<slot>`; a device without `<address type='dimm'>` gets the lowest
/// slot nobody holds, in document order); virtio-mem, virtio-pmem and SGX EPC devices get
/// one more than the highest index already used with their prefix. Linear in the devices.
enum DeviceAliases {
    static func assign(_ devices: [MemoryDevice]) -> [String] {
        var takenSlots = Set(devices.compactMap { $0.model == .dimm || $0.model == .nvdimm ? $0.slot : nil })
        var nextSlot = 0
        var nextIndex: [String: Int] = [:]
        for device in devices {
            guard let alias = device.alias else { continue }
            let prefix = Self.prefix(device.model)
            let rest = alias.dropFirst(prefix.count)
            if alias.hasPrefix(prefix), !rest.isEmpty, rest.isASCIIDigits,
               let n = Int(rest), n < Int.max {
                nextIndex[prefix] = max(nextIndex[prefix] ?? 0, n + 1)
            }
        }
        return devices.map { device in
            if let alias = device.alias { return alias }
            let prefix = Self.prefix(device.model)
            switch device.model {
            case .dimm, .nvdimm:
                if let slot = device.slot { return prefix + String(slot) }
                while takenSlots.contains(nextSlot) { nextSlot += 1 }
                takenSlots.insert(nextSlot)
                return prefix + String(nextSlot)
            case .virtioMem, .virtioPmem, .sgxEpc:
                let n = nextIndex[prefix] ?? 0
                nextIndex[prefix] = n + 1
                return prefix + String(n)
            }
        }
    }

    static func prefix(_ model: MemoryDeviceModel) -> String {
        switch model {
        case .dimm: return "dimm"
        case .nvdimm: return "nvdimm"
        case .virtioPmem: return "virtiopmem"
        case .virtioMem: return "virtiomem"
        case .sgxEpc: return "epc"
        }
    }
}

private func align(_ kib: UInt64, _ to: UInt64) -> UInt64 {
    let r = kib % to
    return r == 0 ? kib : kib.saturatingAdd(to - r)
}

extension UInt64 {
    /// Addition that stops at the largest value instead of trapping: a sum that large can
    /// never fit a pool, so the decision stays a refusal.
    func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

private func < (a: (UInt64, [Int]), b: (UInt64, [Int])) -> Bool {
    a.0 != b.0 ? a.0 < b.0 : a.1.lexicographicallyPrecedes(b.1)
}
