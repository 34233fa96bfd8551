import ArgumentParser
import HugepageGuardCore
import HugepageGuardHost

/// `hugepage-guard plan`: how many more VMs of one shape fit on this host right now.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Say how many more VMs of a domain's shape fit now, as the pool stands and with growth.",
        discussion: """
            Counts copies of the domain's hugepage demand against the pool, the in-flight \
            reservations and the host reserve, then with growth (pool.grow) within the \
            pool.grow.min_available floor, the pool.grow.max caps and the kernel's free lists \
            (/proc/buddyinfo), and names what limits one more. Reserves nothing. Growth figures \
            are estimates. Exit status: 0, or with --count N: 0 if N more fit, 1 if not; 2 bad input.
            """)

    @OptionGroup var source: DomainSource

    @Option(name: .long, help: ArgumentHelp("Say whether this many more fit, and what to add if not.", valueName: "N"))
    var count: UInt64?

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        let text = try source.read()
        let environment = GuardEnvironment.fromProcess()
        let spec: DomainSpec
        do { spec = try DomainSpec(xml: text) } catch { throw BadInput(TerminalText.escaped("cannot read the domain XML: \(error)")) }
        let config: GuardConfig
        do { config = try ConfigFile.load(path: environment.configPath) } catch {
            throw BadInput(TerminalText.escaped("hugepage-guard plan: \(error)"))
        }
        let kernelPool: HugepagePool
        do { kernelPool = try SysfsPoolReader(environment: environment).read() } catch {
            throw BadInput("hugepage-guard plan: cannot read the hugepage pool: \(error)")
        }
        // libvirt's side of the host, read as the hook reads it, so that plan and the hook
        // count a shape's pages alike.
        let libvirt = LibvirtHostReader(environment: environment).read(pool: kernelPool, capabilities: .needed(by: spec))
        let pool = libvirt.restrict(kernelPool)
        let memory: HostMemory
        do { memory = try HostMemoryReader(environment: environment).read() } catch { throw BadInput("hugepage-guard plan: \(error)") }
        var ledger = Ledger()
        do { ledger = try LedgerStore(directory: environment.stateDir(config: config)).read() } catch {
            StandardStream.error("hugepage-guard plan: ignoring the reservation ledger: \(error)\n")
        }
        let demand = DomainDemand(spec: spec, context: libvirt.context(basePageKiB: GuardEnvironment.basePageKiB, pool: kernelPool))
        let input = PlanInput(demand: demand, pool: pool, inFlight: ledger.inFlight(excluding: spec.name), config: config,
                              memory: memory, memfd: spec.memfdSource, growAllowed: spec.growOverride != false)
        let result = Planner.plan(input, count: count)
        if json {
            print(result.json.rendered())
        } else if demand.isZero {
            print(TerminalText.escaped("\(spec.name): uses no hugepages, so the pool doesn't limit how many fit."))
        } else {
            // Each line on its own is escaped: the domain's name comes from the XML.
            print(result.text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escaped(String($0)) }
                    .joined(separator: "\n"))
        }
        if result.countFits == false { throw ExitCode(1) }
    }
}
