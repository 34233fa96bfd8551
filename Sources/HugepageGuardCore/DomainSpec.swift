/// The parts of a libvirt domain definition that decide hugepage demand, as parsed from
/// the XML the hook receives. Values are libvirt's, not yet interpreted.
public struct DomainSpec: Equatable, Sendable {
    public var name: String
    public var uuid: String?
    /// `<memory>`: initial memory plus all memory devices, in KiB.
    public var memoryKiB: UInt64
    /// `<memoryBacking><hugepages>`, nil when absent.
    public var hugepages: [HugepageRequest]?
    /// `<memoryBacking><source type='memfd'/>`.
    public var memfdSource: Bool
    /// `<cpu><numa><cell>`, in document order.
    public var cells: [GuestCell]
    public var numatune: Numatune
    /// `<devices><memory>`.
    public var memoryDevices: [MemoryDevice]
    /// Our own `<metadata>` element, if present.
    public var policyOverride: Policy?
    /// `grow="off"` (or `"on"`) on our `<metadata>` element: whether the pool may grow for
    /// this domain; nil follows the host's `pool.grow`.
    public var growOverride: Bool? = nil
    /// `<memoryBacking><source type='file'/>`: RAM without hugepages is a file in
    /// qemu.conf's `memory_backing_dir`.
    public var fileSource: Bool = false
    /// `<memoryBacking><access mode>`: any mode makes libvirt back RAM with a file.
    public var memoryAccess: String?
    /// `<domain type>`: `kvm` or `qemu` (libvirt's capabilities cache lists machines per type).
    public var virtType: String?
    /// `<os><type machine>`, as libvirt expanded it (`pc-i440fx-7.2`, not `pc`).
    public var machine: String?
    /// `<devices><emulator>`: the QEMU binary, which names the capabilities cache file.
    public var emulator: String?
    /// `<cpu><numa><interconnects>` present: HMAT, which forces a backend per cell.
    public var numaInterconnects: Bool = false

    public init(name: String, uuid: String? = nil, memoryKiB: UInt64, hugepages: [HugepageRequest]? = nil,
                memfdSource: Bool = false, cells: [GuestCell] = [], numatune: Numatune = Numatune(),
                memoryDevices: [MemoryDevice] = [], policyOverride: Policy? = nil) {
        self.name = name; self.uuid = uuid; self.memoryKiB = memoryKiB; self.hugepages = hugepages
        self.memfdSource = memfdSource; self.cells = cells; self.numatune = numatune
        self.memoryDevices = memoryDevices; self.policyOverride = policyOverride
    }
}

/// One `<page>` under `<hugepages>`. An empty `<hugepages/>` is one request with no size
/// and no nodeset: the host's default hugepage size.
public struct HugepageRequest: Equatable, Sendable {
    public var sizeKiB: UInt64?
    /// Guest cell ids this page size applies to; nil for the "master" page.
    public var guestCells: NodeSet?
    public init(sizeKiB: UInt64?, guestCells: NodeSet? = nil) { self.sizeKiB = sizeKiB; self.guestCells = guestCells }
}

public struct GuestCell: Equatable, Sendable {
    public var id: Int
    public var memoryKiB: UInt64
    /// `memAccess='shared|private'`: a file-backed cell.
    public var memoryAccess: String?
    /// Has `<cache>` children: HMAT, which forces a backend per cell.
    public var hasCache: Bool
    public init(id: Int, memoryKiB: UInt64, memoryAccess: String? = nil, hasCache: Bool = false) {
        self.id = id; self.memoryKiB = memoryKiB; self.memoryAccess = memoryAccess; self.hasCache = hasCache
    }
}

/// `<numatune>` modes. strict and restrictive confine allocations to the nodeset
/// (strict through QEMU's `bind` policy, restrictive through the cpuset cgroup, which the
/// kernel's hugepage allocator honours too); preferred and interleave may spill.
public enum NumaMode: String, Sendable, CaseIterable {
    case strict, preferred, interleave, restrictive
    public var confinesPages: Bool { self == .strict || self == .restrictive }
}

public struct NumaTuneEntry: Equatable, Sendable {
    public var mode: NumaMode
    /// nil with `placement='auto'`: numad picks the nodes after the prepare hook.
    public var nodeset: NodeSet?
    public init(mode: NumaMode, nodeset: NodeSet?) { self.mode = mode; self.nodeset = nodeset }
}

public struct Numatune: Equatable, Sendable {
    public var memory: NumaTuneEntry?
    public var memnodes: [Int: NumaTuneEntry]
    public init(memory: NumaTuneEntry? = nil, memnodes: [Int: NumaTuneEntry] = [:]) {
        self.memory = memory; self.memnodes = memnodes
    }
}

public enum MemoryDeviceModel: String, Sendable {
    case dimm, nvdimm, virtioPmem = "virtio-pmem", virtioMem = "virtio-mem", sgxEpc = "sgx-epc"
}

/// One `<devices><memory>`.
public struct MemoryDevice: Equatable, Sendable {
    public var model: MemoryDeviceModel
    public var alias: String?
    /// `<target><size>` in KiB.
    public var sizeKiB: UInt64
    /// virtio-mem `<target><requested>` in KiB.
    public var requestedKiB: UInt64?
    /// `<target><node>`: the guest cell.
    public var targetNode: Int?
    /// `<source><pagesize>` in KiB.
    public var pageSizeKiB: UInt64?
    /// `<source><nodemask>`: host nodes.
    public var sourceNodes: NodeSet?
    /// `<address type='dimm' slot>`: a DIMM's or NVDIMM's slot, which names its alias.
    public var slot: Int?
    /// `<memory access='shared|private'>`: a file-backed device.
    public var access: String?

    public init(model: MemoryDeviceModel, alias: String? = nil, sizeKiB: UInt64, requestedKiB: UInt64? = nil,
                targetNode: Int? = nil, pageSizeKiB: UInt64? = nil, sourceNodes: NodeSet? = nil, slot: Int? = nil) {
        self.model = model; self.alias = alias; self.sizeKiB = sizeKiB; self.requestedKiB = requestedKiB
        self.targetNode = targetNode; self.pageSizeKiB = pageSizeKiB; self.sourceNodes = sourceNodes; self.slot = slot
    }
}

/// What the guard does when a VM doesn't fit.
public enum Policy: String, Sendable, CaseIterable {
    /// Refuse the start (the default).
    case enforce
    /// Log the shortfall but let the start go on.
    case warn
    /// Don't check at all: the hook is passive.
    case off
}

/// The namespace of our `<metadata>` element:
/// `<hg:guard xmlns:hg="http://hugepage-guard.org/xmlns/domain/1" policy="warn"/>`.
public let metadataNamespace = "http://hugepage-guard.org/xmlns/domain/1"
