import Foundation
import XCTest

/// A per-node pool for the multi-node scenarios on a fixture tree: a copy of a tree captured
/// from the multi-node test guest's real kernel, with each node's 2 MiB pool set to `nr` pages,
/// `free` of them free, and the global counters the sums, as the kernel keeps them.
struct NodePool {
    var nr: UInt64
    var free: UInt64
    static func idle(_ nr: UInt64) -> NodePool { NodePool(nr: nr, free: nr) }
}

enum MultiNodeFixture {
    /// Tests/MultiNode/domains/<file>: the domain XML the guest scenarios start.
    static func domainXML(_ file: String, name: String? = nil, path: StaticString = #filePath) throws -> String {
        let url = URL(fileURLWithPath: "\(path)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MultiNode/domains/\(file)")
        var xml = try String(contentsOf: url, encoding: .utf8)
        if let name, let open = xml.range(of: "<name>"), let close = xml.range(of: "</name>") {
            xml.replaceSubrange(open.upperBound..<close.lowerBound, with: name)
        }
        return xml
    }

    /// Points `h` at a fresh copy of `tree` whose 2 MiB pools are `pools` (nodes not named: 0).
    static func use(_ h: HookHarness, tree: String, pools: [Int: NodePool]) throws {
        let root = h.dir + "/sysroot-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: HookHarness.fixtureRoot(tree), toPath: root)
        let nodeDir = root + "/sys/devices/system/node"
        let nodes = try FileManager.default.contentsOfDirectory(atPath: nodeDir)
            .filter { $0.hasPrefix("node") }.compactMap { Int($0.dropFirst(4)) }
        XCTAssertTrue(Set(pools.keys).isSubset(of: Set(nodes)), "\(tree) has nodes \(nodes.sorted()), not \(pools.keys.sorted())")
        var nr: UInt64 = 0, free: UInt64 = 0
        for n in nodes {
            let p = pools[n] ?? NodePool(nr: 0, free: 0)
            let dir = "\(nodeDir)/node\(n)/hugepages/hugepages-2048kB/"
            try "\(p.nr)\n".write(toFile: dir + "nr_hugepages", atomically: true, encoding: .utf8)
            try "\(p.free)\n".write(toFile: dir + "free_hugepages", atomically: true, encoding: .utf8)
            try "0\n".write(toFile: dir + "surplus_hugepages", atomically: true, encoding: .utf8)
            nr += p.nr
            free += p.free
        }
        let global = root + "/sys/kernel/mm/hugepages/hugepages-2048kB/"
        for (file, value) in [("nr_hugepages", nr), ("free_hugepages", free), ("resv_hugepages", 0), ("surplus_hugepages", 0)] {
            try "\(value)\n".write(toFile: global + file, atomically: true, encoding: .utf8)
        }
        h.sysfsRoot = root
    }

    /// The 2 MiB nr_hugepages of `node` in the tree `h` points at.
    static func nodeCount(_ h: HookHarness, node: Int) -> UInt64? {
        let path = h.sysfsRoot + "/sys/devices/system/node/node\(node)/hugepages/hugepages-2048kB/nr_hugepages"
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
