/// Where a process's hugepages sit, read from `/proc/<pid>/numa_maps` (the kernel's
/// `show_numa_map`). Pure: the caller reads the file.
///
/// Each line is one mapping: `<address> <policy> [file=<path>] [huge] [anon=N] [dirty=N]
/// [mapped=N] ... [N<node>=<pages>]... kernelpagesize_kB=<K>`. For a hugetlb mapping the
/// kernel flags it `huge` and counts `N<node>=` in pages of `kernelpagesize_kB`. Paths are
/// escaped by the kernel (space, tab, newline and `=` become octal `\040`...), so a line
/// splits on spaces; a deleted backing file or a memfd reads `file=/memfd:ram-node0\040(deleted)`.
public enum NumaMaps {
    public struct Mapping: Equatable, Sendable {
        public var address: String
        public var policy: String
        /// The backing file as the kernel printed it (escaped), nil for anonymous memory.
        public var file: String?
        public var isHuge: Bool
        public var pageSizeKiB: UInt64?
        /// Pages per NUMA node, in units of `pageSizeKiB`.
        public var nodePages: [Int: UInt64]
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "numa_maps line \(line): \(reason)" }
    }

    /// Every mapping in the text. A line the format doesn't allow is an error that names it.
    public static func parse(_ text: String) throws(ParseError) -> [Mapping] {
        var out: [Mapping] = []
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            if raw.isEmpty { continue }
            let tokens = raw.split(separator: " ")
            guard tokens.count >= 2 else { throw ParseError(line: lineNo, reason: "expected '<address> <policy> ...', got '\(raw.prefix(80))'") }
            guard tokens[0].allSatisfy({ $0.isHexDigit }) else {
                throw ParseError(line: lineNo, reason: "address '\(tokens[0].prefix(40))' is not hexadecimal")
            }
            var m = Mapping(address: String(tokens[0]), policy: String(tokens[1]), file: nil, isHuge: false, pageSizeKiB: nil, nodePages: [:])
            for t in tokens.dropFirst(2) {
                if t == "huge" { m.isHuge = true; continue }
                guard let eq = t.firstIndex(of: "=") else { continue }   // heap, stack and future flags
                let key = t[..<eq], value = t[t.index(after: eq)...]
                if key == "file" { m.file = String(value); continue }
                if key == "kernelpagesize_kB" {
                    guard let k = UInt64(value), k > 0 else { throw ParseError(line: lineNo, reason: "kernelpagesize_kB '\(value.prefix(20))' is not a positive number") }
                    m.pageSizeKiB = k
                } else if key.first == "N", let node = Int(key.dropFirst()), node >= 0 {
                    guard let pages = UInt64(value) else { throw ParseError(line: lineNo, reason: "\(key) '\(value.prefix(20))' is not a page count") }
                    let (sum, overflow) = m.nodePages[node, default: 0].addingReportingOverflow(pages)
                    guard !overflow else { throw ParseError(line: lineNo, reason: "\(key) overflows") }
                    m.nodePages[node] = sum
                }
            }
            out.append(m)
        }
        return out
    }

    /// Hugetlb pages per page size and node, summed over every `huge` mapping.
    public static func hugepagePlacement(_ text: String) throws(ParseError) -> HugepagePlacement {
        var p = HugepagePlacement()
        for m in try parse(text) where m.isHuge {
            guard let size = m.pageSizeKiB else { continue }
            for (node, pages) in m.nodePages where pages > 0 {
                let (sum, overflow) = p.pages[size, default: [:]][node, default: 0].addingReportingOverflow(pages)
                guard !overflow else { throw ParseError(line: 0, reason: "page counts overflow") }
                p.pages[size, default: [:]][node] = sum
            }
        }
        return p
    }
}

/// Hugepages a process holds, per page size (KiB) and NUMA node, as the kernel reports them.
public struct HugepagePlacement: Equatable, Sendable {
    public var pages: [UInt64: [Int: UInt64]]
    public init(pages: [UInt64: [Int: UInt64]] = [:]) { self.pages = pages }

    public func pages(ofSize size: UInt64, node: Int) -> UInt64 { pages[size]?[node] ?? 0 }
    public func pages(ofSize size: UInt64) -> UInt64 { (pages[size] ?? [:]).values.reduce(0, +) }
    /// Nodes holding pages of this size, ascending.
    public func nodes(ofSize size: UInt64) -> [Int] { (pages[size] ?? [:]).filter { $0.value > 0 }.keys.sorted() }
}
