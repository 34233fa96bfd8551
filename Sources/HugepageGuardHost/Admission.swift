import HugepageGuardCore

/// The whole admission path shared by the hook and `hugepage-guard check`: XML to
/// demand, config, pool, ledger, decision.
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
    /// hook); without it nothing is written.
    public func decide(xml: String, operation: String, reserveFor owner: ProcessRef?, reserve: Bool) -> Outcome {
        let spec: DomainSpec
        do { spec = try DomainSpec(xml: xml) } catch {
            return .failed(message: "cannot read the domain XML: \(error)")
        }
        guard spec.mayUseHugepages else { return .noHugepages(spec) }

        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch {
            return .failed(message: "the config file is broken, so the guard will not guess: \(error). Fix the file and start the domain again")
        }
        let store = LedgerStore(directory: environment.stateDir(config: config))

        // The pool and the ledger are one snapshot: read the pool under the ledger's lock.
        // Read before it, a start could decide on a free count taken before another start's
        // `started begin` stopped its reservation from counting, and count those pages twice
        // as free.
        func decideNow(inFlight: [DemandItem], notes: [String]) -> Outcome {
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

        guard reserve else {
            let ledger: Ledger
            var notes: [String] = []
            do { ledger = try store.read() } catch {
                notes.append("ignoring the reservation ledger: \(error)")
                ledger = Ledger()
            }
            return decideNow(inFlight: ledger.inFlight(excluding: spec.name), notes: notes)
        }

        do {
            return try store.withLock { ledger, load in
                if case let .corrupt(aside, error) = load {
                    // Reservations in the bad file are unknown, so no decision is safe now.
                    ledger.refusals += 1
                    return .failed(message: "the reservation ledger \(store.ledgerPath) was corrupt (\(error)); it was moved to \(aside) and a fresh one started. Start the domain again")
                }
                let now = BootClock.now()
                let notes = ledger.expire(now: now, timeout: config.reservationTimeout, isAlive: { ProcessTable.isAlive($0) }).map {
                    Logfmt.line(["level": "warning", "event": "reservation-expired", "domain": $0.domain,
                                 "op": $0.operation, "age_s": String(now - $0.since)])
                }
                let outcome = decideNow(inFlight: ledger.inFlight(excluding: spec.name), notes: notes)
                guard case let .decided(spec, report, _) = outcome else { return outcome }
                let decision = report.decision
                if decision.verdict == .admit && decision.policy != .off {
                    ledger.reserve(LedgerEntry(domain: spec.name, uuid: spec.uuid, state: .reserved, operation: operation,
                                               since: now, owner: owner, items: decision.demand.items))
                } else if decision.verdict == .refuse {
                    ledger.refusals += 1
                }
                return outcome
            }
        } catch {
            return .failed(message: "cannot use the reservation ledger: \(error)")
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
