#if !hasFeature(Embedded)
import HugepageGuardCore
#endif

/// The whole admission path shared by the hook and `hugepage-guard check`, in this order:
/// read the domain XML, read the config, then under the ledger's lock repair and expire the
/// ledger, read the pool, decide, grow the pool when it is allowed to and the start doesn't
/// fit, and record the outcome.
public struct Admission: Sendable {
    public var environment: GuardEnvironment
    /// Where pool growth writes; nil: the real sysfs under the environment's root.
    public var poolWriter: (any PoolWriter)?
    public init(environment: GuardEnvironment, poolWriter: (any PoolWriter)? = nil) {
        self.environment = environment; self.poolWriter = poolWriter
    }

    /// What came of one admission.
    public enum Outcome {
        /// The domain takes no hugepages: nothing else was read.
        case noHugepages(DomainSpec)
        /// `notes` are log lines written before the decision's own (expired reservations,
        /// growth), each with its level.
        case decided(DomainSpec, DecisionReport, notes: [LogLine])
        /// The guard could not decide: bad XML, config, pool or ledger.
        case failed(message: String)
    }

    /// Decides for `xml`. With `reserve`, the decision is made under the ledger's lock and
    /// an admitted start's reservation is recorded for `owner` (the libvirtd running the
    /// hook); without it nothing is written. `hookName` is the name libvirt ran the hook
    /// for (argv[1]); the XML must name the same domain, byte for byte.
    /// `owner` is evaluated only when a reservation is recorded: a domain without hugepages
    /// never walks the process table.
    public func decide(xml: String, operation: String, reserveFor owner: @autoclosure () -> ProcessRef?, reserve: Bool,
                       hookName: String? = nil) -> Outcome {
        let spec: DomainSpec
        do { spec = try DomainSpec(xml: xml) } catch {
            return .failed(message: "cannot read the domain XML: \(error)")
        }
        if let hookName, !hookName.utf8.elementsEqual(spec.name.utf8) {
            return .failed(message: "the domain XML names the domain \(Logfmt.value(spec.name)), but libvirt ran the hook "
                           + "for \(Logfmt.value(hookName)); they must be the same name")
        }
        guard spec.mayUseHugepages else { return .noHugepages(spec) }

        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch {
            return .failed(message: "the config file is broken, so the guard will not guess: \(error). Fix the file and start the domain again")
        }
        let store = LedgerStore(directory: environment.stateDir(config: config))
        let identity = DomainIdentity(name: spec.name, uuid: spec.uuid)

        guard reserve else {
            var notes: [LogLine] = []
            let ledger: Ledger
            do { ledger = try store.read() } catch {
                notes.append(LogLine(.warning, .ledgerError, [("error", "\(error)")], message: "ignoring the reservation ledger"))
                ledger = Ledger()
            }
            let outcome = evaluate(spec, config: config, stateDir: store.directory, operation: operation, inFlight: ledger.inFlight(excluding: identity), notes: notes)
            // What growth would do, planned without writing anything.
            guard case let .decided(s, report, notes) = outcome, mayGrow(s, report, config) else { return outcome }
            return .decided(s, PoolGrowth(environment: environment, stateDir: store.directory, writer: poolWriter)
                                .preview(report: report, config: config), notes: notes)
        }

        // Looked up before the lock is taken, so that it is held no longer than it was.
        let owner = owner()
        do {
            return try store.withLock { ledger, load, stateDir in
                if case let .corrupt(aside, error) = load {
                    // Reservations in the bad file are unknown, so no decision is safe now.
                    ledger.countRefusal()
                    return .failed(message: "the reservation ledger \(store.ledgerPath) could not be used (\(error)); "
                                   + "it was moved to \(aside) and a fresh one started. Start the domain again")
                }
                let now = BootClock.now()
                let notes = expire(&ledger, now: now, config: config, running: owner)
                // The pool and the ledger are one snapshot: the pool is read under the ledger's
                // lock. Read before it, a start could decide on a free count taken before another
                // start's `started begin` stopped its reservation from counting, and count those
                // pages twice as free.
                let inFlight = ledger.inFlight(excluding: identity)
                // Free pages per node are all a start that fits needs, and only of the sizes and
                // nodes its decision looks at. One that doesn't fit is decided again on every
                // counter: its refusal names each node's nr, and growth plans from them.
                var outcome = evaluate(spec, config: config, stateDir: store.directory, digests: stateDir, daemon: owner,
                                       operation: operation, inFlight: inFlight, notes: notes, nodes: .freeOnly)
                if case let .decided(_, report, _) = outcome, !report.decision.fits {
                    outcome = evaluate(spec, config: config, stateDir: store.directory, digests: stateDir, daemon: owner,
                                       operation: operation, inFlight: inFlight, notes: notes)
                }
                // Growth happens under the same lock, so parallel starts never grow twice for one
                // shortfall, and the decision after it reads the grown pool anew.
                var grown: [GrowStep] = []
                if case let .decided(s, report, notes) = outcome, mayGrow(s, report, config) {
                    let growth = PoolGrowth(environment: environment, stateDir: store.directory, writer: poolWriter)
                    let result = growth.grow(report: report, config: config) { () -> DecisionReport? in
                        let again = evaluate(spec, config: config, stateDir: store.directory, digests: stateDir, daemon: owner,
                                             operation: operation,
                                             inFlight: ledger.inFlight(excluding: identity), notes: [])
                        guard case let .decided(_, r, _) = again else { return nil }
                        return r
                    }
                    grown = result.grown
                    outcome = .decided(s, result.report, notes: notes + result.lines)
                }
                record(outcome, in: &ledger, identity: identity, operation: operation, owner: owner, now: now, grown: grown)
                return outcome
            }
        } catch {
            return .failed(message: "cannot use the reservation ledger: \(error)")
        }
    }

