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
        /// The guard could not decide. `input` says whether the fault was in what it was
        /// given (the XML) or in the host (config, pool, ledger).
        case failed(domain: String?, message: String, input: Bool)
    }

    /// Decides for `xml`. With `reserveAs`, the reservation is taken in the ledger under
    /// its lock, for that hook operation and libvirtd; without it nothing is written.
    public func decide(xml: String, operation: String, reserveFor owner: ProcessRef?, reserve: Bool) -> Outcome {
        let spec: DomainSpec
        do { spec = try DomainSpec(xml: xml) } catch {
            return .failed(domain: nil, message: "cannot read the domain XML: \(error)", input: true)
        }
        guard spec.mayUseHugepages else { return .noHugepages(spec) }

        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch {
            return .failed(domain: spec.name, message: "the config file is broken, so the guard will not guess: \(error). Fix the file and start the domain again", input: false)
        }
        let pool: HugepagePool
        do { pool = try SysfsPoolReader(environment: environment).read() } catch {
            return .failed(domain: spec.name, message: "cannot read the hugepage pool: \(error)", input: false)
        }
        let demand = DomainDemand(spec: spec, context: pool.context(basePageKiB: GuardEnvironment.basePageKiB))
        func input(_ inFlight: [DemandItem]) -> AdmissionInput {
            AdmissionInput(demand: demand, pool: pool, inFlight: inFlight, config: config,
                           domainPolicy: spec.policyOverride, memfd: spec.memfdSource)
        }
        func report(_ d: Decision) -> DecisionReport {
            DecisionReport(decision: d, pool: pool, operation: operation)
        }
        let store = LedgerStore(directory: environment.stateDir(config: config))

        guard reserve else {
            var notes: [String] = []
            let ledger: Ledger
            do { ledger = try store.read() } catch {
                notes.append("ignoring the reservation ledger: \(error)")
                ledger = Ledger()
            }
            return .decided(spec, report(Decision.evaluate(input(ledger.inFlight(excluding: spec.name)))), notes: notes)
        }

        do {
            return try store.withLock { ledger, load in
                var notes: [String] = []
                if case let .corrupt(aside, error) = load {
                    // Reservations in the bad file are unknown, so no decision is safe now.
                    ledger.refusals += 1
                    return .failed(domain: spec.name, message: "the reservation ledger \(store.ledgerPath) was corrupt (\(error)); it was moved to \(aside) and a fresh one started. Start the domain again", input: false)
                }
                let now = BootClock.now()
                for gone in ledger.expire(now: now, timeout: config.reservationTimeout, isAlive: { ProcessTable.isAlive($0) }) {
                    notes.append(Logfmt.line(["level": "warning", "event": "reservation-expired", "domain": gone.domain,
                                              "op": gone.operation, "age_s": String(now - gone.since)]))
                }
                let decision = Decision.evaluate(input(ledger.inFlight(excluding: spec.name)))
                if decision.verdict == .admit && decision.policy != .off {
                    ledger.reserve(LedgerEntry(domain: spec.name, uuid: spec.uuid, state: .reserved, operation: operation,
                                               since: now, owner: owner, items: demand.items))
                } else if decision.verdict == .refuse {
                    ledger.refusals += 1
                }
                return .decided(spec, report(decision), notes: notes)
            }
        } catch {
            return .failed(domain: spec.name, message: "cannot use the reservation ledger: \(error)", input: false)
        }
    }
}

extension DomainSpec {
    /// Whether any backend could be hugepage-backed; false means zero demand, decided
    /// without looking at the host.
    public var mayUseHugepages: Bool {
        hugepages != nil || memoryDevices.contains { $0.pageSizeKiB != nil }
    }
}
