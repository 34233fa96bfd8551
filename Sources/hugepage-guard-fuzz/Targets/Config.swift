import HugepageGuardCore

extension FuzzTarget {
    /// `/etc/hugepage-guard/hugepage-guard.conf`, then a decision under it, with and without
    /// another start in flight, as `prepare begin` and `hugepage-guard check` make one.
    static let config = FuzzTarget(name: "config", seeds: ["packaging/hugepage-guard.conf"]) { bytes in
        guard let config = try? GuardConfig.parse(text(bytes), source: "fuzz.conf") else { return }
        decideOnSamplePool(config: config, inFlight: [])
        decideOnSamplePool(config: config, inFlight: [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 16)])
    }
}