    /// Whether growth may be tried for a start that doesn't fit: `pool.grow = on`, a policy
    /// that checks, and no `grow="off"` on the domain.
    private func mayGrow(_ spec: DomainSpec, _ report: DecisionReport, _ config: GuardConfig) -> Bool {
        !report.decision.fits && report.decision.policy != .off && config.growth.grow && spec.growOverride != false
    }

    /// Drops reservations whose start died halfway; one log line each. Pages grown for them
    /// are held in the ledger, for the next `release end` or the agent to give back.
    /// `running` is the libvirt daemon running this hook: alive, as it waits for the hook, so
    /// its reservations (on a host, every one in flight) are not looked up in /proc.
    private func expire(_ ledger: inout Ledger, now: Int64, config: GuardConfig, running: ProcessRef?) -> [LogLine] {
        let expired = ledger.expire(now: now, timeout: config.reservationTimeout, isAlive: { $0 == running || ProcessTable.isAlive($0) })
        for e in expired { ledger.holdGrown(e, grown: e.grown.compactMap(GrowStep.init(item:)), now: now) }
        return expired.map {
            LogLine(.warning, .reservationExpired, [("domain", $0.domain), ("op", $0.operation),
                                                    ("age_s", $0.age(now: now).map { String($0) } ?? "unknown")])
        }
    }

    /// Reads the pool and decides against it.
    /// `stateDir` holds the digests of libvirt's capabilities cache (LibvirtHostReader);
    /// `digests` is that directory when it is already open (under the ledger's lock);
    /// `daemon` the libvirt daemon running the hook, when it is known.
    private func evaluate(_ spec: DomainSpec, config: GuardConfig, stateDir: String, digests: DirectoryHandle? = nil,
                          daemon: ProcessRef? = nil, operation: String,
                          inFlight: [DemandItem], notes: [LogLine], nodes: SysfsPoolReader.NodeCounters = .all) -> Outcome {
        let reader = SysfsPoolReader(environment: environment)
        var kernelPool: HugepagePool
        do { kernelPool = try reader.readHost() } catch {
            return .failed(message: "cannot read the hugepage pool: \(error)")
        }
        // libvirt's side of the host: qemu.conf, its capabilities cache, the mounts it knows.
        let libvirt = LibvirtHostReader(environment: environment, digestDirectory: stateDir)
            .read(pool: kernelPool, capabilities: .needed(by: spec), digests: digests, daemon: daemon)
        var demand = DomainDemand(spec: spec, context: libvirt.context(basePageKiB: GuardEnvironment.basePageKiB, pool: kernelPool))
        demand.assumptions += libvirt.notes
        // With free pages only, only the counters this decision looks at: its page sizes, and
        // of each the nodes its pages, other starts' and the host reserve are bound to.
        var counters = nodes
        if case .freeOnly = nodes { counters = .needed(Decision.counterNeeds(demand: demand, inFlight: inFlight, config: config)) }
        do { try reader.readCounters(into: &kernelPool, counters) } catch {
            return .failed(message: "cannot read the hugepage pool: \(error)")
        }
        let pool = libvirt.restrict(kernelPool)
        let decision = Decision.evaluate(AdmissionInput(
            demand: demand, pool: pool, inFlight: inFlight, config: config,
            domainPolicy: spec.policyOverride, memfd: spec.memfdSource))
        return .decided(spec, DecisionReport(decision: decision, pool: pool, operation: operation), notes: notes)
    }

    /// An admitted start reserves its pages, with the pages grown for it (and those grown
    /// by an earlier step of the same start, such as `migrate begin` before `prepare begin`);
    /// a refused one is counted.
    private func record(_ outcome: Outcome, in ledger: inout Ledger, identity: DomainIdentity, operation: String,
                        owner: ProcessRef?, now: Int64, grown: [GrowStep]) {
        guard case let .decided(_, report, _) = outcome else { return }
        let decision = report.decision
        if decision.verdict == .admit && decision.policy != .off {
            var entry = LedgerEntry(domain: identity.name, uuid: identity.uuid, state: .reserved, operation: operation,
                                    since: now, owner: owner, items: decision.demand.items)
            entry.grown = (ledger.entry(identity)?.grown ?? []) + grown.map { $0.item }
            ledger.reserve(entry)
        } else if decision.verdict == .refuse {
            ledger.countRefusal()
        }
    }
}

extension DomainSpec {
    /// Whether any backend could be hugepage-backed; false means zero demand, decided
    /// without looking at the host.
    public var mayUseHugepages: Bool {
        hugepages != nil || memoryDevices.contains { $0.pageSizeKiB != nil }
            // File-backed RAM takes hugepages when qemu.conf's memory_backing_dir is on hugetlbfs.
            || (!memfdSource && (fileSource || memoryAccess != nil || cells.contains { $0.memoryAccess != nil }
                                 || memoryDevices.contains { $0.access != nil }))
    }
}
