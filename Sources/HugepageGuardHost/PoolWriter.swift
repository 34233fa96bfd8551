#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// Reads and writes the kernel's pool sizes: the seam growth goes through, so a test can
/// stand in a kernel that grants part of a request. Class-bound: the hook's Embedded Swift
/// build has existentials of class-bound protocols only.
public protocol PoolWriter: AnyObject, Sendable {
    /// `nr_hugepages` of a size, on one node or (nil) for the whole host.
    func count(pageSizeKiB: UInt64, node: Int?) throws(HostError) -> UInt64
    /// Writes `nr_hugepages`. The kernel may give fewer pages than asked; read back.
    func setCount(_ pages: UInt64, pageSizeKiB: UInt64, node: Int?) throws(HostError)
    /// Asks the kernel to compact memory, on one node or everywhere.
    func compact(node: Int?)
}

/// The real pool under the environment's sysfs root:
/// `/sys/kernel/mm/hugepages/hugepages-<K>kB/nr_hugepages`, or
/// `/sys/devices/system/node/node<N>/hugepages/hugepages-<K>kB/nr_hugepages`; compaction
/// through the node's `compact` file, else `/proc/sys/vm/compact_memory`.
public final class SysfsPoolWriter: PoolWriter {
    public let environment: GuardEnvironment
    public init(environment: GuardEnvironment) { self.environment = environment }

    func path(pageSizeKiB: UInt64, node: Int?) -> String {
        if let node { return environment.host("/sys/devices/system/node/node\(node)/hugepages/hugepages-\(pageSizeKiB)kB/nr_hugepages") }
        return environment.host("/sys/kernel/mm/hugepages/hugepages-\(pageSizeKiB)kB/nr_hugepages")
    }

    public func count(pageSizeKiB: UInt64, node: Int?) throws(HostError) -> UInt64 {
        let p = path(pageSizeKiB: pageSizeKiB, node: node)
        guard let text = try FileSystem.readText(p) else { throw HostError(path: p, reason: "missing") }
        guard let n = PoolText.count(text) else { throw HostError(path: p, reason: "not a number: '\(text)'") }
        return n
    }

    public func setCount(_ pages: UInt64, pageSizeKiB: UInt64, node: Int?) throws(HostError) {
        try Self.writeSmall("\(pages)\n", to: path(pageSizeKiB: pageSizeKiB, node: node))
    }

    public func compact(node: Int?) {
        if let node, (try? Self.writeSmall("1\n", to: environment.host("/sys/devices/system/node/node\(node)/compact"))) != nil { return }
        try? Self.writeSmall("1\n", to: environment.host("/proc/sys/vm/compact_memory"))
    }

    /// A short text written to an existing file (sysfs and procfs take it in one write).
    static func writeSmall(_ text: String, to path: String) throws(HostError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 { throw HostError(path: path, errno: errno) }
        defer { close(fd) }
        try FileSystem.writeAll(fd: fd, Array(text.utf8), path: path)
    }
}

/// Grows the pool by exact steps, relative to the counts it finds, and puts every count
/// back when the kernel gives less.
public struct PoolGrower: Sendable {
    public var writer: any PoolWriter
    /// Pages above this size (the largest buddy block, 4 MiB with 4 KiB base pages) are
    /// assembled from a contiguous range: compact before asking for them.
    public var gigantic: UInt64

    public init(writer: any PoolWriter, basePageKiB: UInt64 = 4) {
        self.writer = writer
        self.gigantic = basePageKiB << 10
    }

    public enum GrowResult: Equatable, Sendable {
        case granted([GrowStep])
        /// Fewer pages than asked: `got` per step (what the kernel gave before the rollback),
        /// `unrestored` what could not be put back.
        case rolledBack(asked: [GrowStep], got: [GrowStep], unrestored: [GrowStep])
    }

