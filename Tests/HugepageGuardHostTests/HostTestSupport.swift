import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// `Tests/Fixtures/sysfs/<name>`, found from this file's own path.
func fixtureRoot(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sysfs/\(name)").path
}

/// A fresh directory under the system temp dir, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hg-host-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// A copy of a fixture tree that a test may change.
func copyOfFixture(_ name: String, in dir: String) throws -> String {
    let target = dir + "/" + name
    try FileManager.default.copyItem(atPath: fixtureRoot(name), toPath: target)
    return target
}

func write(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

/// A tiny thread-safe counter for concurrent tests.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&value); lock.unlock() }
    var current: T { lock.lock(); defer { lock.unlock() }; return value }
}

/// A fixture tree's 2 MiB pools as a kernel. A write to a pool's `nr_hugepages` grows it by at
/// most `grant` pages, added free to that node and to the global counters (a write without a
/// node lands on node 0), and shrinks it by free pages only. With `nodeWritesOnly`, a write
/// without a node fails the test: demand confined to nodes must grow on them.
final class SysfsTreeKernel: PoolWriter, @unchecked Sendable {
    let root: String
    let nodeWritesOnly: Bool
    /// At most this many pages per write that grows a pool.
    var grant = UInt64.max
    /// How many writes grew a pool.
    private(set) var grows = 0

    init(root: String, nodeWritesOnly: Bool = false) {
        self.root = root
        self.nodeWritesOnly = nodeWritesOnly
    }

    /// A node's 2 MiB pool directory, or the global one.
    func dir(_ node: Int?) -> String {
        node.map { root + "/sys/devices/system/node/node\($0)/hugepages/hugepages-2048kB" } ?? root + "/sys/kernel/mm/hugepages/hugepages-2048kB"
    }
    func get(_ p: String) -> UInt64 { UInt64((try? String(contentsOfFile: p, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }
    func set(_ p: String, _ v: UInt64) { try? "\(v)\n".write(toFile: p, atomically: false, encoding: .utf8) }
    func nr(_ node: Int?) -> UInt64 { get(dir(node) + "/nr_hugepages") }

    func count(pageSizeKiB: UInt64, node: Int?) throws(HostError) -> UInt64 { nr(node) }

    func setCount(_ pages: UInt64, pageSizeKiB: UInt64, node: Int?) throws(HostError) {
        if nodeWritesOnly && node == nil { return XCTFail("confined demand must grow on its node, not globally") }
        let nr = self.nr(node), free = get(dir(node) + "/free_hugepages")
        let delta = pages > nr ? Int64(min(pages - nr, grant)) : -Int64(min(nr - pages, free))
        if delta > 0 { grows += 1 }
        for d in [dir(nil), dir(node ?? 0)] {
            set(d + "/nr_hugepages", UInt64(Int64(get(d + "/nr_hugepages")) + delta))
            set(d + "/free_hugepages", UInt64(Int64(get(d + "/free_hugepages")) + delta))
        }
    }

    func compact(node: Int?) {}

    /// The global pool.
    func pool() -> (nr: UInt64, free: UInt64) { (nr(nil), get(dir(nil) + "/free_hugepages")) }
    /// Sets the global pool and node 0's alike (the one-node fixture).
    func setPool(nr: UInt64, free: UInt64) {
        for d in [dir(nil), dir(0)] { set(d + "/nr_hugepages", nr); set(d + "/free_hugepages", free) }
    }
}

/// The one-node fixture as a host for the growth tests: a copy of the tree, its 2 MiB pool at
/// `pages` pages (all free) behind a `SysfsTreeKernel`, a meminfo with room to grow, and where
/// the state directory and the config go (neither made yet).
struct OneNodeGrowthHost {
    let root: String, state: String, conf: String
    let kernel: SysfsTreeKernel

    init(_ test: XCTestCase, pages: UInt64) throws {
        let dir = try temporaryDirectory(test)
        root = try copyOfFixture("one-node-2m", in: dir)
        try write("MemTotal:       16315416 kB\nMemFree:         9123456 kB\nMemAvailable:    9000000 kB\nHugepagesize:       2048 kB\n",
                  to: root + "/proc/meminfo")
        state = dir + "/state"
        conf = dir + "/guard.conf"
        kernel = SysfsTreeKernel(root: root)
        kernel.setPool(nr: pages, free: pages)
    }
}
