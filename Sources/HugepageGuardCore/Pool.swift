/// Per-node counters from `/sys/devices/system/node/nodeN/hugepages/hugepages-<K>kB/`.
public struct NodeCounts: Equatable, Sendable {
    public var nr: UInt64, free: UInt64, surplus: UInt64
    public init(nr: UInt64, free: UInt64, surplus: UInt64) { self.nr = nr; self.free = free; self.surplus = surplus }
}

/// One page size's pool: global counters from `/sys/kernel/mm/hugepages/hugepages-<K>kB/`
/// plus per-node counters. `resv` exists only globally.
public struct PagePool: Equatable, Sendable {
    public var sizeKiB: UInt64
    public var nr: UInt64, free: UInt64, resv: UInt64, surplus: UInt64
    public var nodes: [Int: NodeCounts]

    public init(sizeKiB: UInt64, nr: UInt64, free: UInt64, resv: UInt64, surplus: UInt64, nodes: [Int: NodeCounts] = [:]) {
        self.sizeKiB = sizeKiB; self.nr = nr; self.free = free; self.resv = resv; self.surplus = surplus; self.nodes = nodes
    }

    /// Pages truly available to a new mapping: free minus those promised to existing mappings.
    public var available: UInt64 { free > resv ? free - resv : 0 }
    /// Pages in use: allocated and not free.
    public var inUse: UInt64 { nr > free ? nr - free : 0 }
}

/// A mounted hugetlbfs, from `/proc/mounts`.
public struct HugetlbfsMount: Equatable, Sendable {
    public var path: String
    public var pageSizeKiB: UInt64
    public init(path: String, pageSizeKiB: UInt64) { self.path = path; self.pageSizeKiB = pageSizeKiB }
}

/// The host's hugepage pools and mounts at one moment.
public struct HugepagePool: Equatable, Sendable {
    /// Keyed by page size in KiB.
    public var sizes: [UInt64: PagePool]
    public var mounts: [HugetlbfsMount]
    /// `Hugepagesize` from /proc/meminfo: the kernel's default hugepage size.
    public var kernelDefaultKiB: UInt64?
    /// Every line of /proc/mounts, as read with the pool (nil for a pool not read from a
    /// host): libvirt's side of the host is worked out from the same reading.
    public var mountTable: [MountEntry]?
    /// false when only free pages were read per node (SysfsPoolReader's `.freeOnly`, or
    /// `.needed`, which also leaves out the sizes and nodes a decision doesn't look at): the
    /// nodes' nr and surplus, and each size's surplus, are then 0, not the kernel's.
    public var nodeTotalsRead = true

    public init(sizes: [UInt64: PagePool], mounts: [HugetlbfsMount] = [], kernelDefaultKiB: UInt64? = nil) {
        self.sizes = sizes; self.mounts = mounts; self.kernelDefaultKiB = kernelDefaultKiB
    }

    public func mount(forPageSize kib: UInt64) -> HugetlbfsMount? { mounts.first { $0.pageSizeKiB == kib } }

    /// What libvirt takes for an empty `<hugepages/>`: the mount whose page size is the
    /// kernel's default, else the first hugetlbfs mount, else the kernel's default.
    public var libvirtDefaultKiB: UInt64 {
        if let d = kernelDefaultKiB, mount(forPageSize: d) != nil { return d }
        return mounts.first?.pageSizeKiB ?? kernelDefaultKiB ?? 2048
    }

    public func context(basePageKiB: UInt64) -> PageSizeContext {
        PageSizeContext(basePageKiB: basePageKiB, defaultHugepageKiB: libvirtDefaultKiB)
    }
}

/// Pure parsers for the text the kernel exposes.
public enum PoolText {
    /// A sysfs counter file: one decimal number and a newline.
    public static func count(_ text: String) -> UInt64? {
        var text = text
        return text.withUTF8 { count(bytes: $0) }
    }

    /// The same from the file's bytes: decimal digits, with blanks and newlines around them
    /// ignored; nil for anything else, or for a number past UInt64.
    public static func count(bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") }
        var start = 0, end = bytes.count
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return ASCIIDecimal(UnsafeBufferPointer(rebasing: bytes[start..<end])).value
    }

    /// `hugepages-2048kB` -> 2048.
    public static func pageSize(directoryName: String) -> UInt64? {
        guard directoryName.hasPrefix("hugepages-"), directoryName.hasSuffix("kB") else { return nil }
        return UInt64(directoryName.dropFirst("hugepages-".count).dropLast(2))
    }

    /// `Hugepagesize:       2048 kB` from /proc/meminfo. Found on bytes, as libvirt's C does:
    /// the file is some fifty lines, read on every decision.
    public static func defaultHugepageSize(meminfo: String) -> UInt64? {
        var text = meminfo
        return text.withUTF8 { b -> UInt64? in
            let key: StaticString = "Hugepagesize:"
            let keyBytes = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            var lineStart = 0
            while lineStart < b.count {
                let lineEnd = b.firstIndex(of: UInt8(ascii: "\n"), or: UInt8(ascii: "\n"), from: lineStart)
                let line = UnsafeBufferPointer(rebasing: b[lineStart..<lineEnd])
                if line.startsWithBytes(of: keyBytes) {
                    let fields = line.split(separator: UInt8(ascii: " "))
                    if fields.count >= 2 { return UInt64(String(decoding: fields[1], as: UTF8.self)) }
                }
                lineStart = lineEnd + 1
            }
            return nil
        }
    }

    /// hugetlbfs lines of /proc/mounts. A mount without `pagesize=` uses the kernel default.
    public static func hugetlbfsMounts(procMounts: String, kernelDefaultKiB: UInt64?) -> [HugetlbfsMount] {
        hugetlbfsMounts(in: MountEntry.parse(procMounts: procMounts), kernelDefaultKiB: kernelDefaultKiB)
    }

    /// The same from the parsed table.
    public static func hugetlbfsMounts(in table: [MountEntry], kernelDefaultKiB: UInt64?) -> [HugetlbfsMount] {
        var out: [HugetlbfsMount] = []
        for m in table where m.fsType == "hugetlbfs" {
            var size = kernelDefaultKiB
            for opt in m.options where opt.hasPrefix("pagesize=") {
                let (digits, unit) = opt.dropFirst("pagesize=".count).splitAtFirstNonDigit
                guard let n = UInt64(digits) else { continue }
                size = SizeUnit.kibibytes(value: n, unit: unit.isEmpty ? "b" : String(unit))
            }
            guard let size else { continue }
            out.append(HugetlbfsMount(path: m.path, pageSizeKiB: size))
        }
        return out
    }

    /// /proc/mounts writes space, tab, newline and backslash as `\040`-style octal escapes.
    static func unescapeMountPath(_ s: String) -> String {
        guard s.utf8.contains(UInt8(ascii: "\\")) else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\"), i + 3 < u.count,
               let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(v); i += 4
            } else {
                bytes.append(u[i]); i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
