/// Can groups of pages, each allowed on a set of host nodes, be placed on nodes of given
/// capacities? This is a bipartite max-flow: groups on one side, nodes on the other.
/// Graphs are tiny (a few distinct node sets, at most a few dozen nodes), so a plain
/// augmenting-path search is plenty.
///
/// Capacities and pages come from sysfs, the ledger and the config, so each may be as large
/// as `UInt64.max`. The flow is computed in 128 bits: every sum of them fits, and the
/// group-to-node edges, which must never limit the flow, are given a capacity above the
/// sum of every node's capacity.
struct Placement {
    struct Group { var nodes: [Int]; var pages: UInt128 }

    /// Capacity per node index.
    var capacity: [UInt64]

    /// The most pages of `groups` that fit at once, exactly.
    func maxPlaced(_ unmerged: [Group]) -> UInt128 {
        // Groups allowed on the same nodes are interchangeable: merge them, so the graph's
        // size depends on the distinct node sets (a handful), not on the ledger's length.
        // A list, not a dictionary keyed by node set: the runtime would look up `[Int]: Hashable`
        // to build that dictionary's type, which costs more than the merging.
        var groups: [(nodes: [Int], pages: UInt128)] = []
        for group in unmerged where group.pages > 0 {
            let nodes = group.nodes.sorted()
            if let i = groups.firstIndex(where: { $0.nodes == nodes }) { groups[i].pages += group.pages } else {
                groups.append((nodes: nodes, pages: group.pages))
            }
        }
        let g = groups.count, n = capacity.count
        // Larger than any flow: the flow is bounded by the sum of the node capacities.
        let unbounded = PageArithmetic.sum(capacity) + 1
        // Vertices: 0 source, 1...g groups, g+1...g+n nodes, g+n+1 sink. The residual
        // capacities are one matrix, row after row, in a single buffer.
        let sink = g + n + 1, size = sink + 1
        // Scratch space for one call (on the stack when it is small, as it nearly always is).
        return withUnsafeTemporaryAllocation(of: UInt128.self, capacity: size * size) { cap -> UInt128 in
          withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * size) { scratch -> UInt128 in
            cap.initialize(repeating: 0)
            let parent = UnsafeMutableBufferPointer(rebasing: scratch[..<size])
            let queue = UnsafeMutableBufferPointer(rebasing: scratch[size...])
            for (i, group) in groups.enumerated() {
                cap[1 + i] = group.pages
                for node in group.nodes where node >= 0 && node < n { cap[(1 + i) * size + g + 1 + node] = unbounded }
            }
            for (j, c) in capacity.enumerated() { cap[(g + 1 + j) * size + sink] = UInt128(c) }

            var total: UInt128 = 0
            while true {
                // Breadth-first search for a shortest augmenting path.
                for v in 0..<size { parent[v] = -1 }
                parent[0] = 0
                queue[0] = 0
                var head = 0, tail = 1
                while head < tail, parent[sink] < 0 {
                    let u = queue[head]; head += 1
                    for v in 0..<size where parent[v] < 0 && cap[u * size + v] > 0 {
                        parent[v] = u
                        queue[tail] = v; tail += 1
                    }
                }
                if parent[sink] < 0 { return total }
                var push = UInt128.max
                var v = sink
                while v != 0 { push = min(push, cap[parent[v] * size + v]); v = parent[v] }
                v = sink
                while v != 0 {
                    let u = parent[v]
                    cap[u * size + v] -= push
                    cap[v * size + u] += push
                    v = u
                }
                total += push
            }
          }
        }
    }
}
