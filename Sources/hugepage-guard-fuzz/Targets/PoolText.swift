import HugepageGuardCore

extension FuzzTarget {
    /// The kernel's text the pool is read from: every `PoolText` parser gets the same input,
    /// as a sysfs counter, a `hugepages-<size>kB` directory name, /proc/meminfo and /proc/mounts.
    static let poolText = FuzzTarget(name: "pool-text", seeds: ["Tests/Fixtures/sysfs"]) { bytes in
        let s = text(bytes)
        _ = PoolText.count(s)
        _ = PoolText.pageSize(directoryName: s)
        let kernelDefault = PoolText.defaultHugepageSize(meminfo: s)
        for fallback in [kernelDefault, nil, 2048] {
            _ = PoolText.hugetlbfsMounts(procMounts: s, kernelDefaultKiB: fallback)
        }
    }
}
