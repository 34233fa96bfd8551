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
/// SIGTERM) goes through one stream and is handled in order on one task; the timer and the
/// reconnect delays are child tasks of `run()`.
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

    /// What handling one input asks of the run loop.
    enum Next {
        case proceed
        /// Reconnect after `delay`, if the connection generation is still `generation`.
        case retry(after: Duration, generation: Int)
        case stop
    }

    struct Session {
        var connection: Connection
        var subscription: DomainEventSubscription
    }

    let options: AgentOptions
    let logger: Logger
    private let metrics: MetricsWriter
    private var session: Session?
    private var generation = 0
    private var backoff = Duration.milliseconds(500)
    private var failedAttempts = 0
    private var conditions: [String: Finding] = [:]
    private var counters = ReconcileCounters()
    /// Last known demand per UUID, to describe a domain after it stopped.
    private var lastDemand: [String: [DemandItem]] = [:]
    private var continuation: AsyncStream<Input>.Continuation?
    private var reconcileQueued = false

    public init(options: AgentOptions, logger: Logger) {
        self.options = options; self.logger = logger
        self.metrics = MetricsWriter(path: options.metricsPath)
    }

    public func run() async throws {
        // Registers libvirt's event loop, and with it the process-wide setup (SIGPIPE
        // ignored, libvirt's error printer silenced), before any connection is opened.
        let loop = try EventLoop.startDefault()
        defer { loop.stop() }
        let (inputs, cont) = AsyncStream.makeStream(of: Input.self)
        continuation = cont
        let signals = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { cont.yield(.terminate(signal: sig)) }
            s.resume()
            return s
        }
        defer { signals.forEach { $0.cancel() } }

        let interval = Duration.seconds(options.reconcileInterval)
        logger.log(AgentLogLine(.info, .agentStarting, [("uri", options.uri), ("reconcile_interval_s", "\(Int(options.reconcileInterval))"),
                                                         ("metrics_path", options.metricsPath)], message: "hugepage-guard agent starting"))
        // A discarding group: finished retry delays are dropped, not kept until awaited.
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    cont.yield(.tick)
                }
            }
            var next = Next.proceed
            if connect() { reconcile(trigger: "start") } else { next = nextRetry() }
            ServiceNotify.send("READY=1")
            var iterator = inputs.makeAsyncIterator()
            while true {
                if case let .retry(delay, gen) = next {
                    group.addTask {
                        try? await Task.sleep(for: delay)
                        if !Task.isCancelled { cont.yield(.retry(generation: gen)) }
                    }
                }
                if case .stop = next { break }
                guard let input = await iterator.next() else { break }
                next = handle(input)
            }
            cont.finish()
            group.cancelAll()
        }
    }

    /// One input, in arrival order.
    private func handle(_ input: Input) -> Next {
        switch input {
        case let .event(e, gen) where gen == generation && session != nil:
            log(e)
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
            logger.log(AgentLogLine(.warning, .libvirtDisconnected, [("uri", options.uri), ("reason", reason.description)],
                                    message: "lost the connection to libvirtd; reconnecting with backoff (events meanwhile are lost, a resync follows)"))
            teardown()
            return nextRetry()
        case .closed:
            break
        case .tick:
            if let s = session, !s.connection.isAlive {
                logger.log(AgentLogLine(.warning, .libvirtDisconnected, [("uri", options.uri), ("reason", "not_alive")],
                                        message: "lost the connection to libvirtd; reconnecting with backoff"))
                teardown()
                return nextRetry()
            } else if session != nil {
                reconcile(trigger: "timer")
            }
        case let .retry(gen) where gen == generation && session == nil:
            guard connect() else { return nextRetry() }
            reconcile(trigger: "reconnect")
        case .retry:
            break
        case let .terminate(sig):
            logger.log(AgentLogLine(.info, .agentStopping, [("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")],
                                    message: "deregistering callbacks and closing the connection"))
            ServiceNotify.send("STOPPING=1")
            teardown()
            return .stop
        }
        return .proceed
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
                session = Session(connection: conn, subscription: sub)
            } catch {
                conn.close()
                throw error
            }
            logger.log(AgentLogLine(.info, .libvirtConnected, [("uri", options.uri), ("attempts", "\(failedAttempts + 1)")],
                                    message: "watching lifecycle, device-added, device-removed and memory-device-size-change events"))
            failedAttempts = 0
            backoff = .milliseconds(500)
            return true
        } catch {
            failedAttempts += 1
            if failedAttempts == 1 || failedAttempts % 10 == 0 {
                logger.log(AgentLogLine(.warning, .libvirtConnectFailed, [("uri", options.uri), ("attempt", "\(failedAttempts)"),
                                                                          ("error", "\(error)"), ("retry_in_s", oneDecimal(backoff.seconds))],
                                        message: "cannot reach libvirtd; will keep retrying"))
            }
            return false
        }
    }

    /// The next reconnect attempt, with exponential backoff up to 30 s.
    private func nextRetry() -> Next {
        let delay = backoff
        backoff = min(backoff * 2, .seconds(30))
        return .retry(after: delay, generation: generation)
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
    private func log(_ e: DomainEvent) {
        guard let s = session else { return }
        var demand: [DemandItem]?
        let pool = try? SysfsPoolReader(environment: options.environment).read()
        let context = LibvirtHostReader(environment: options.environment, digestDirectory: options.environment.stateDir(config: options.config))
            .context(pool: pool ?? HugepagePool(sizes: [:]))
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
        var line = LogLines.event(e, demand: demand, pool: pool)
        line.fields.append(("latency_ms", oneDecimal((ContinuousClock.now - e.received).seconds * 1000)))
        logger.log(line)
    }

    /// Expected against actual; repairs the ledger; logs what changed; writes metrics.
    private func reconcile(trigger: String) {
        guard let s = session else { return }
        counters.runs += 1
        let started = ContinuousClock.now
        let store = LedgerStore(directory: options.environment.stateDir(config: options.config))
        do {
            let state = try HostScan.scan(s.connection, environment: options.environment, digestDirectory: store.directory) { name, error in
                self.logger.log(AgentLogLine(.warning, .unparsableDomainXML, [("domain", name), ("error", error)],
                                             message: "cannot read this VM's hugepage demand; counting it as zero"))
            }
            for d in state.running { lastDemand[d.uuid] = d.demand.items }
            let config = options.config
            let now = BootClock.now()
            var growthLines: [LogLine] = []
            let (report, load) = try store.withLock { ledger, load -> (ReconcileReport, LedgerLoad) in
                var r = Reconciler.reconcile(state, ledger: ledger, config: config, now: now, isAlive: { ProcessTable.isAlive($0) })
                // Pages grown for domains that left the ledger: given back (or kept) as at their release.
                growthLines = GrowthKeeper.settle(before: ledger, after: &r.ledger,
                                                  growth: PoolGrowth(environment: options.environment, stateDir: store.directory),
                                                  config: config, now: now)
                ledger = r.ledger
                return (r, load)
            }
            for line in growthLines { logger.log(AgentLogLine(growth: line)) }
            if case let .corrupt(aside, error) = load {
                logger.log(AgentLogLine(.warning, .ledgerCorrupt, [("moved_to", aside), ("error", "\(error)")],
                                        message: "the ledger was unreadable; moved it aside and rebuilt it from the running VMs"))
            }
            let took = ContinuousClock.now - started
            log(report, trigger: trigger, took: took)
            counters.lastSuccessUnix = Int64(time(nil))
            counters.lastDurationSeconds = took.seconds
            writeMetrics(report: report, refusals: report.ledger.refusals)
        } catch {
            counters.errors += 1
            logger.log(AgentLogLine(.error, .reconcileFailed, [("trigger", trigger), ("error", "\(error)")],
                                    message: "reconciliation failed; will retry on the next event or timer"))
            writeMetrics(report: nil, refusals: (try? store.read().refusals) ?? 0)
        }
    }

    /// New findings, cleared conditions, and after a (re)connect one summary line.
    private func log(_ report: ReconcileReport, trigger: String, took: Duration) {
        var current: [String: Finding] = [:]
        for f in report.findings {
            if f.isCondition {
                current[f.conditionKey] = f
                if conditions[f.conditionKey] != nil { continue }   // already reported
            }
            logger.log(LogLines.finding(f))
        }
        for (key, f) in conditions where current[key] == nil {
            logger.log(LogLines.cleared(f))
        }
        conditions = current
        if trigger == "start" || trigger == "reconnect" {
            var fields: [(String, String)] = [("trigger", trigger), ("hugepage_domains", "\(report.hugepageDomains.count)")]
            for r in report.rows where r.node == nil && (r.total > 0 || r.committed > 0) {
                fields += [("committed_\(r.pageSizeKiB)kB", "\(r.committed)"), ("in_use_\(r.pageSizeKiB)kB", "\(r.inUse)"),
                           ("free_\(r.pageSizeKiB)kB", "\(r.free)/\(r.total)")]
            }
            fields.append(("duration_ms", oneDecimal(took.seconds * 1000)))
            logger.log(AgentLogLine(.info, .reconciled, fields, message: trigger == "start" ? "initial resync done" : "resynced after reconnect"))
        }
    }

    private func writeMetrics(report: ReconcileReport?, refusals: UInt64) {
        var m = Metrics.agent(report: report, refusals: refusals, counters: counters, intervalSeconds: options.reconcileInterval)
        m.addGrowth(ledger: report?.ledger,
                    counters: GrowthCounters.read(directory: options.environment.stateDir(config: options.config)))
        do { try metrics.write(m) } catch {
            logger.log(AgentLogLine(.warning, .metricsWriteFailed, [("path", metrics.path), ("error", "\(error)")]))
        }
    }
}

/// `12.3`: one decimal, without Foundation's `String(format:)`.
func oneDecimal(_ x: Double) -> String {
    let tenths = Int64((abs(x) * 10).rounded())
    return (x < 0 && tenths > 0 ? "-" : "") + "\(tenths / 10).\(tenths % 10)"
}
