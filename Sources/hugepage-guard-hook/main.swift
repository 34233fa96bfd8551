// hugepage-guard-hook: libvirt's QEMU hook.
//
//   hugepage-guard-hook <domain> <operation> <sub-operation> <extra>
//
// Decides at `prepare begin`, `migrate begin` and `restore begin`; keeps the reservation
// ledger at `started begin` and `release end`; passes every other operation straight
// through without reading stdin or the config. It never calls libvirt (that deadlocks),
// never writes to stdout (on migrate/restore stdout would replace the domain XML), and only
// a decision operation can exit non-zero (`started begin` failing would kill QEMU,
// `reconnect begin` failing would kill a running VM).
//
// Built with Embedded Swift, in one module with the core's and the host adapters' sources
// (Package.swift): what it imports from C comes through CSystem.
import CSystem

// It ends with _exit: every line it writes (stderr, the log datagram, the ledger, fsync'd and
// renamed) has gone out with its own system call by then, so exit's handlers (stdio's flush)
// would have nothing to do but touch memory on every VM operation.
//
// Everything runs inside one function, so no top-level variable exists: in the Swift 6
// language mode top-level variables belong to the main actor, which would bring Swift's
// concurrency runtime into the hook.
runHook()

func runHook() -> Never {
    // The operation is matched on the C strings of argv: a pass-through builds no Swift
    // string or array, so it costs little more than starting the process.
    let argc = Int(hg_argc()), argv = hg_argv()!
    guard argc >= 4, let operationArg = argv[2], let subOperationArg = argv[3] else {
        StandardStream.error("usage: hugepage-guard-hook <domain> <operation> <sub-operation> [extra]\n"
            + "This is libvirt's QEMU hook; libvirtd runs it. To test a domain by hand, use 'hugepage-guard check'.\n")
        _exit(2)
    }
    func argIs(_ arg: UnsafeMutablePointer<CChar>, _ literal: StaticString) -> Bool {
        strcmp(arg, UnsafeRawPointer(literal.utf8Start).assumingMemoryBound(to: CChar.self)) == 0
    }

    enum Step { case decide, bookkeeping(Bookkeeping.Step) }
    let step: Step
    if argIs(subOperationArg, "begin") && (argIs(operationArg, "prepare") || argIs(operationArg, "migrate")
                                           || argIs(operationArg, "restore")) {
        step = .decide
    } else if argIs(operationArg, "started") && argIs(subOperationArg, "begin") {
        step = .bookkeeping(.started)
    } else if argIs(operationArg, "release") && argIs(subOperationArg, "end") {
        step = .bookkeeping(.release)
    } else {
        _exit(0)
    }
    let operation = String(cString: operationArg)

    // The domain name exactly as libvirt passed it; nil if it is not UTF-8 (no domain XML can
    // name such a domain).
    let exactName = argv[1].flatMap { String(validatingCString: $0) }
    let domain = exactName ?? argv[1].map { String(cString: $0) } ?? ""
    let environment = GuardEnvironment.fromProcess()
    let log = SystemLog(identifier: "hugepage-guard-hook",
                        copyPath: getenv("HUGEPAGE_GUARD_LOG_FILE").map { String(cString: $0) })

    /// The domain XML libvirt writes on stdin, at most `ReadLimit.domainXML` bytes.
    func readStandardInput() throws(HostError) -> String {
        try FileSystem.readText(fd: 0, path: "the domain XML on stdin", limit: ReadLimit.domainXML)
    }

    switch step {
    case .decide:
        let outcome: Admission.Outcome
        if exactName == nil {
            outcome = .failed(message: "libvirt passed a domain name that is not valid UTF-8")
        } else {
            do {
                let xml = try readStandardInput()
                // The libvirt daemon above us owns the reservation, looked up only when one is
                // recorded. With none (a test, a manual run) only the timeout expires it.
                outcome = Admission(environment: environment).decide(
                    xml: xml, operation: operation, reserveFor: ProcessTable.libvirtDaemonAncestor(), reserve: true,
                    hookName: domain)
            } catch {
                outcome = .failed(message: "cannot read \(error)")
            }
        }
        switch outcome {
        case .noHugepages(let spec):
            log.write(DecisionReport.noHugepagesLogLine(operation: operation, domain: spec.name, uuid: spec.uuid))
            _exit(0)
        case let .decided(_, report, notes):
            // Each line at its own level: an expired reservation warns, a growth that let the
            // start in is info.
            for note in notes { log.write(note) }
            log.write(report.logLine)
            if report.decision.verdict == .refuse {
                StandardStream.error(report.refusalParagraph + "\n")
                _exit(1)
            }
            _exit(0)
        case let .failed(message):
            log.write(DecisionReport.failureLogLine(operation: operation, domain: domain, message: message))
            StandardStream.error(DecisionReport.failureParagraph(operation: operation, domain: domain, message: message) + "\n")
            _exit(1)
        }

    case .bookkeeping(let bookkeepingStep):
        // Bookkeeping only: whatever goes wrong is logged, and the hook still exits 0. An
        // unreadable stdin only means the ledger entry is found by name instead of UUID.
        let xml = Result { () throws(HostError) in try readStandardInput() }
        let lines = Bookkeeping(environment: environment).record(bookkeepingStep, hookName: domain, stdin: xml, now: BootClock.now())
        for line in lines { log.write(line) }
        _exit(0)
    }
}
