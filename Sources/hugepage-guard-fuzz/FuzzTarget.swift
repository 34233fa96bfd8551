/// One parser under fuzzing: a name, the files that seed its corpus, and what to do with one input.
///
/// `run` feeds the input to the parser and checks what must hold whatever the input. An error
/// thrown by the parser is a correct answer; the failures are a trap (overflow, out-of-range
/// index, force-unwrap, `precondition`), a sanitizer report, or a hang. Under libFuzzer
/// (`make fuzz`) the input is mutated; in an ordinary build `hugepage-guard-fuzz NAME FILE...`
/// replays files, which is how the regression fixtures under `Tests/Fixtures/fuzz/NAME/` run.
struct FuzzTarget: Sendable {
    /// The `--target=` value, and the directory of its fixtures: `Tests/Fixtures/fuzz/<name>/`.
    let name: String
    /// Files or directories, relative to the repository, whose files (recursively) seed the corpus.
    let seeds: [String]
    let run: @Sendable ([UInt8]) -> Void
}

extension FuzzTarget {
    /// Every target. To add one: a file `Targets/<Name>.swift` with
    /// `extension FuzzTarget { static let x = FuzzTarget(name: "x", seeds: [...]) { bytes in ... } }`
    /// and its name on a line here.
    static let all: [FuzzTarget] = [
        .domainDemand,
        .config,
        .ledger,
        .poolText,
        .qemuConf,
        .libvirtHost,
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// One line per target, `name<TAB>seed seed …`: what `scripts/fuzz` and the replay test read.
    static var listing: String {
        all.map { $0.name + "\t" + $0.seeds.joined(separator: " ") + "\n" }.joined()
    }
}

/// The input as the hook and the CLI read files and stdin: bytes decoded as UTF-8, invalid
/// sequences replaced.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// A property the target checks failed: trap, so libFuzzer records the input like any crash.
func violated(_ what: String) -> Never { fatalError("fuzz property violated: \(what)") }
