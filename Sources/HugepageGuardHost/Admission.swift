import HugepageGuardCore

/// The whole admission path shared by the hook and `hugepage-guard check`, in this order:
/// read the domain XML, read the config, then under the ledger's lock repair and expire the
/// ledger, read the pool, decide, and record the outcome.
public struct Admission: Sendable {
    public var environment: GuardEnvironment
    public init(environment: GuardEnvironment) { self.environment = environment }

    /// What came of one admission.
    public enum Outcome {
        /// The domain takes no hugepages: nothing else was read.
        case noHugepages(DomainSpec)
        case decided(DomainSpec, DecisionReport, notes: [String])
        /// The guard could not decide: bad XML, config, pool or ledger.
        case failed(message: String)
    }

    /// Decides for `xml`. With `reserve`, the decision is made under the ledger's lock and
    /// an admitted start's reservation is recorded for `owner` (the libvirtd running the
    /// hook); without it nothing is written. `hookName` is the name libvirt ran the hook
    /// for (argv[1]); the XML must name the same domain, byte for byte.
    public func decide(xml: String, operation: String, reserveFor owner: ProcessRef?, reserve: Bool,
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
            var notes: [String] = []
            let ledger: Ledger
            do { ledger = try store.read() } catch {
                notes.append("ignoring the reservation ledger: \(error)")
                ledger = Ledger()
            }
            return evaluate(spec, config: config, operation: operation, inFlight: ledger.inFlight(excluding: identity), notes: notes)
        }

        do {
            return try store.withLock { ledger, load in
                if case let .corrupt(aside, error) = load {
                    // Reservations in the bad file are unknown, so no decision is safe now.
                    ledger.countRefusal()
                    return .failed(message: "the reservation ledger \(store.ledgerPath) could not be used (\(error)); "
                                   + "it was moved to \(aside) and a fresh one started. Start the domain again")
                }
                let now = BootClock.now()
                let notes = expire(&ledger, now: now, config: config)
                // The pool and the ledger are one snapshot: the pool is read under the ledger's
                // lock. Read before it, a start could decide on a free count taken before another
                // start's `started begin` stopped its reservation from counting, and count those
                // pages twice as free.
                let outcome = evaluate(spec, config: config, operation: operation,
                                       inFlight: ledger.inFlight(excluding: identity), notes: notes)
                record(outcome, in: &ledger, identity: identity, operation: operation, owner: owner, now: now)
                return outcome
            }
        } catch {
            return .failed(message: "cannot use the reservation ledger: \(error)")
        }
    }

    /// Drops reservations whose start died halfway; one log line each.
    private func expire(_ ledger: inout Ledger, now: Int64, config: GuardConfig) -> [String] {
        ledger.expire(now: now, timeout: config.reservationTimeout, isAlive: { ProcessTable.isAlive($0) }).map {
            Logfmt.line([("level", LogLevel.warning.rawValue), ("event", LogEvent.reservationExpired.rawValue),
                         ("domain", $0.domain), ("op", $0.operation),
                         ("age_s", $0.age(now: now).map { String($0) } ?? "unknown")])
        }
    }

    /// Reads the pool and decides against it.
    private func evaluate(_ spec: DomainSpec, config: GuardConfig, operation: String, inFlight: [DemandItem],
                          notes: [String]) -> Outcome {
        let kernelPool: HugepagePool
        do { kernelPool = try SysfsPoolReader(environment: environment).read() } catch {
            return .failed(message: "cannot read the hugepage pool: \(error)")
        }
        // libvirt's side of the host: qemu.conf, its capabilities cache, the mounts it knows.
        let libvirt = LibvirtHostReader(environment: environment).read(pool: kernelPool, capabilities: .needed(by: spec))
        let pool = libvirt.restrict(kernelPool)
        var demand = DomainDemand(spec: spec, context: libvirt.context(basePageKiB: GuardEnvironment.basePageKiB, pool: kernelPool))
        demand.assumptions += libvirt.notes
        var notes = notes
        if !demand.unstartable.isEmpty {
            let why = "QEMU can't start it: " + demand.unstartable.joined(separator: "; ")
            switch spec.policyOverride ?? config.policy {
            case .enforce: return .failed(message: why)
            case .warn: notes.append(why)
            case .off: break
            }
        }
        let decision = Decision.evaluate(AdmissionInput(
            demand: demand, pool: pool, inFlight: inFlight, config: config,
            domainPolicy: spec.policyOverride, memfd: spec.memfdSource))
        return .decided(spec, DecisionReport(decision: decision, pool: pool, operation: operation), notes: notes)
    }

    /// An admitted start reserves its pages; a refused one is counted.
    private func record(_ outcome: Outcome, in ledger: inout Ledger, identity: DomainIdentity, operation: String,
                        owner: ProcessRef?, now: Int64) {
        guard case let .decided(_, report, _) = outcome else { return }
        let decision = report.decision
        if decision.verdict == .admit && decision.policy != .off {
            ledger.reserve(LedgerEntry(domain: identity.name, uuid: identity.uuid, state: .reserved, operation: operation,
                                       since: now, owner: owner, items: decision.demand.items))
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
