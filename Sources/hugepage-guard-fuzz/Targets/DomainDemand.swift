import HugepageGuardCore

extension FuzzTarget {
    /// Domain XML on stdin -> `DomainSpec` -> `DomainDemand` -> a decision, as the hook's
    /// `prepare begin` runs them.
    static let domainDemand = FuzzTarget(name: "domain-demand", seeds: ["Tests/Fixtures/domains"]) { bytes in
        guard let spec = try? DomainSpec(xml: text(bytes)) else { return }
        // Both the usual x86 host and one with a 1 GiB default hugepage size and 64 KiB base
        // pages, so the page-size rules see more than one context.
        for context in [PageSizeContext(), PageSizeContext(basePageKiB: 64, defaultHugepageKiB: 1_048_576)] {
            guard let demand = try? DomainDemand(spec: spec, context: context) else { continue }
            decideOnSamplePool(config: GuardConfig(), inFlight: [], demand: demand)
        }
    }
}
