#if !hasFeature(Embedded)
import HugepageGuardCore
#endif

/// The hook's bookkeeping at `started begin` and `release end`: the ledger's side of a
/// start that was admitted, and at `release end` giving back the pages grown for it. It
/// never fails: whatever goes wrong becomes a log line, because a failing `started begin`
/// would kill the domain's QEMU.
public struct Bookkeeping: Sendable {
    public enum Step: Sendable {
        /// `started begin`: QEMU holds the pages now, so the reservation stops counting.
        case started
        /// `release end`: the domain is gone (or its start was refused); drop its entry and
        /// give back the pages grown for it.
        case release
    }

    public var environment: GuardEnvironment
    /// Where giving back grown pages writes; nil: the real sysfs under the environment's root.
    public var poolWriter: (any PoolWriter)?
    public init(environment: GuardEnvironment, poolWriter: (any PoolWriter)? = nil) {
        self.environment = environment; self.poolWriter = poolWriter
    }

    /// Records `step` for the domain libvirt ran the hook for: `hookName` is argv[1] as given,
    /// `xml` the domain XML libvirt wrote on stdin (nil if it could not be read). The entry
    /// is found by the XML's UUID where it can be read and names the same domain, else by
    /// the name.
    public func record(_ step: Step, hookName: String, xml: String?, now: Int64) -> [LogLine] {
        record(step, hookName: hookName, stdin: xml.map { .success($0) } ?? .failure(HostError(path: "the domain XML", reason: "not given")), now: now)
    }

    /// The same, with the domain XML as read from stdin, or why it couldn't be read.
    public func record(_ step: Step, hookName: String, stdin: Result<String, HostError>, now: Int64) -> [LogLine] {
        var lines: [LogLine] = []
        let operation = step == .started ? "started" : "release"
        func line(_ level: LogLevel, _ event: LogEvent, _ fields: [(String, String)]) {
            lines.append(LogLine(level, event, [("op", operation), ("domain", hookName)] + fields))
        }

        let (identity, xmlProblem) = Self.identity(hookName: hookName, xml: stdin)
        let (directory, configProblem) = stateDirectory()
        if let configProblem {
            line(.warning, .ledgerError, [("error", configProblem), ("state_dir", directory)])
        }
        var growthLines: [LogLine] = []
        do {
            let done: Bool = try LedgerStore(directory: directory).withLock { ledger, load in
                if case let .corrupt(aside, error) = load {
                    line(.error, .ledgerCorrupt, [("error", "\(error)"), ("moved_to", aside)])
                }
                switch step {
                case .started: return ledger.markStarted(identity, at: now)
                case .release:
                    guard let dropped = ledger.drop(identity) else { return false }
                    growthLines = giveBack(dropped, ledger: &ledger, directory: directory, now: now)
                    return true
                }
            }
            if done {
                var fields: [(String, String)] = identity.uuid.map { [("uuid", $0)] } ?? []
                if let xmlProblem { fields.append(("matched_by", "name: \(xmlProblem)")) }
                line(.info, step == .started ? .reservationCommitted : .reservationReleased, fields)
            }
            lines += growthLines
        } catch {
            line(.error, .ledgerError, [("error", "\(error)")])
        }
        return lines
    }

    /// Gives back the pages grown for `dropped` (all of them after a start that never ran;
    /// after a run only with `pool.shrink = on`), after retrying pages earlier shrinks held
    /// back, which may be free now. The config is read only when there is something to give
    /// back; when it can't be read, the pages are held for the agent, since without it the
    /// host reserve is unknown.
    private func giveBack(_ dropped: LedgerEntry, ledger: inout Ledger, directory: String, now: Int64) -> [LogLine] {
        guard !dropped.grown.isEmpty || ledger.entries.contains(where: { $0.isGrownHold && !$0.grown.isEmpty }) else { return [] }
        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch {
            let steps = dropped.grown.compactMap(GrowStep.init(item:))
            ledger.holdGrown(dropped, grown: steps, now: now)
            guard !steps.isEmpty else { return [] }
            var fields: [(String, String)] = [("domain", dropped.domain)]
            if let uuid = dropped.uuid { fields.append(("uuid", uuid)) }
            return [LogLine(.warning, .poolShrinkDeferred, fields + [("pages", PoolGrowth.stepsText(steps)), ("error", "\(error)")])]
        }
        let growth = PoolGrowth(environment: environment, stateDir: directory, writer: poolWriter)
        return growth.retryHeld(ledger: &ledger, config: config, now: now)
            + growth.release(dropped, ledger: &ledger, config: config, now: now)
    }

    /// The domain's identity: argv[1] as given, and the UUID of the XML if it can be read
    /// and names the same domain. The second value says why there is no UUID.
    static func identity(hookName: String, xml stdin: Result<String, HostError>) -> (DomainIdentity, String?) {
        let xml: String
        switch stdin {
        case .success(let text): xml = text
        case .failure(let error): return (DomainIdentity(name: hookName, uuid: nil), "cannot read \(error)")
        }
        let spec: DomainSpec
        do { spec = try DomainSpec(xml: xml) } catch {
            return (DomainIdentity(name: hookName, uuid: nil), "\(error)")
        }
        guard spec.name.utf8.elementsEqual(hookName.utf8) else {
            return (DomainIdentity(name: hookName, uuid: nil), "the domain XML names another domain")
        }
        guard let uuid = spec.uuid else { return (DomainIdentity(name: hookName, uuid: nil), "the domain XML has no <uuid>") }
        return (DomainIdentity(name: hookName, uuid: uuid), nil)
    }

    /// The state directory. The config is read only when the environment doesn't name the
    /// directory, and then only for its `state_dir`; a config that can't say means the
    /// default directory, and the second value says why.
    func stateDirectory() -> (String, String?) {
        if let dir = environment.stateDirOverride { return (dir, nil) }
        let (dir, problem) = ConfigFile.stateDir(path: environment.configPath)
        return (dir, problem.map { "\($0); using the default state_dir" })
    }
}
