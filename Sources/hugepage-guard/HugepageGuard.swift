import ArgumentParser
import HugepageGuardCore
import HugepageGuardHost

/// `hugepage-guard`: the admin's command.
@main
struct HugepageGuard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hugepage-guard",
        abstract: "Keep libvirt from starting hugepage-backed VMs into a pool that can't hold them.",
        discussion: """
            The hook (hugepage-guard-hook) decides at each VM start; this command shows the same \
            decision by hand (check), the pool and who holds it (status), and runs the agent that \
            watches libvirt's events (agent).
            """,
        subcommands: [CheckCommand.self, AgentCommand.self, StatusCommand.self, PlanCommand.self])

    /// Exit statuses are part of the interface: 0 admit/ok, 1 refuse, 2 bad input.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            exit(withError: code)
        } catch {
            let status = exitCode(for: error)
            if status == .validationFailure || status == .failure {
                StandardStream.error(fullMessage(for: error) + "\n")
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}

/// Bad input: printed to stderr as is, exit status 2.
struct BadInput: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
