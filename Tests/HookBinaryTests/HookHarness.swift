import Foundation
import HugepageGuardCore
import XCTest

/// What a run of a built executable produced.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// How far the child moved the shared stdin offset: 0 means it never read stdin.
    var stdinBytesRead: UInt64
}

/// Runs the built `hugepage-guard-hook` and `hugepage-guard` the way libvirt would: a
/// clean environment plus the test overrides, stdin from a file, stdout and stderr to files.
final class HookHarness {
    let dir: String
    var sysfsRoot: String
    var stateDir: String { dir + "/state" }
    var configPath: String { dir + "/hugepage-guard.conf" }
    var logPath: String { dir + "/decisions.log" }
    var ledgerPath: String { stateDir + "/ledger" }

    init(_ test: XCTestCase, fixture: String = "one-node-2m") throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hg-hook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        dir = url.path
        sysfsRoot = HookHarness.fixtureRoot(fixture)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    static func fixtureRoot(_ name: String, file: StaticString = #filePath) -> String {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sysfs/\(name)").path
    }

    /// The products directory: where the test bundle itself was built.
    static let productsDirectory: URL? = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidates = [exe.deletingLastPathComponent(), Bundle.main.bundleURL,
                          Bundle.main.bundleURL.deletingLastPathComponent()]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("hugepage-guard-hook").path) }
    }()

    func executable(_ name: String) throws -> URL {
        guard let dir = HookHarness.productsDirectory else {
            throw XCTSkip("built executables not found next to the test bundle; run 'swift build --build-tests' first")
        }
        return dir.appendingPathComponent(name)
    }

    /// Whether `HUGEPAGE_GUARD_STATE_DIR` is set; without it the config's `state_dir` counts.
    var overridesStateDir = true

    var environment: [String: String] {
        var env = ["LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                   "HUGEPAGE_GUARD_SYSFS_ROOT": sysfsRoot,
                   "HUGEPAGE_GUARD_CONFIG": configPath, "HUGEPAGE_GUARD_LOG_FILE": logPath]
        if overridesStateDir { env["HUGEPAGE_GUARD_STATE_DIR"] = stateDir }
        return env
    }

    /// Starts `name` with `args`; call `finish` on the result.
    func launch(_ name: String, _ args: [String], stdin: String) throws -> Running {
        let id = UUID().uuidString
        let inPath = dir + "/stdin-\(id)", outPath = dir + "/stdout-\(id)", errPath = dir + "/stderr-\(id)"
        try Data(stdin.utf8).write(to: URL(fileURLWithPath: inPath))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let p = Process()
        p.executableURL = try executable(name)
        p.arguments = args
        p.environment = environment
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        p.standardInput = input
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try p.run()
        return Running(process: p, input: input, outPath: outPath, errPath: errPath)
    }

    struct Running {
        let process: Process, input: FileHandle, outPath: String, errPath: String
        func finish() -> RunResult {
            process.waitUntilExit()
            let read = (try? input.offset()) ?? 0
            func text(_ p: String) -> String { String(decoding: FileManager.default.contents(atPath: p) ?? Data(), as: UTF8.self) }
            return RunResult(status: process.terminationStatus, stdout: text(outPath), stderr: text(errPath), stdinBytesRead: read)
        }
    }

    func hook(_ domain: String, _ op: String, _ sub: String, stdin: String = "") throws -> RunResult {
        try launch("hugepage-guard-hook", [domain, op, sub, "-"], stdin: stdin).finish()
    }

    func check(_ args: [String], stdin: String = "") throws -> RunResult {
        try launch("hugepage-guard", ["check"] + args, stdin: stdin).finish()
    }

    func writeConfig(_ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: configPath)) }

    /// From now on a copy of the fixture host, so that the test can change its files.
    func copyHost() throws {
        let root = dir + "/root"
        try FileManager.default.copyItem(atPath: sysfsRoot, toPath: root)
        sysfsRoot = root
    }

    /// The 2 MiB pool's `nr_hugepages` as the host's file says now.
    var nr2M: String {
        String(decoding: FileManager.default.contents(atPath: sysfsRoot + "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") ?? Data(),
               as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `xml` in a new file of the test's directory, for `check --xml` and `plan --xml`.
    func domainFile(_ xml: String) throws -> String {
        let path = dir + "/domain-\(UUID().uuidString).xml"
        try Data(xml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The ledger file as the hook left it; nil if there is none.
    func ledger(file: StaticString = #filePath, line: UInt = #line) -> Ledger? {
        guard let data = FileManager.default.contents(atPath: ledgerPath) else { return nil }
        do { return try LedgerCodec.decode(String(decoding: data, as: UTF8.self)) } catch {
            XCTFail("ledger unreadable: \(error)", file: file, line: line); return nil
        }
    }

    /// Every logfmt line the executables logged, as dictionaries.
    var logLines: [[String: String]] {
        let text = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").map { line in
            Dictionary(Logfmt.parse(line) ?? [("unparsable", String(line))], uniquingKeysWith: { a, _ in a })
        }
    }
}

/// A UUID of its own for each name (FNV-1a of the name's bytes), as libvirt gives every domain.
func uuid(for name: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let hex = String(hash & 0xffff_ffff_ffff, radix: 16)
    return "6f1c2a1e-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
}

/// A domain XML whose only hugepage demand is `<memory>` of 2 MiB pages (MiB / 2 pages).
func hugepageDomain(_ name: String, mib: Int, numatune: String = "", metadata: String = "", uuid: String? = nil) -> String {
    """
    <domain type='kvm'>
      <name>\(name)</name>
      <uuid>\(uuid ?? HookBinaryTests.uuid(for: name))</uuid>
      \(metadata.isEmpty ? "" : "<metadata>\(metadata)</metadata>")
      <memory unit='MiB'>\(mib)</memory>
      <memoryBacking><hugepages/></memoryBacking>
      <vcpu>1</vcpu>
      \(numatune.isEmpty ? "" : "<numatune>\(numatune)</numatune>")
      <os><type arch='x86_64' machine='pc'>hvm</type></os>
    </domain>
    """
}

let plainDomain = """
    <domain type='kvm'><name>plain</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='pc'>hvm</type></os></domain>
    """

/// Seconds since boot (CLOCK_BOOTTIME), the clock the ledger's `since` is written in.
func bootSeconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_BOOTTIME, &ts)
    return Int64(ts.tv_sec)
}
