#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// Reads the hugepage pools and hugetlbfs mounts under a root directory, so fixture trees
/// can stand in for hosts with several NUMA nodes.
public struct SysfsPoolReader: Sendable {
    public var environment: GuardEnvironment
    public init(environment: GuardEnvironment) { self.environment = environment }

    /// Which counters to read.
    public enum NodeCounters: Sendable {
        /// nr, free and surplus of every page size and node.
        case all
        /// Only free pages per node, which is all a decision that fits needs: a third of the
        /// files. The pool says so (`nodeTotalsRead` false) and its nodes' nr and surplus, and
        /// each size's surplus (which no decision reads), are 0; whoever needs them (a
        /// refusal's advice, growth, the agent) reads the pool again with `.all`.
        case freeOnly
        /// As `.freeOnly`, and only what one decision looks at (`Decision.counterNeeds`): the
        /// page sizes it names, and of each only the nodes it names. The pool holds no other
        /// size, and no other node.
        case needed(CounterNeeds)

        var totals: Bool { if case .all = self { return true } else { return false } }
    }

    /// The whole pool: `readHost` and then `readCounters`.
    public func read(nodes: NodeCounters = .all) throws(HostError) -> HugepagePool {
        var pool = try readHost()
        try readCounters(into: &pool, nodes)
        return pool
    }

    /// The host's side of the pool without a counter: the kernel's default page size
    /// (/proc/meminfo) and the mount table with its hugetlbfs mounts. What libvirt's side of
    /// the host and a domain's demand are worked out from, before any counter is read.
    public func readHost() throws(HostError) -> HugepagePool {
        let meminfo = try FileSystem.readFile(environment.host("/proc/meminfo"), limit: ReadLimit.kernelFile) ?? ""
        let kernelDefault = PoolText.defaultHugepageSize(meminfo: meminfo)
        let mountsText = try FileSystem.readFile(environment.host("/proc/mounts"), limit: ReadLimit.kernelFile) ?? ""
        let mountTable = MountEntry.parse(procMounts: mountsText)
        var pool = HugepagePool(sizes: [:], mounts: PoolText.hugetlbfsMounts(in: mountTable, kernelDefaultKiB: kernelDefault),
                                kernelDefaultKiB: kernelDefault)
        pool.mountTable = mountTable
        return pool
    }

    /// The counters of every page size into `pool` (from `readHost`), as `nodes` says.
    public func readCounters(into result: inout HugepagePool, _ nodes: NodeCounters) throws(HostError) {
        var needs: CounterNeeds?
        if case .needed(let n) = nodes { needs = n }
        // Both directories are opened once and listed through their descriptors; every counter
        // is opened by its path relative to one of them.
        let globalDir = environment.host("/sys/kernel/mm/hugepages")
        guard let global = FileSystem.Directory(globalDir) else {
            throw HostError(path: globalDir, reason: "missing: this kernel has no hugetlb support")
        }
        let globalFD = global.fd, sizeDirs = global.names()
        let nodeRoot = environment.host("/sys/devices/system/node")
        let nodeDirectory = FileSystem.Directory(nodeRoot)
        let nodeRootFD = nodeDirectory?.fd ?? -1
        let nodeDirs = (nodeDirectory?.names() ?? []).compactMap { name -> (name: String, id: Int)? in
            guard name.hasPrefix("node"), let id = Int(name.dropFirst(4)) else { return nil }
            return (name, id)
        }
        var sizes: [UInt64: PagePool] = [:]
        for dir in sizeDirs {
            guard let kib = PoolText.pageSize(directoryName: dir) else { continue }
            let need = needs?.size(kib)
            if needs != nil && need == nil { continue }
            // A size whose directory isn't there (or isn't a directory) is skipped.
            guard let nr = try Counter.read(in: globalFD, path: globalDir, node: nil, sizeDirectory: dir, "nr_hugepages") else { continue }
            func global(_ name: StaticString) throws(HostError) -> UInt64 {
                guard let n = try Counter.read(in: globalFD, path: globalDir, node: nil, sizeDirectory: dir, name) else {
                    throw Counter.missing(globalDir, nil, dir, name)
                }
                return n
            }
            var pool = PagePool(sizeKiB: kib, nr: nr, free: try global("free_hugepages"), resv: try global("resv_hugepages"),
                                surplus: nodes.totals ? try global("surplus_hugepages") : 0,
                                nodes: [Int: NodeCounts](minimumCapacity: nodeDirs.count))
            // Which nodes: all, unless one decision names fewer. `resv` pages may be faulted
            // on any node, so with some promised every node counts again.
            var only: [Int]?
            if let need, !need.allNodes { only = need.nodes.isEmpty || pool.resv == 0 ? need.nodes : nil }
            for (name, node) in nodeDirs {
                if let only, !only.contains(node) { continue }
                // A node without this page size has no such directory, and is left out.
                guard let free = try Counter.read(in: nodeRootFD, path: nodeRoot, node: name, sizeDirectory: dir, "free_hugepages") else { continue }
                guard nodes.totals else {
                    pool.nodes[node] = NodeCounts(nr: 0, free: free, surplus: 0)
                    continue
                }
                func counter(_ counter: StaticString) throws(HostError) -> UInt64 {
                    guard let n = try Counter.read(in: nodeRootFD, path: nodeRoot, node: name, sizeDirectory: dir, counter) else {
                        throw Counter.missing(nodeRoot, name, dir, counter)
                    }
                    return n
                }
                pool.nodes[node] = NodeCounts(nr: try counter("nr_hugepages"), free: free, surplus: try counter("surplus_hugepages"))
            }
            sizes[kib] = pool
        }
        result.sizes = sizes
        result.nodeTotalsRead = nodes.totals
    }
}

