import Foundation
import XCTest

/// Replays every input under `Tests/Fixtures/fuzz/<target>/` (crashes the fuzzer found, kept as
/// `crash-*`, and hand-made seeds) and every seed file each target names, through the ordinary
/// build of `hugepage-guard-fuzz`, each crash fixture in its own child process: a parser that
/// traps kills the child, not the test run, and the failure names every input that still traps
/// and where.
final class FuzzRegressionTests: XCTestCase {
    static let repository = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("Tests/Fixtures/fuzz")

    struct Outcome {
        var status: Int32
        var trapped: Bool
        var stderr: String
    }

    func replayer() throws -> URL {
        guard let dir = HookHarness.productsDirectory else {
            XCTFail("built executables not found next to the test bundle; run 'swift build --build-tests' first")
            throw XCTSkip("no products directory")
        }
        return dir.appendingPathComponent("hugepage-guard-fuzz")
    }

    /// Runs `hugepage-guard-fuzz args` with output in files (a trap's backtrace can outgrow a pipe).
    func run(_ args: [String]) throws -> Outcome {
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("hg-fuzz-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let p = Process()
        p.executableURL = try replayer()
        p.arguments = args
        p.currentDirectoryURL = Self.repository
        // The Swift runtime's backtracer names the trap ("arithmetic overflow") and its source line.
        p.environment = ["PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=yes,interactive=no,color=no"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        let err = String(decoding: FileManager.default.contents(atPath: errURL.path) ?? Data(), as: UTF8.self)
        return Outcome(status: p.terminationStatus, trapped: p.terminationReason == .uncaughtSignal, stderr: err)
    }

    /// `name -> seed paths`, from the binary itself, so the test and `scripts/fuzz` agree.
    func targets() throws -> [String: [String]] {
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("hg-fuzz-list-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let p = Process()
        p.executableURL = try replayer()
        p.arguments = ["--list"]
        p.standardOutput = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "hugepage-guard-fuzz --list")
        let text = String(decoding: FileManager.default.contents(atPath: errURL.path) ?? Data(), as: UTF8.self)
        var out: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let cols = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(cols[0])] = cols.count > 1 ? cols[1].split(separator: " ").map(String.init) : []
        }
        return out
    }

    /// Every regular file under `url`, sorted; `url` itself if it is a file.
    func files(under url: URL) -> [URL] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return [] }
        if !isDir.boolValue { return [url] }
        let all = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])?
            .compactMap { $0 as? URL } ?? []
        return all.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.path < $1.path }
    }

    /// The lines of a trap's report worth reading: the reason and the frames in our sources.
    func trapSite(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n").filter {
            $0.contains("runtime failure") || $0.contains("Fatal error") || $0.contains("/Sources/HugepageGuard")
                || $0.hasPrefix("replay ")
        }
        return lines.prefix(6).map { "    " + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
    }

    func testTheReplayerReportsATrapAsATrap() throws {
        // Without this, a replayer that swallowed traps would make every other test here pass.
        let r = try run(["--self-check-trap"])
        XCTAssertTrue(r.trapped, "status \(r.status): \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("deliberate trap"), r.stderr)
    }

    func testEveryFixtureDirectoryIsATarget() throws {
        let known = try targets()
        XCTAssertFalse(known.isEmpty)
        let dirs = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: Self.fixtures.appendingPathComponent($0).path, isDirectory: &isDir) && isDir.boolValue
        }
        for dir in dirs { XCTAssertNotNil(known[dir], "Tests/Fixtures/fuzz/\(dir) is not a target of hugepage-guard-fuzz") }
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path) where file.hasSuffix(".dict") {
            XCTAssertNotNil(known[String(file.dropLast(5))], "Tests/Fixtures/fuzz/\(file) is the dictionary of no target")
        }
    }

    /// Each crash the fuzzer found, in its own process, so the failure lists every one that
    /// still traps, with the trap's reason and source line.
    func testCrashFixtures_noLongerTrap() throws {
        var stillTrapping: [String] = []
        var count = 0
        for (target, _) in try targets().sorted(by: { $0.key < $1.key }) {
            for file in files(under: Self.fixtures.appendingPathComponent(target)) where file.lastPathComponent.hasPrefix("crash-") {
                count += 1
                let r = try run([target, file.path])
                if r.status != 0 || r.trapped {
                    stillTrapping.append("\(target)/\(file.lastPathComponent): \(r.trapped ? "trapped" : "exit \(r.status)")\n\(trapSite(r.stderr))")
                }
            }
        }
        XCTAssertGreaterThan(count, 0, "no crash-* fixture found under \(Self.fixtures.path)")
        XCTAssertTrue(stillTrapping.isEmpty,
                      "\(stillTrapping.count) of \(count) fuzz regression fixtures still trap:\n" + stillTrapping.joined(separator: "\n"))
    }

    /// The seeds (the domain fixtures, the packaged config, sysfs trees, hand-made ledgers)
    /// are the inputs the fuzzer starts from; none may trap either.
    func testSeeds_noneTraps() throws {
        for (target, seeds) in try targets().sorted(by: { $0.key < $1.key }) {
            var inputs = seeds.flatMap { files(under: Self.repository.appendingPathComponent($0)) }
            XCTAssertEqual(seeds.map { FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent($0).path) },
                           seeds.map { _ in true }, "\(target) names a seed that doesn't exist: \(seeds)")
            inputs += files(under: Self.fixtures.appendingPathComponent(target)).filter { !$0.lastPathComponent.hasPrefix("crash-") }
            if inputs.isEmpty { continue }
            let r = try run([target] + inputs.map(\.path))
            XCTAssertTrue(r.status == 0 && !r.trapped,
                          "\(target): a seed traps (\(r.trapped ? "signal" : "exit") \(r.status)):\n\(trapSite(r.stderr))")
        }
    }
}