    /// Each step: read the count, write count + pages, read back; when short, compact once
    /// and write again once. Never loops. Any step short: every step undone.
    public func grow(_ steps: [GrowStep]) -> GrowResult {
        var done: [GrowStep] = []
        for step in steps {
            let got = growOne(step)
            if got >= step.pages {
                done.append(step)
                continue
            }
            var partial = step
            partial.pages = got
            let gotList = done + [partial] + steps.dropFirst(done.count + 1).map { GrowStep(pageSizeKiB: $0.pageSizeKiB, node: $0.node, pages: 0) }
            let undo = (done + [partial]).filter { $0.pages > 0 }
            let back = giveBack(undo)
            return .rolledBack(asked: steps, got: gotList, unrestored: back.left)
        }
        return .granted(steps)
    }

    /// Pages the kernel gave for one step (0 when the count can't be read or written).
    private func growOne(_ step: GrowStep) -> UInt64 {
        guard let before = try? writer.count(pageSizeKiB: step.pageSizeKiB, node: step.node) else { return 0 }
        let (target, overflow) = before.addingReportingOverflow(step.pages)
        if overflow { return 0 }
        if step.pageSizeKiB > gigantic { writer.compact(node: step.node) }
        func attempt() -> UInt64 {
            try? writer.setCount(target, pageSizeKiB: step.pageSizeKiB, node: step.node)
            guard let after = try? writer.count(pageSizeKiB: step.pageSizeKiB, node: step.node) else { return 0 }
            return after > before ? min(after - before, step.pages) : 0
        }
        let first = attempt()
        if first >= step.pages { return first }
        writer.compact(node: step.node)
        return attempt()
    }

    /// Shrinks each step's pool by its pages, relative to the count found now, and reads
    /// back. `given` is what went back; `left` what the kernel kept (pages in use).
    public func giveBack(_ steps: [GrowStep]) -> (given: [GrowStep], left: [GrowStep]) {
        var given: [GrowStep] = [], left: [GrowStep] = []
        for step in steps.reversed() where step.pages > 0 {
            var back = step
            back.pages = 0
            if let now = try? writer.count(pageSizeKiB: step.pageSizeKiB, node: step.node) {
                let target = now > step.pages ? now - step.pages : 0
                try? writer.setCount(target, pageSizeKiB: step.pageSizeKiB, node: step.node)
                if let after = try? writer.count(pageSizeKiB: step.pageSizeKiB, node: step.node), after < now {
                    back.pages = min(now - after, step.pages)
                }
            }
            if back.pages > 0 { given.append(back) }
            if back.pages < step.pages {
                left.append(GrowStep(pageSizeKiB: step.pageSizeKiB, node: step.node, pages: step.pages - back.pages))
            }
        }
        return (given.reversed(), left.reversed())
    }
}

/// `/proc/meminfo`, each node's `meminfo` and `/proc/buddyinfo` under the sysfs root.
public struct HostMemoryReader: Sendable {
    public var environment: GuardEnvironment
    public init(environment: GuardEnvironment) { self.environment = environment }

    public func read() throws(HostError) -> HostMemory {
        let path = environment.host("/proc/meminfo")
        guard let text = try FileSystem.readText(path), let host = MemoryText.hostFigures(meminfo: text) else {
            throw HostError(path: path, reason: "no MemAvailable or MemTotal")
        }
        var nodes: [Int: HostMemory.Figures] = [:]
        let nodeRoot = environment.host("/sys/devices/system/node")
        for name in FileSystem.list(nodeRoot) ?? [] where name.hasPrefix("node") {
            guard let n = Int(name.dropFirst(4)),
                  let t = try? FileSystem.readText("\(nodeRoot)/\(name)/meminfo"),
                  let f = MemoryText.nodeFigures(meminfo: t) else { continue }
            nodes[n] = f
        }
        let buddy = ((try? FileSystem.readText(environment.host("/proc/buddyinfo"))) ?? nil).map(MemoryText.buddyinfo) ?? [:]
        return HostMemory(host: host, nodes: nodes, freeBlocks: buddy, basePageKiB: GuardEnvironment.basePageKiB)
    }
}
