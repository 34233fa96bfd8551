/// A set of NUMA node (or guest cell) ids in libvirt's syntax: `0-3,^2,5`.
public struct NodeSet: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let ids: [Int]   // sorted, unique

    public init<S: Sequence>(_ ids: S) where S.Element == Int {
        self.ids = Array(Set(ids)).sorted()
    }

    public func contains(_ id: Int) -> Bool { ids.contains(id) }
    public var isEmpty: Bool { ids.isEmpty }

    /// Parses libvirt's bitmap syntax (`virBitmapParse`): comma-separated ids and
    /// ranges, `^N` removes an id. Returns nil on anything else.
    public static func parse(_ text: String) -> NodeSet? {
        var include = Set<Int>()
        var exclude = Set<Int>()
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let part = raw.trimmingCharacters(in: " \t\n")
            if part.isEmpty { return nil }
            if part.hasPrefix("^") {
                guard let n = Int(part.dropFirst()), n >= 0 else { return nil }
                exclude.insert(n)
            } else if let dash = part.firstIndex(of: "-") {
                guard let lo = Int(part[..<dash]), let hi = Int(part[part.index(after: dash)...]),
                      lo >= 0, lo <= hi, hi < 4096 else { return nil }
                include.formUnion(lo...hi)
            } else {
                guard let n = Int(part), n >= 0, n < 4096 else { return nil }
                include.insert(n)
            }
        }
        let result = include.subtracting(exclude)
        return result.isEmpty ? nil : NodeSet(result)
    }

    /// Compact libvirt syntax: `0-2,5`.
    public var description: String {
        var parts: [String] = []
        var i = 0
        while i < ids.count {
            var j = i
            while j + 1 < ids.count && ids[j + 1] == ids[j] + 1 { j += 1 }
            parts.append(j > i ? "\(ids[i])-\(ids[j])" : "\(ids[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    public static func < (a: NodeSet, b: NodeSet) -> Bool { a.ids.lexicographicallyPrecedes(b.ids) }
}

extension StringProtocol {
    /// Foundation-free trim of the given characters from both ends.
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
