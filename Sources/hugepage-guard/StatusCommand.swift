import ArgumentParser
import HugepageGuardAgent
import HugepageGuardCore
import HugepageGuardHost
import HugepageGuardLibvirt

/// `hugepage-guard status`: the pool, who holds it, and what looks wrong; computed live.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the hugepage pool per page size and node, the VMs holding it, and warnings.",
        discussion: """
            Works whether or not the agent runs: it reads the kernel's pool, the ledger and the \
            running VMs' live XML over a read-only libvirt connection. Changes nothing.
            """)

    @Option(name: .long, help: "libvirt connection URI.")
    var connect: String = "qemu:///system"

    @Flag(name: .long, help: "Print one JSON object instead of the table.")
    var json = false

    func run() throws {
        let environment = GuardEnvironment.fromProcess()
        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch { throw BadInput("hugepage-guard status: \(error)") }
        let state: HostState
        do {
            let conn = try Connection.openReadOnly(connect)
            defer { conn.close() }
            state = try HostScan.scan(conn, environment: environment, digestDirectory: environment.stateDir(config: config))
        } catch let error as HostScanError {
            if case .pool = error { throw BadInput("hugepage-guard status: \(error)") }
            StandardStream.error("hugepage-guard status: \(error) (from \(connect))\n")
            throw ExitCode(1)
        } catch {
            StandardStream.error("hugepage-guard status: cannot list running VMs from \(connect): \(error)\n")
            throw ExitCode(1)
        }
        var ledgerWarnings: [String] = []
        let ledger: Ledger
        do { ledger = try LedgerStore(directory: environment.stateDir(config: config)).read() } catch {
            ledgerWarnings.append("ledger unreadable (\(error)); in-flight reservations are unknown.")
            ledger = Ledger()
        }
        let report = Reconciler.reconcile(state, ledger: ledger, config: config, now: BootClock.now(),
                                          isAlive: { ProcessTable.isAlive($0) })
        // Growth: grown per size and node, and an estimate of how much more could grow now.
        let growthRows = (try? HostMemoryReader(environment: environment).read()).map {
            GrowthStatus.rows(ledger: ledger, pool: state.pool, memory: $0, config: config)
        } ?? []
        if json {
            var out = StatusView.json(report, ledgerWarnings: ledgerWarnings)
            if case .object(var fields) = out { fields.append(("growth", GrowthStatus.json(growthRows, config: config))); out = .object(fields) }
            StandardStream.output(out.rendered() + "\n")
        } else {
            StandardStream.output(StatusView.table(report, ledgerWarnings: ledgerWarnings) + GrowthStatus.text(growthRows, config: config))
        }
    }
}
