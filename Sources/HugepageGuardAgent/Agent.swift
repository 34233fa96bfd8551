import Dispatch
import Glibc
import HugepageGuardCore
import HugepageGuardHost
import HugepageGuardLibvirt
import Logging

public struct AgentOptions: Sendable {
    public var uri: String
    public var config: GuardConfig
    public var environment: GuardEnvironment
    /// Seconds between timed reconciliations.
    public var reconcileInterval: Double
    /// The Prometheus textfile; written only when its directory exists.
    public var metricsPath: String
    public init(uri: String, config: GuardConfig, environment: GuardEnvironment) {
        self.uri = uri; self.config = config; self.environment = environment
        self.reconcileInterval = Double(config.reconcileInterval)
        self.metricsPath = config.metricsPath
    }
}

/// The agent: watches libvirt's events over a read-only connection, logs one line per
/// event, reconciles the hugepage pool against running domains, keeps the ledger honest
/// and exports metrics. One `run()`; every input (events, connection loss, timer, retry,
/// SIGTERM) goes through one stream and is handled in order on one task.
public final class Agent: @unchecked Sendable {
    enum Input: Sendable {
        case event(DomainEvent, generation: Int)
        case closed(CloseReason, generation: Int)
        case tick
        case retry(generation: Int)
        case terminate(signal: Int32)
        /// Queued behind the events already waiting, so a burst is logged first and
        /// reconciled once.
        case reconcileAfterEvents
    }

    struct Session {
        var connection: Connection
        var subscription: DomainEventSubscription
        var generation: Int
    }

    let options: AgentOptions
    let logger: Logger
    private var session: Session?
    private var generation = 0
    private var backoff = 0.5
    private var failedAttempts = 0
    private var conditions: [String: Finding] = [:]
    private var counters = ReconcileCounters()
    /// Last known demand per UUID, to describe a domain after it stopped.
    private var lastDemand: [String: [DemandItem]] = [:]
    private var continuation: AsyncStream<Input>.Continuation?
    private var reconcileQueued = false

    public init(options: AgentOptions, logger: Logger) {
        self.options = options; self.logger = logger
    }

