import ArgumentParser
import HugepageGuardCore
import HugepageGuardHost

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Show the decision the hook would make for a domain, without reserving anything.",
        discussion: "Exit status: 0 the domain fits (admit), 1 it doesn't (refuse), 2 bad input.")

    @OptionGroup var source: DomainSource

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        do {
            try decide()
        } catch let error as BadInput where json {
            // `--json` prints the same shape on every path, errors included; the message
            // also goes to stderr, and the exit status stays 2.
            print(CheckResult(error: error.description, domain: source.domain).json.rendered())
            throw error
        }
    }

    private func decide() throws {
        let text = try source.read()
        let environment = GuardEnvironment.fromProcess()
        switch Admission(environment: environment).decide(xml: text, operation: "check", reserveFor: nil, reserve: false) {
        case .noHugepages(let spec):
            // Admitted whatever the policy; show the one that would apply.
            var policy = spec.policyOverride
            if policy == nil {
                do { policy = try ConfigFile.load(path: environment.configPath).policy } catch {
                    StandardStream.error(TerminalText.escaped("hugepage-guard check: \(error)") + "\n")
                }
            }
            if json {
                print(CheckResult(noHugepages: spec.name, policy: policy).json.rendered())
            } else {
                print(TerminalText.escaped("\(spec.name): admit. It uses no hugepages."))
            }
        case let .decided(_, report, notes):
            for note in notes {
                let fields = note.fields.filter { $0.key != "op" }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                let text = ([note.message].compactMap { $0 } + [fields]).joined(separator: ": ")
                StandardStream.error(TerminalText.escaped("hugepage-guard check: \(text)") + "\n")
            }
            if json {
                print(CheckResult(report).json.rendered())
            } else {
                print(HumanReport(report).text)
            }
            if report.decision.verdict == .refuse { throw ExitCode(1) }
        case let .failed(message):
            throw BadInput(TerminalText.escaped(message))
        }
    }
}

/// The decision for a terminal.
struct HumanReport {
    var report: DecisionReport
    init(_ report: DecisionReport) { self.report = report }

    var text: String {
        let d = report.decision
        var lines = ["\(d.demand.domain): \(d.verdict.rawValue)" + (d.fits ? "" : (d.verdict == .admit ? " (policy \(d.policy.rawValue): it does not fit)" : ""))]
        if d.policy == .off { lines.append("  policy is off: nothing was checked.") }
        for b in d.demand.backends {
            let page = b.pageSizeKiB.map { "\(b.pages) x \(humanPageSize(kib: $0))" } ?? "ordinary memory"
            let nodes = b.hostNodes.map { " host nodes \($0) (\(b.mode?.rawValue ?? "strict"))" } ?? ""
            let cell = b.guestCell.map { " guest cell \($0)," } ?? ""
            lines.append("  \(b.id):\(cell) \(b.sizeKiB) KiB -> \(page)\(nodes)")
        }
        for size in d.demand.pageSizes {
            let p = report.pool.sizes[size]
            let free = p.map { "\($0.available) of \($0.nr) free" } ?? "no pool"
            let needs = PageArithmetic.shown(PageArithmetic.sum(d.demand.items.filter { $0.pageSizeKiB == size }.map(\.pages)))
            lines.append("  \(humanPageSize(kib: size)) pages: needs \(needs); pool: \(free)")
        }
        if case .wouldGrow(let steps) = report.growth {
            lines.append("  pool.grow is on: as the pool stands this is a refusal, but the hook would first grow the pool by "
                         + "\(GrowStep.listText(steps)) and admit it if the kernel gives every page (nothing was written; "
                         + "'hugepage-guard plan' says how much more can grow).")
        } else if let growth = report.growth {
            lines.append("  pool.grow is on, but the hook would not grow the pool for it (\(growth.metricResult); the reason is below).")
        }
        if !d.fits { lines.append(""); lines.append(report.refusalParagraph) }
        // Each line on its own is escaped: names and aliases come from the XML.
        return lines.map(TerminalText.escaped).joined(separator: "\n")
    }
}