/// Hugepage counters of sysfs, each opened by its path relative to a directory held open: a
/// counter costs three system calls (openat, one read, close), as sysfs hands a whole
/// attribute to the first read. Anything else (a missing file, a FIFO or device in a fixture
/// tree, more text than a counter holds, text that is not a number) goes to the careful
/// reader, which names what is wrong.
enum Counter {
    /// The counter `name` of one page size: `<sizeDirectory>/<name>` below the directory open
    /// as `fd` (at `path`), or `<node>/hugepages/<sizeDirectory>/<name>` with a node. nil when
    /// that page size's directory doesn't exist (a node without this page size). The relative
    /// path is put together on the stack: the hook reads a counter per node and page size on
    /// every decision.
    static func read(in fd: Int32, path: String, node: String?, sizeDirectory: String,
                     _ name: StaticString) throws(HostError) -> UInt64? {
        var node = node ?? "", sizeDirectory = sizeDirectory
        let hasNode = !node.isEmpty
        let (file, error) = node.withUTF8 { nodeBytes in
            sizeDirectory.withUTF8 { sizeBytes in
                let middle: StaticString = "/hugepages/", leaf = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
                let nodePart = hasNode ? nodeBytes.count + middle.utf8CodeUnitCount : 0
                let length = nodePart + sizeBytes.count + 1 + leaf.count
                return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer -> (Int32, Int32) in
                    var i = 0
                    func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                        for b in bytes { buffer[i] = CChar(bitPattern: b); i += 1 }
                    }
                    if hasNode {
                        put(nodeBytes)
                        put(UnsafeBufferPointer(start: middle.utf8Start, count: middle.utf8CodeUnitCount))
                    }
                    put(sizeBytes)
                    buffer[i] = CChar(bitPattern: UInt8(ascii: "/")); i += 1
                    put(leaf)
                    buffer[i] = 0
                    let file = fd >= 0 ? openat(fd, buffer.baseAddress!, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) : -1
                    return (file, file < 0 ? (fd >= 0 ? errno : ENOENT) : 0)
                }
            }
        }
        let subdirectory = { hasNode ? node + "/hugepages/" + sizeDirectory : sizeDirectory }
        if file < 0 && (error == ENOENT || error == ENOTDIR) {
            var st = stat()
            if fd < 0 || fstatat(fd, subdirectory(), &st, 0) != 0 || FileKind(st.st_mode) != .directory { return nil }
        }
        return try value(of: file, path: path + "/" + subdirectory() + "/" + name.description)
    }

    /// The error for a counter whose page size directory went away between two reads.
    static func missing(_ path: String, _ node: String?, _ sizeDirectory: String, _ name: StaticString) -> HostError {
        HostError(path: path + "/" + (node.map { $0 + "/hugepages/" } ?? "") + sizeDirectory + "/" + name.description, reason: "missing")
    }

    /// The number in an opened counter file (`file` < 0: the open failed), closing it.
    private static func value(of file: Int32, path: @autoclosure () -> String) throws(HostError) -> UInt64 {
        if file >= 0 {
            // A count is at most 20 digits and a newline; a full buffer means something else.
            let value = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer -> UInt64? in
                let n = readBytes(file, buffer.baseAddress, buffer.count)
                guard n > 0, n < buffer.count else { return nil }
                return PoolText.count(bytes: UnsafeBufferPointer(rebasing: buffer[..<n]))
            }
            close(file)
            if let value { return value }
        }
        return try Self.carefulCounter(path())
    }

    private static func carefulCounter(_ path: String) throws(HostError) -> UInt64 {
        guard let text = try FileSystem.readFile(path, limit: ReadLimit.kernelFile) else { throw HostError(path: path, reason: "missing") }
        guard let n = PoolText.count(text) else {
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw HostError(path: path, reason: "not a number: '\(shown)'")
        }
        return n
    }
}

/// read(2), which `Counter.read` hides inside `Counter`.
private func readBytes(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
