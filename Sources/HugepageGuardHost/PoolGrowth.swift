#if !hasFeature(Embedded)
import HugepageGuardCore
#endif

/// Growth's counters for the agent's metrics, in `<state_dir>/growth`: one logfmt line
/// `ok=N rollback=N floor=N cap=N shrink_pages=N`. Written only under the ledger's lock.
public struct GrowthCounters: Equatable, Sendable {
    public var results: [String: UInt64] = [:]
    public var shrinkPages: UInt64 = 0
    public static let resultNames = ["ok", "rollback", "floor", "cap"]
    public init() {}

    public static func path(directory: String) -> String { directory + "/growth" }

    public static func parse(_ text: String) -> GrowthCounters {
        var c = GrowthCounters()
        let line = text.split(separator: "\n").first { !$0.hasPrefix("#") } ?? ""
        for (k, v) in Logfmt.parse(line) ?? [] {
            guard let n = UInt64(v) else { continue }
            if k == "shrink_pages" { c.shrinkPages = n } else if resultNames.contains(k) { c.results[k] = n }
        }
        return c
    }

    public var text: String {
        Self.resultNames.map { "\($0)=\(results[$0] ?? 0)" }.joined(separator: " ") + " shrink_pages=\(shrinkPages)\n"
    }

    public static func read(directory: String) -> GrowthCounters {
        guard let t = (try? FileSystem.readText(path(directory: directory))) ?? nil else { return GrowthCounters() }
        return parse(t)
    }

    /// Adds to the file; call only with the ledger locked. Failures are ignored: the
    /// counters are for metrics, never for a decision.
    public static func bump(directory: String, result: String? = nil, shrunk: UInt64 = 0) {
        var c = read(directory: directory)
        if let result { c.results[result, default: 0] &+= 1 }
        c.shrinkPages &+= shrunk
        try? FileSystem.writeAtomically(c.text, to: path(directory: directory), mode: 0o644)
    }
}

/// Growth at a start, and giving pages back at its end.
public struct PoolGrowth: Sendable {
    public var environment: GuardEnvironment
    public var writer: any PoolWriter
    public var stateDir: String

    public init(environment: GuardEnvironment, stateDir: String, writer: (any PoolWriter)? = nil) {
        self.environment = environment; self.stateDir = stateDir
        self.writer = writer ?? SysfsPoolWriter(environment: environment)
    }

    /// For a start that doesn't fit (refused, or admitted under `warn`), under the ledger's lock: plans the growth, grows, and decides
    /// again through `redecide` (which reads the pool anew). Returns the report to act on,
    /// the steps grown (empty unless admitted) and the log lines.
    public func grow(report: DecisionReport, config: GuardConfig,
                     redecide: () -> DecisionReport?) -> (report: DecisionReport, grown: [GrowStep], lines: [LogLine]) {
        var report = report
        let memory: HostMemory
        do { memory = try HostMemoryReader(environment: environment).read() } catch {
            return (report, [], [line(.poolGrowRefused, .warning, report, [("error", "\(error)")])])
        }
        switch GrowthPlanner.plan(decision: report.decision, pool: report.pool, memory: memory, config: config.growth) {
        case .notApplicable:
            return (report, [], [])
        case .refused(let r):
            report.growth = .refused(r)
            GrowthCounters.bump(directory: stateDir, result: report.growth!.metricResult)
            return (report, [], [line(.poolGrowRefused, .warning, report,
                                      [("limit", r.limit.rawValue), ("page_size_kb", "\(r.pageSizeKiB)"),
                                       ("node", r.node.map(String.init) ?? "any"), ("asked", "\(r.asked)"), ("allowed", "\(r.allowed)")])])
        case .grow(let first):
            let grower = PoolGrower(writer: writer, basePageKiB: GuardEnvironment.basePageKiB)
            var grown: [GrowStep] = []
            var steps = first
            var current = report
            // At most two rounds: the second covers a shortfall that only shows once the first
            // round's pages are placed (parts confined to overlapping nodes). Never more.
            for round in 0..<2 {
                switch grower.grow(steps) {
                case let .rolledBack(asked, got, unrestored):
                    let back = grower.giveBack(grown)
                    current.growth = .rolledBack(asked: asked, got: got, unrestored: unrestored + back.left)
                    GrowthCounters.bump(directory: stateDir, result: "rollback")
                    return (current, [], [line(.poolGrowRollback, .warning, current,
                                               [("asked", Self.stepsText(asked)), ("got", Self.stepsText(got)),
                                                ("restored", (unrestored + back.left).isEmpty ? "all" : "not:" + Self.stepsText(unrestored + back.left))])])
                case .granted:
                    grown = GrowthPlanner.merge(grown + steps)
                }
                guard var after = redecide() else { break }
                if after.decision.fits {
                    after.growth = .grown(grown)
                    GrowthCounters.bump(directory: stateDir, result: "ok")
                    return (after, grown, [line(.poolGrown, .info, after, [("grown", Self.stepsText(grown))])])
                }
                current = after
                guard round == 0, let memory = try? HostMemoryReader(environment: environment).read(),
                      case .grow(let more) = GrowthPlanner.plan(decision: after.decision, pool: after.pool, memory: memory, config: config.growth)
                else { break }
                steps = more
            }
            let back = grower.giveBack(grown)
            current.growth = .stillShort(asked: grown, unrestored: back.left)
            GrowthCounters.bump(directory: stateDir, result: "rollback")
            return (current, [], [line(.poolGrowRollback, .warning, current,
                                       [("asked", Self.stepsText(grown)), ("reason", "still_short"),
                                        ("restored", back.left.isEmpty ? "all" : "not:" + Self.stepsText(back.left))])])
        }
    }

