import HugepageGuardCore

/// Reads the hugepage pools and hugetlbfs mounts under a root directory, so fixture trees
/// can stand in for hosts with several NUMA nodes.
public struct SysfsPoolReader: Sendable {
    public var environment: GuardEnvironment
    public init(environment: GuardEnvironment) { self.environment = environment }

    public func read() throws(HostError) -> HugepagePool {
        let meminfo = try FileSystem.readFile(environment.host("/proc/meminfo"), limit: ReadLimit.kernelFile) ?? ""
        let kernelDefault = PoolText.defaultHugepageSize(meminfo: meminfo)
        let mountsText = try FileSystem.readFile(environment.host("/proc/mounts"), limit: ReadLimit.kernelFile) ?? ""
        let mounts = PoolText.hugetlbfsMounts(procMounts: mountsText, kernelDefaultKiB: kernelDefault)

        let globalDir = environment.host("/sys/kernel/mm/hugepages")
        guard let sizeDirs = FileSystem.list(globalDir) else {
            throw HostError(path: globalDir, reason: "missing: this kernel has no hugetlb support")
        }
        let nodeRoot = environment.host("/sys/devices/system/node")
        let nodeNames = (FileSystem.list(nodeRoot) ?? []).filter { $0.hasPrefix("node") }
        var sizes: [UInt64: PagePool] = [:]
        for dir in sizeDirs {
            guard let kib = PoolText.pageSize(directoryName: dir) else { continue }
            let base = globalDir + "/" + dir
            var pool = PagePool(sizeKiB: kib,
                                nr: try counter(base + "/nr_hugepages"),
                                free: try counter(base + "/free_hugepages"),
                                resv: try counter(base + "/resv_hugepages"),
                                surplus: try counter(base + "/surplus_hugepages"))
            for name in nodeNames {
                guard let node = Int(name.dropFirst(4)) else { continue }
                let nb = "\(nodeRoot)/\(name)/hugepages/\(dir)"
                guard FileSystem.isListable(nb) else { continue }
                pool.nodes[node] = NodeCounts(nr: try counter(nb + "/nr_hugepages"),
                                              free: try counter(nb + "/free_hugepages"),
                                              surplus: try counter(nb + "/surplus_hugepages"))
            }
            sizes[kib] = pool
        }
        return HugepagePool(sizes: sizes, mounts: mounts, kernelDefaultKiB: kernelDefault)
    }

    private func counter(_ path: String) throws(HostError) -> UInt64 {
        guard let text = try FileSystem.readFile(path, limit: ReadLimit.kernelFile) else { throw HostError(path: path, reason: "missing") }
        guard let n = PoolText.count(text) else {
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw HostError(path: path, reason: "not a number: '\(shown)'")
        }
        return n
    }
}
