import Glibc
import HugepageGuardCore

/// Reads the hugepage pools and hugetlbfs mounts under a root directory, so fixture trees
/// can stand in for hosts with several NUMA nodes.
public struct SysfsPoolReader: Sendable {
    public var environment: GuardEnvironment
    public init(environment: GuardEnvironment) { self.environment = environment }

    /// Which per-node counters to read.
    public enum NodeCounters: Sendable {
        /// nr, free and surplus of every node.
        case all
        /// Only free pages per node, which is all a decision that fits needs: a third of the
        /// files. The pool says so (`nodeTotalsRead` false) and its nodes' nr and surplus, and
        /// each size's surplus (which no decision reads), are 0; whoever needs them (a
        /// refusal's advice, growth, the agent) reads the pool again with `.all`.
        case freeOnly
    }

    public func read(nodes: NodeCounters = .all) throws(HostError) -> HugepagePool {
        let meminfo = try FileSystem.readFile(environment.host("/proc/meminfo"), limit: ReadLimit.kernelFile) ?? ""
        let kernelDefault = PoolText.defaultHugepageSize(meminfo: meminfo)
        let mountsText = try FileSystem.readFile(environment.host("/proc/mounts"), limit: ReadLimit.kernelFile) ?? ""
        let mountTable = MountEntry.parse(procMounts: mountsText)
        let mounts = PoolText.hugetlbfsMounts(in: mountTable, kernelDefaultKiB: kernelDefault)

        let globalDir = environment.host("/sys/kernel/mm/hugepages")
        guard let sizeDirs = FileSystem.list(globalDir) else {
            throw HostError(path: globalDir, reason: "missing: this kernel has no hugetlb support")
        }
        let nodeRoot = environment.host("/sys/devices/system/node")
        let nodeDirs = (FileSystem.list(nodeRoot) ?? []).compactMap { name -> (name: String, id: Int)? in
            guard name.hasPrefix("node"), let id = Int(name.dropFirst(4)) else { return nil }
            return (name, id)
        }
        // With .freeOnly, nodes are read below the node root, held open (-1: read each node's
        // directory on its own instead).
        let nodeRootFD = nodes == .freeOnly ? open(nodeRoot, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC) : -1
        defer { if nodeRootFD >= 0 { close(nodeRootFD) } }
        var sizes: [UInt64: PagePool] = [:]
        for dir in sizeDirs {
            guard let kib = PoolText.pageSize(directoryName: dir) else { continue }
            guard let global = CounterDirectory(globalDir + "/" + dir) else { continue }
            var pool = PagePool(sizeKiB: kib,
                                nr: try global.counter("nr_hugepages"),
                                free: try global.counter("free_hugepages"),
                                resv: try global.counter("resv_hugepages"),
                                surplus: nodes == .all ? try global.counter("surplus_hugepages") : 0,
                                nodes: [Int: NodeCounts](minimumCapacity: nodeDirs.count))
            for (name, node) in nodeDirs {
                if nodeRootFD >= 0 {
                    // One open per node: the counter by its path below the node root.
                    guard let free = try CounterDirectory.counter(in: nodeRootFD, path: nodeRoot, node: name, sizeDirectory: dir,
                                                                  "free_hugepages") else { continue }
                    pool.nodes[node] = NodeCounts(nr: 0, free: free, surplus: 0)
                    continue
                }
                guard let counters = CounterDirectory(nodeRoot + "/" + name + "/hugepages/" + dir) else { continue }
                pool.nodes[node] = NodeCounts(nr: try counters.counter("nr_hugepages"),
                                              free: try counters.counter("free_hugepages"),
                                              surplus: try counters.counter("surplus_hugepages"))
            }
            sizes[kib] = pool
        }
        var pool = HugepagePool(sizes: sizes, mounts: mounts, kernelDefaultKiB: kernelDefault)
        pool.mountTable = mountTable
        pool.nodeTotalsRead = nodes == .all
        return pool
    }
}

/// One sysfs directory of counters, held open so that each counter is opened relative to
/// it. A counter costs three system calls (openat, one read, close): sysfs hands a whole
/// attribute to the first read. Anything else (a missing file, a FIFO or device in a fixture
/// tree, more text than a counter holds, text that is not a number) goes to the careful
/// reader, which names what is wrong.
struct CounterDirectory: ~Copyable {
    let path: String
    let fd: Int32

    /// nil when `path` is not a directory this process can open.
    init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    func counter(_ name: StaticString) throws(HostError) -> UInt64 {
        let file = openat(fd, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
                          O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        return try Self.value(of: file, path: path + "/" + name.description)
    }

    /// The counter `name` of one node's page size, `<node>/hugepages/<sizeDirectory>/<name>`
    /// below the node root open as `fd` (at `path`); nil when that directory doesn't exist (a
    /// node without this page size), as a missing directory is skipped when it is opened on
    /// its own. The relative path is put together on the stack: the hook reads one such
    /// counter per node and page size on every decision.
    static func counter(in fd: Int32, path: String, node: String, sizeDirectory: String,
                        _ name: StaticString) throws(HostError) -> UInt64? {
        var node = node, sizeDirectory = sizeDirectory
        let (file, error) = node.withUTF8 { nodeBytes in
            sizeDirectory.withUTF8 { sizeBytes in
                let middle: StaticString = "/hugepages/", leaf = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
                let length = nodeBytes.count + middle.utf8CodeUnitCount + sizeBytes.count + 1 + leaf.count
                return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer -> (Int32, Int32) in
                    var i = 0
                    func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                        for b in bytes { buffer[i] = CChar(bitPattern: b); i += 1 }
                    }
                    put(nodeBytes)
                    put(UnsafeBufferPointer(start: middle.utf8Start, count: middle.utf8CodeUnitCount))
                    put(sizeBytes)
                    buffer[i] = CChar(bitPattern: UInt8(ascii: "/")); i += 1
                    put(leaf)
                    buffer[i] = 0
                    let file = openat(fd, buffer.baseAddress!, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
                    return (file, file < 0 ? errno : 0)
                }
            }
        }
        let subdirectory = { node + "/hugepages/" + sizeDirectory }
        if file < 0 && (error == ENOENT || error == ENOTDIR) {
            var st = stat()
            if fstatat(fd, subdirectory(), &st, 0) != 0 || FileKind(st.st_mode) != .directory { return nil }
        }
        return try value(of: file, path: path + "/" + subdirectory() + "/" + name.description)
    }

    /// The number in an opened counter file (`file` < 0: the open failed), closing it.
    private static func value(of file: Int32, path: @autoclosure () -> String) throws(HostError) -> UInt64 {
        if file >= 0 {
            // A count is at most 20 digits and a newline; a full buffer means something else.
            let value = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer -> UInt64? in
                let n = Glibc.read(file, buffer.baseAddress, buffer.count)
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