    /// `2048@any:32;1048576@0:1`.
    static func stepsText(_ steps: [GrowStep]) -> String {
        steps.isEmpty ? "-" : steps.map { "\($0.pageSizeKiB)@\($0.node.map(String.init) ?? "any"):\($0.pages)" }.joined(separator: ";")
    }

    private func line(_ event: LogEvent, _ level: LogLevel, _ report: DecisionReport, _ extra: [(String, String)]) -> LogLine {
        var f: [(String, String)] = [("op", report.operation), ("domain", report.decision.demand.domain)]
        if let uuid = report.decision.demand.uuid { f.append(("uuid", uuid)) }
        return LogLine(level, event, f + extra)
    }

    /// For `hugepage-guard check`: what growth would do for a start that doesn't fit, from
    /// the plan alone (the floor, the caps, the pool as it stands). Nothing is written and no
    /// counter moves; whether the kernel would give the pages is not known until it is asked.
    public func preview(report: DecisionReport, config: GuardConfig) -> DecisionReport {
        var report = report
        let memory: HostMemory
        do { memory = try HostMemoryReader(environment: environment).read() } catch {
            report.growth = .unknown(reason: "\(error)")
            return report
        }
        switch GrowthPlanner.plan(decision: report.decision, pool: report.pool, memory: memory, config: config.growth) {
        case .notApplicable: break
        case .refused(let r): report.growth = .refused(r)
        case .grow(let steps): report.growth = .wouldGrow(steps)
        }
        return report
    }

    /// Gives back `entry`'s grown pages when it leaves the ledger (its `release end`, or the
    /// agent finding it gone): all of them after a start that never ran (`reserved`), and
    /// after a run only with `pool.shrink = on`. Never below what running VMs, in-flight
    /// reservations and the host reserve hold: only free pages beyond those go back. What
    /// can't go back now stays in the ledger (op=shrink) for the agent to retry.
    public func release(_ entry: LedgerEntry, ledger: inout Ledger, config: GuardConfig, now: Int64) -> [LogLine] {
        guard !entry.grown.isEmpty else { return [] }
        let steps = GrowthPlanner.merge(entry.grown.compactMap(GrowStep.init(item:)))
        func fields(_ event: LogEvent, _ level: LogLevel, _ extra: [(String, String)]) -> LogLine {
            var f: [(String, String)] = [("domain", entry.domain)]
            if let uuid = entry.uuid { f.append(("uuid", uuid)) }
            return LogLine(level, event, f + extra)
        }
        if entry.state == .started && !entry.isGrownHold && !config.growth.shrink {
            return [fields(.poolGrownKept, .info, [("pages", Self.stepsText(steps)), ("reason", "pool.shrink=off")])]
        }
        let pool: HugepagePool
        do { pool = try SysfsPoolReader(environment: environment).read() } catch {
            ledger.holdGrown(entry, grown: steps, now: now)
            return [fields(.poolShrinkDeferred, .warning, [("pages", Self.stepsText(steps)), ("error", "\(error)")])]
        }
        let bounded = Self.safeShrink(steps, pool: pool, inFlight: ledger.inFlight(excluding: nil as DomainIdentity?), config: config)
        let back = PoolGrower(writer: writer, basePageKiB: GuardEnvironment.basePageKiB).giveBack(bounded.filter { $0.pages > 0 })
        var left: [GrowStep] = []
        for s in steps {
            let given = back.given.filter { $0.pageSizeKiB == s.pageSizeKiB && $0.node == s.node }.reduce(UInt64(0)) { $0.addingSaturated($1.pages) }
            if given < s.pages { left.append(GrowStep(pageSizeKiB: s.pageSizeKiB, node: s.node, pages: s.pages - given)) }
        }
        var out: [LogLine] = []
        let shrunk = back.given.reduce(UInt64(0)) { $0.addingSaturated($1.pages) }
        if shrunk > 0 { GrowthCounters.bump(directory: stateDir, shrunk: shrunk) }
        if !back.given.isEmpty { out.append(fields(.poolShrunk, .info, [("pages", Self.stepsText(back.given))])) }
        if !left.isEmpty {
            ledger.holdGrown(entry, grown: left, now: now)
            out.append(fields(.poolShrinkDeferred, .warning, [("pages", Self.stepsText(left)),
                                                               ("reason", "pages in use, reserved by other starts or held for the host reserve")]))
        }
        return out
    }