    public func run() async throws {
        let loop = try EventLoop.startDefault()
        let (inputs, cont) = AsyncStream.makeStream(of: Input.self)
        continuation = cont
        let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { cont.yield(.terminate(signal: sig)) }
            s.resume()
            return s
        }
        let interval = options.reconcileInterval
        let timer = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                cont.yield(.tick)
            }
        }
        defer { timer.cancel(); signals.forEach { $0.cancel() }; loop.stop() }

        logger.fields(.info, [("event", "agent_starting"), ("uri", options.uri), ("reconcile_interval_s", "\(Int(interval))"),
                              ("metrics_path", options.metricsPath)], "hugepage-guard agent starting")
        if connect() { reconcile(trigger: "start") } else { scheduleRetry() }
        ServiceNotify.send("READY=1")

        for await input in inputs {
            switch input {
            case let .event(e, gen) where gen == generation && session != nil:
                handle(e)
                if !reconcileQueued {
                    reconcileQueued = true
                    continuation?.yield(.reconcileAfterEvents)
                }
            case .reconcileAfterEvents:
                reconcileQueued = false
                reconcile(trigger: "event")
            case .event:
                break   // from a connection we already dropped
            case let .closed(reason, gen) where gen == generation && session != nil:
                logger.fields(.warning, [("event", "libvirt_disconnected"), ("uri", options.uri), ("reason", reason.description)],
                              "lost the connection to libvirtd; reconnecting with backoff (events meanwhile are lost, a resync follows)")
                teardown()
                scheduleRetry()
            case .closed:
                break
            case .tick:
                if let s = session, !s.connection.isAlive {
                    logger.fields(.warning, [("event", "libvirt_disconnected"), ("uri", options.uri), ("reason", "not_alive")],
                                  "lost the connection to libvirtd; reconnecting with backoff")
                    teardown()
                    scheduleRetry()
                } else if session != nil {
                    reconcile(trigger: "timer")
                }
            case let .retry(gen) where gen == generation && session == nil:
                if connect() {
                    reconcile(trigger: "reconnect")
                } else {
                    scheduleRetry()
                }
            case .retry:
                break
            case let .terminate(sig):
                logger.fields(.info, [("event", "agent_stopping"), ("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")],
                              "deregistering callbacks and closing the connection")
                ServiceNotify.send("STOPPING=1")
                teardown()
                cont.finish()
            }
        }
    }

    /// Opens the read-only connection in libvirt's canonical order: close callback,
    /// event callbacks, keepalive. Returns false (and logs) when libvirtd isn't there.
    private func connect() -> Bool {
        generation += 1
        let gen = generation
        guard let cont = continuation else { return false }
        do {
            let conn = try Connection.openReadOnly(options.uri)
            do {
                try conn.onClose { cont.yield(.closed($0, generation: gen)) }
                let sub = try DomainEventSubscription.register(on: conn) { cont.yield(.event($0, generation: gen)) }
                try conn.setKeepAlive(interval: 5, count: 3)
                session = Session(connection: conn, subscription: sub, generation: gen)
            } catch {
                conn.close()
                throw error
            }
            logger.fields(.info, [("event", "libvirt_connected"), ("uri", options.uri), ("attempts", "\(failedAttempts + 1)")],
                          "watching lifecycle, device-added, device-removed and memory-device-size-change events")
            failedAttempts = 0
            backoff = 0.5
            return true
        } catch {
            failedAttempts += 1
            if failedAttempts == 1 || failedAttempts % 10 == 0 {
                logger.fields(.warning, [("event", "libvirt_connect_failed"), ("uri", options.uri), ("attempt", "\(failedAttempts)"),
                                         ("error", "\(error)"), ("retry_in_s", oneDecimal(backoff))],
                              "cannot reach libvirtd; will keep retrying")
            }
            return false
        }
    }

    private func scheduleRetry() {
        let delay = backoff
        backoff = min(backoff * 2, 30)
        let gen = generation
        let cont = continuation
        Task.detached {
            try? await Task.sleep(for: .seconds(delay))
            cont?.yield(.retry(generation: gen))
        }
    }

    /// Deregisters the callbacks and closes the connection; on a dead connection libvirt
    /// has already dropped the callbacks, and the calls just fail quietly.
    private func teardown() {
        guard let s = session else { return }
        session = nil
        s.subscription.deregister()
        s.connection.close()
        generation += 1
    }

    /// Logs one line for the event.
    private func handle(_ e: DomainEvent) {
        guard let s = session else { return }
        var demand: [DemandItem]?
        let pool = try? SysfsPoolReader(environment: options.environment).read()
        let context = (pool ?? HugepagePool(sizes: [:])).context(basePageKiB: GuardEnvironment.basePageKiB)
        let stopped: Bool
        if case let .lifecycle(event, _) = e.kind {
            stopped = [LifecycleEvent.stopped, .undefined, .crashed].contains(LifecycleEvent(rawValue: event))
        } else {
            stopped = false
        }
        if stopped {
            demand = lastDemand[e.domain.uuid]
        } else if let dom = try? s.connection.domain(uuid: e.domain.uuid), (try? dom.isActive()) == true,
                  let xml = try? dom.xml(), let d = try? HostScan.domain(dom, xml: xml, context: context) {
            demand = d.demand.items
            lastDemand[e.domain.uuid] = d.demand.items
        } else {
            demand = lastDemand[e.domain.uuid]
        }
        let latencyMs = Double((ContinuousClock.now - e.received).components.attoseconds) / 1e15
            + Double((ContinuousClock.now - e.received).components.seconds) * 1000
        var fields = LogLines.event(e, demand: demand, pool: pool)
        fields.append(("latency_ms", oneDecimal(latencyMs)))
        logger.fields(.info, fields)
    }

    /// Expected against actual; repairs the ledger; logs what changed; writes metrics.
    private func reconcile(trigger: String) {
        guard let s = session else { return }
        counters.runs += 1
        let started = ContinuousClock.now
        do {
            let env = options.environment
            let pool = try SysfsPoolReader(environment: env).read()
            let context = pool.context(basePageKiB: GuardEnvironment.basePageKiB)
            let listedAt = BootClock.now()
            let running = try HostScan.runningDomains(s.connection, context: context) { name, error in
                self.logger.fields(.warning, [("event", "unparsable_domain_xml"), ("domain", name), ("error", error)],
                                   "cannot read this VM's hugepage demand; counting it as zero")
            }
            for d in running { lastDemand[d.uuid] = d.demand.items }
            let files = HostScan.libvirtHugetlbfsFiles(mounts: pool.mounts, environment: env)
            let store = LedgerStore(directory: env.stateDir(config: options.config))
            let config = options.config
            let now = BootClock.now()
            var growthLines: [GrowthLogLine] = []
            let (report, load) = try store.withLock { ledger, load -> (ReconcileReport, LedgerLoad) in
                var r = Reconciler.reconcile(pool: pool, running: running, ledger: ledger, files: files, config: config, now: now,
                                             listedAt: listedAt, isAlive: { ProcessTable.isAlive($0) })
                // Pages grown for domains that left the ledger: given back (or kept) as at their release.
                growthLines = GrowthKeeper.settle(before: ledger, after: &r.ledger, growth: PoolGrowth(environment: env, stateDir: store.directory),
                                                  config: config, now: now)
                ledger = r.ledger
                return (r, load)
            }
            for line in growthLines { logger.growth(line) }
            if case let .corrupt(aside, error) = load {
                logger.fields(.warning, [("event", "ledger_corrupt"), ("moved_to", aside), ("error", "\(error)")],
                              "the ledger was unreadable; moved it aside and rebuilt it from the running VMs")
            }
            log(report, trigger: trigger, took: ContinuousClock.now - started)
            counters.lastSuccessUnix = Int64(time(nil))
            let took = ContinuousClock.now - started
            counters.lastDurationSeconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
            writeMetrics(report: report, refusals: report.ledger.refusals)
        } catch {
            counters.errors += 1
            logger.fields(.error, [("event", "reconcile_failed"), ("trigger", trigger), ("error", "\(error)")],
                          "reconciliation failed; will retry on the next event or timer")
            writeMetrics(report: nil, refusals: (try? LedgerStore(directory: options.environment.stateDir(config: options.config)).read().refusals) ?? 0)
        }
    }

    private func log(_ report: ReconcileReport, trigger: String, took: Duration) {
        var current: [String: Finding] = [:]
        for f in report.findings {
            if f.isCondition {
                current[f.conditionKey] = f
                if conditions[f.conditionKey] != nil { continue }   // already reported
            }
            let (warn, fields, message) = LogLines.finding(f)
            logger.fields(warn ? .warning : .info, fields, Logger.Message(stringLiteral: message))
        }
        for (key, f) in conditions where current[key] == nil {
            logger.fields(.info, LogLines.cleared(f), "condition cleared")
        }
        conditions = current
        if trigger == "start" || trigger == "reconnect" {
            var fields: [(String, String)] = [("event", "reconciled"), ("trigger", trigger),
                                              ("hugepage_domains", "\(report.hugepageDomains.count)")]
            let ms = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
            for r in report.rows where r.node == nil && (r.total > 0 || r.committed > 0) {
                fields += [("committed_\(r.pageSizeKiB)kB", "\(r.committed)"), ("in_use_\(r.pageSizeKiB)kB", "\(r.inUse)"),
                           ("free_\(r.pageSizeKiB)kB", "\(r.free)/\(r.total)")]
            }
            fields.append(("duration_ms", oneDecimal(ms)))
            logger.fields(.info, fields, trigger == "start" ? "initial resync done" : "resynced after reconnect")
        }
    }

    private func writeMetrics(report: ReconcileReport?, refusals: UInt64) {
        let path = options.metricsPath
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var st = stat()
        guard stat(dir.isEmpty ? "/" : dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        let text = PrometheusText.render(report: report, refusals: refusals, counters: counters)
            + GrowthMetrics.render(ledger: report?.ledger,
                                   counters: GrowthCounters.read(directory: options.environment.stateDir(config: options.config)))
        do { try FileSystem.writeAtomically(text, to: path) } catch {
            logger.fields(.warning, [("event", "metrics_write_failed"), ("path", path), ("error", "\(error)")])
        }
    }
}

/// `12.3`: one decimal, without Foundation's `String(format:)`.
func oneDecimal(_ x: Double) -> String {
    let tenths = Int64((abs(x) * 10).rounded())
    return (x < 0 && tenths > 0 ? "-" : "") + "\(tenths / 10).\(tenths % 10)"
}
