// hugepage-guard-hook: libvirt's QEMU hook.
//
//   hugepage-guard-hook <domain> <operation> <sub-operation> <extra>
//
// Decides at `prepare begin`, `migrate begin` and `restore begin`; keeps the reservation
// ledger at `started begin` and `release end`; passes every other operation straight
// through without reading stdin. It never calls libvirt (that deadlocks), never writes to
// stdout (on migrate/restore stdout would replace the domain XML), and only a decision
// operation can exit non-zero (`started begin` failing would kill QEMU, `reconnect begin`
// failing would kill a running VM).
#if canImport(Glibc)
import Glibc
#endif
import HugepageGuardCore
import HugepageGuardHost

let args = CommandLine.arguments
guard args.count >= 4 else {
    StandardStream.error("usage: hugepage-guard-hook <domain> <operation> <sub-operation> [extra]\n"
        + "This is libvirt's QEMU hook; libvirtd runs it. To test a domain by hand, use 'hugepage-guard check'.\n")
    exit(2)
}
let domain = args[1], operation = args[2], subOperation = args[3]

enum Step { case decide, started, release }
let step: Step
switch (operation, subOperation) {
case ("prepare", "begin"), ("migrate", "begin"), ("restore", "begin"): step = .decide
case ("started", "begin"): step = .started
case ("release", "end"): step = .release
default: exit(0)
}

let environment = GuardEnvironment.fromProcess()
let log = SystemLog(identifier: "hugepage-guard-hook",
                    copyPath: getenv("HUGEPAGE_GUARD_LOG_FILE").map { String(cString: $0) })

switch step {
case .decide:
    let outcome: Admission.Outcome
    do {
        let xml = try FileSystem.readAll(fd: 0, path: "<stdin>")
        // With no libvirt daemon above us (a test, a manual run) only the timeout expires it.
        let owner = ProcessTable.libvirtDaemonAncestor()
        outcome = Admission(environment: environment).decide(xml: xml, operation: operation, reserveFor: owner, reserve: true)
    } catch {
        outcome = .failed(message: "cannot read the domain XML from stdin: \(error)")
    }
    switch outcome {
    case .noHugepages(let spec):
        log.write(Logfmt.line(["level": "info", "event": "decision", "op": operation, "decision": "admit",
                               "domain": spec.name, "pages": "0"]), level: .info)
        exit(0)
    case let .decided(_, report, notes):
        for note in notes { log.write(note, level: .warning) }
        log.write(report.logLine, level: report.decision.fits ? .info : .warning)
        if report.decision.verdict == .refuse {
            StandardStream.error(report.refusalParagraph + "\n")
            exit(1)
        }
        exit(0)
    case let .failed(message):
        log.write(Logfmt.line(["level": "error", "event": "decision", "op": operation, "decision": "refuse",
                               "domain": domain, "error": message]), level: .error)
        StandardStream.error("hugepage-guard refused to \(DecisionReport.verbs(operation: operation).refused) domain '\(domain)': \(message).\n")
        exit(1)
    }

case .started, .release:
    // Bookkeeping only: whatever goes wrong is logged, and the hook still exits 0.
    let config = (try? ConfigFile.load(path: environment.configPath)) ?? GuardConfig()
    let store = LedgerStore(directory: environment.stateDir(config: config))
    var growthLines: [GrowthLogLine] = []
    do {
        let line: String? = try store.withLock { ledger, load in
            if case let .corrupt(aside, error) = load {
                log.write(Logfmt.line(["level": "error", "event": "ledger-corrupt", "op": operation, "domain": domain,
                                       "error": "\(error)", "moved_to": aside]), level: .error)
            }
            if step == .started {
                return ledger.markStarted(domain: domain, at: BootClock.now())
                    ? Logfmt.line(["level": "info", "event": "reservation-committed", "domain": domain]) : nil
            }
            let dropped = ledger.drop(domain: domain)
            if let dropped {
                let growth = PoolGrowth(environment: environment, stateDir: store.directory)
                // Pages earlier shrinks held back may be free now; then this domain's.
                growthLines = growth.retryHeld(ledger: &ledger, config: config, now: BootClock.now())
                growthLines += growth.release(dropped, ledger: &ledger, config: config, now: BootClock.now())
            }
            return dropped.map { _ in
                Logfmt.line(["level": "info", "event": "reservation-released", "domain": domain])
            }
        }
        if let line { log.write(line, level: .info) }
        for g in growthLines { log.write(g.line, level: g.level == "info" ? .info : .warning) }
    } catch {
        log.write(Logfmt.line(["level": "error", "event": "ledger", "op": operation, "domain": domain,
                               "error": "\(error)"]), level: .error)
    }
    exit(0)
}
