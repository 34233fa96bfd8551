import ArgumentParser
import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardHost
import Logging

/// `hugepage-guard agent`: the long-running watcher (systemd unit `hugepage-guard.service`).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Watch libvirt's events, log one line per event, and reconcile the hugepage pool.",
        discussion: """
            Opens a read-only connection, logs each VM start, stop and memory hotplug as one logfmt \
            line on stdout, and reconciles the pool against the running VMs at start, after each \
            event, after a reconnect and every agent.reconcile_interval seconds. Writes Prometheus \
            metrics to agent.metrics_path when its directory exists. Stops on SIGTERM.
            """)

    @Option(name: .long, help: "libvirt connection URI.")
    var connect: String = "qemu:///system"

    @Option(name: .long, help: "Seconds between timed reconciliations (default: agent.reconcile_interval).")
    var interval: Double?

    @Option(name: .long, help: "Prometheus textfile path (default: agent.metrics_path).")
    var metricsPath: String?

    func run() async throws {
        let environment = GuardEnvironment.fromProcess()
        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch {
            throw BadInput("hugepage-guard agent: \(error)")
        }
        var options = AgentOptions(uri: connect, config: config, environment: environment)
        if let interval { options.reconcileInterval = max(0.1, interval) }
        if let metricsPath { options.metricsPath = metricsPath }
        // The agent is its own program: its logger writes logfmt lines straight to stdout.
        let logger = Logger(label: "hugepage-guard.agent") { LogfmtLogHandler(label: $0) }
        try await Agent(options: options, logger: logger).run()
    }
}
