/// Memory figures growth is checked against: `MemAvailable` and `MemTotal` of the host, each
/// node's `MemFree` and `MemTotal`, and the free blocks per order from `/proc/buddyinfo`.
public struct HostMemory: Equatable, Sendable {
    public struct Figures: Equatable, Sendable {
        /// `MemAvailable` for the host, `MemFree` for a node.
        public var availableKiB: UInt64
        public var totalKiB: UInt64
        public init(availableKiB: UInt64, totalKiB: UInt64) { self.availableKiB = availableKiB; self.totalKiB = totalKiB }
    }
    public var host: Figures
    public var nodes: [Int: Figures]
    /// Free blocks per order (index = order), per node, summed over the zones hugepages are
    /// taken from (all but DMA). Empty when `/proc/buddyinfo` was not readable.
    public var freeBlocks: [Int: [UInt64]]
    public var basePageKiB: UInt64

    public init(host: Figures, nodes: [Int: Figures] = [:], freeBlocks: [Int: [UInt64]] = [:], basePageKiB: UInt64 = 4) {
        self.host = host; self.nodes = nodes; self.freeBlocks = freeBlocks; self.basePageKiB = basePageKiB
    }

    /// The buddy order of a page of `pageSizeKiB`, or nil when it is not a power-of-two
    /// multiple of the base page.
    public func order(pageSizeKiB: UInt64) -> Int? {
        guard pageSizeKiB >= basePageKiB, basePageKiB > 0, pageSizeKiB % basePageKiB == 0 else { return nil }
        let ratio = pageSizeKiB / basePageKiB
        guard ratio & (ratio - 1) == 0 else { return nil }
        return ratio.trailingZeroBitCount
    }

    /// An estimate of how many pages of `pageSizeKiB` the free lists could give right now,
    /// on one node or (nil) the whole host, without compaction. For pages larger than the
    /// largest buddy block (1 GiB pages, which the kernel assembles from a contiguous range)
    /// it counts whole pages' worth of the largest free blocks, which is an upper bound: the
    /// blocks need not be adjacent. nil when buddyinfo is unknown.
    public func buddyEstimate(pageSizeKiB: UInt64, node: Int?) -> UInt64? {
        guard !freeBlocks.isEmpty, let order = order(pageSizeKiB: pageSizeKiB) else { return nil }
        let lists = node.map { freeBlocks[$0].map { [$0] } ?? [] } ?? freeBlocks.sorted { $0.key < $1.key }.map { $0.value }
        var total: UInt64 = 0
        for counts in lists {
            guard !counts.isEmpty else { continue }
            let top = counts.count - 1
            if order <= top {
                for j in order...top {
                    let (m, o1) = counts[j].multipliedReportingOverflow(by: UInt64(1) << UInt64(j - order))
                    let (s, o2) = total.addingReportingOverflow(m)
                    total = (o1 || o2) ? UInt64.max : s
                }
            } else {
                // 2^(order - top) largest blocks make one page.
                let per = UInt64(1) << UInt64(min(order - top, 62))
                total = total.addingSaturated(counts[top] / per)
            }
        }
        return total
    }
}

/// Pure parsers for the memory text the kernel exposes.
public enum MemoryText {
    /// `Name:   1234 kB` lines of `/proc/meminfo` (and, after the `Node N ` prefix, of a
    /// node's `meminfo`) -> KiB by name. Lines that don't parse are skipped.
    public static func meminfo(_ text: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            var fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "Node 0 MemFree:  4276952 kB"
            if fields.count >= 3, fields[0] == "Node", Int(fields[1]) != nil { fields.removeFirst(2) }
            guard fields.count >= 2, fields[0].hasSuffix(":"), let n = UInt64(fields[1]) else { continue }
            out[String(fields[0].dropLast())] = n
        }
        return out
    }

    /// The host's figures: `MemAvailable` and `MemTotal`; nil if either is missing.
    public static func hostFigures(meminfo text: String) -> HostMemory.Figures? {
        let m = meminfo(text)
        guard let available = m["MemAvailable"], let total = m["MemTotal"] else { return nil }
        return HostMemory.Figures(availableKiB: available, totalKiB: total)
    }

    /// A node's figures: `MemFree` and `MemTotal` of `/sys/devices/system/node/nodeN/meminfo`.
    public static func nodeFigures(meminfo text: String) -> HostMemory.Figures? {
        let m = meminfo(text)
        guard let free = m["MemFree"], let total = m["MemTotal"] else { return nil }
        return HostMemory.Figures(availableKiB: free, totalKiB: total)
    }

    /// `/proc/buddyinfo`: `Node 0, zone   Normal   348 31 358 ...` -> free blocks per order
    /// per node, summed over every zone except DMA (hugepages are not taken from it).
    public static func buddyinfo(_ text: String) -> [Int: [UInt64]] {
        var out: [Int: [UInt64]] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "," }).filter { !$0.isEmpty }
            guard f.count >= 5, f[0] == "Node", let node = Int(f[1]), f[2] == "zone" else { continue }
            if f[3] == "DMA" { continue }
            let counts = f[4...].compactMap { UInt64($0) }
            guard counts.count == f.count - 4 else { continue }
            var sum = out[node] ?? []
            if sum.count < counts.count { sum += [UInt64](repeating: 0, count: counts.count - sum.count) }
            for (i, c) in counts.enumerated() {
                let (s, o) = sum[i].addingReportingOverflow(c)
                sum[i] = o ? UInt64.max : s
            }
            out[node] = sum
        }
        return out
    }
}