    /// Gives back what `entries` (taken out of `ledger`) grew, as `release` does; a pages
    /// already held back (`op=shrink`) that still can't go back is not logged again.
    public func settle(_ entries: [LedgerEntry], ledger: inout Ledger, config: GuardConfig, now: Int64) -> [LogLine] {
        var out: [LogLine] = []
        for e in entries where !e.grown.isEmpty {
            let lines = release(e, ledger: &ledger, config: config, now: now)
            let unchanged = e.isGrownHold
                && ledger.entries.contains { $0.isGrownHold && $0.identity.isSame(as: e.identity) && $0.grown == e.grown }
            out += unchanged ? lines.filter { $0.event != .poolShrinkDeferred } : lines
        }
        return out
    }

    /// Retries the pages held back by earlier shrinks (the hook does this at each
    /// `release end`, when pages may have come free).
    public func retryHeld(ledger: inout Ledger, config: GuardConfig, now: Int64) -> [LogLine] {
        let held = ledger.entries.filter { $0.isGrownHold && !$0.grown.isEmpty }
        guard !held.isEmpty else { return [] }
        ledger.entries.removeAll { $0.isGrownHold && !$0.grown.isEmpty }
        return settle(held, ledger: &ledger, config: config, now: now)
    }

    /// Each step cut to the free pages no one else counts on: free - resv - in-flight
    /// reservations - host reserve, for the size, and on the node for node steps.
    public static func safeShrink(_ steps: [GrowStep], pool: HugepagePool, inFlight: [DemandItem], config: GuardConfig) -> [GrowStep] {
        var sizeRoom: [UInt64: UInt64] = [:]
        var nodeRoom: [String: UInt64] = [:]
        var out: [GrowStep] = []
        for s in steps {
            guard let p = pool.sizes[s.pageSizeKiB] else { out.append(GrowStep(pageSizeKiB: s.pageSizeKiB, node: s.node, pages: 0)); continue }
            if sizeRoom[s.pageSizeKiB] == nil {
                let flying = inFlight.filter { $0.pageSizeKiB == s.pageSizeKiB }.reduce(UInt64(0)) { $0.addingSaturated($1.pages) }
                let reserve = config.reserves.filter { $0.pageSizeKiB == s.pageSizeKiB }.reduce(UInt64(0)) { $0.addingSaturated($1.pages) }
                let held = flying.addingSaturated(reserve)
                sizeRoom[s.pageSizeKiB] = p.available > held ? p.available - held : 0
            }
            var room = sizeRoom[s.pageSizeKiB]!
            if let node = s.node {
                let key = "\(s.pageSizeKiB)/\(node)"
                if nodeRoom[key] == nil {
                    let free = p.nodes[node]?.free ?? 0
                    let flying = inFlight.filter { $0.pageSizeKiB == s.pageSizeKiB && $0.hostNodes.map { Set($0.ids).isSubset(of: [node]) } == true }
                        .reduce(UInt64(0)) { $0.addingSaturated($1.pages) }
                    let held = flying.addingSaturated(config.reserve(pageSizeKiB: s.pageSizeKiB, node: node))
                    nodeRoom[key] = free > held ? free - held : 0
                }
                room = min(room, nodeRoom[key]!)
            }
            let n = min(room, s.pages)
            sizeRoom[s.pageSizeKiB]! -= n
            if let node = s.node { nodeRoom["\(s.pageSizeKiB)/\(node)"]! -= n }
            out.append(GrowStep(pageSizeKiB: s.pageSizeKiB, node: s.node, pages: n))
        }
        return out
    }
}

extension Ledger {
    /// Keeps grown pages of a domain that left the ledger, for the agent to give back: an
    /// entry with no demand (`op=shrink`), which in-flight counting ignores.
    /// A hold already kept for the same domain is merged into it, so no grown page is lost.
    public mutating func holdGrown(_ entry: LedgerEntry, grown: [GrowStep], now: Int64) {
        guard !grown.isEmpty else { return }
        let id = entry.identity
        let earlier = entries.filter { $0.isGrownHold && $0.identity.isSame(as: id) }
            .flatMap { $0.grown.compactMap(GrowStep.init(item:)) }
        var hold = LedgerEntry(domain: entry.domain, uuid: entry.uuid, state: .started, operation: LedgerEntry.grownHoldOperation,
                               since: now, owner: nil, items: [])
        hold.grown = GrowthPlanner.merge(earlier + grown).map { $0.item }
        entries.removeAll { $0.isGrownHold && $0.identity.isSame(as: id) }
        entries.append(hold)
    }
}
