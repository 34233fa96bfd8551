/// A set of NUMA node (or guest cell) ids in libvirt's syntax: `0-3,^2,5`.
public struct NodeSet: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let ids: [Int]   // sorted, unique

    public init<S: Sequence>(_ ids: S) where S.Element == Int {
        self.ids = Array(Set(ids)).sorted()
    }

    /// `ids` must already be sorted and unique.
    init(sortedUnique ids: [Int]) { self.ids = ids }

    public func contains(_ id: Int) -> Bool {
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < ids.count && ids[lo] == id
    }

    public var isEmpty: Bool { ids.isEmpty }

    /// Node ids run from 0 to 4095: Linux builds with at most 1024 NUMA nodes
    /// (CONFIG_NODES_SHIFT <= 10), so a larger id names no node on any host.
    public static let idLimit = 4096
    /// libvirt parses node sets into a bitmap of this many bits (VIR_DOMAIN_CPUMASK_LEN) and
    /// refuses any number past it, `^N` included.
    static let libvirtBitmapBits = 16384

    /// Parses libvirt's bitmap syntax as virBitmapParse does, left to right: comma-separated
    /// ids `N` and ranges `N-M` (N <= M) set bits, `^N` clears one, so `0-3,^2` is 0,1,3 and
    /// `^2,0-3` is 0-3. Spaces are allowed around numbers, `-` and `,`, and one trailing comma.
    /// Returns nil where libvirt would fail, for an id of 4096 or more set, and for an empty
    /// result. Linear in the text: ranges are set a 64-bit word at a time.
    public static func parse(_ text: String) -> NodeSet? {
        // The bitmap of ids 0..<idLimit, on the stack.
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: idLimit / 64) { bits in
            bits.initialize(repeating: 0)
            return parse(text, into: bits)
        }
    }

    private static func parse(_ text: String, into bits: UnsafeMutableBufferPointer<UInt64>) -> NodeSet? {
        var utf8 = text.utf8.makeIterator()
        var c = utf8.next()
        // A NUL ends the text, as it ends libvirt's C string.
        func advance() { c = utf8.next(); if c == 0 { c = nil } }
        if c == 0 { c = nil }
        func isSpace(_ b: UInt8?) -> Bool { b == 0x20 || (b.map { $0 >= 0x09 && $0 <= 0x0D } ?? false) }
        func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        func skipSpaces() { while isSpace(c) { advance() } }
        /// Decimal digits at the cursor; saturates past libvirt's bitmap (any such number fails).
        func number() -> Int? {
            guard isDigit(c) else { return nil }
            var n = 0
            while let d = c, isDigit(d) {
                n = min(n * 10 + Int(d - 0x30), libvirtBitmapBits)
                advance()
            }
            return n
        }

        skipSpaces()
        if c == nil { return nil }
        while c != nil {
            var negate = false
            if c == UInt8(ascii: "^") { negate = true; advance() }
            guard let start = number(), start < libvirtBitmapBits else { return nil }
            skipSpaces()
            if c == UInt8(ascii: ",") || c == nil {
                if negate {
                    if start < idLimit { bits[start / 64] &= ~(1 << UInt64(start % 64)) }
                } else {
                    guard start < idLimit else { return nil }
                    bits[start / 64] |= 1 << UInt64(start % 64)
                }
            } else if c == UInt8(ascii: "-") {
                if negate { return nil }
                advance()
                skipSpaces()
                // strtol: an optional sign, then digits.
                var minus = false
                if c == UInt8(ascii: "+") { advance() } else if c == UInt8(ascii: "-") { minus = true; advance() }
                guard let magnitude = number() else { return nil }
                let last = minus ? -magnitude : magnitude
                guard last >= start, last < idLimit else { return nil }
                setRange(bits, start, last)
                skipSpaces()
            }
            if c == UInt8(ascii: ",") {
                advance()
                skipSpaces()
            } else if c != nil {
                return nil
            }
        }

        var ids: [Int] = []
        for (w, word) in bits.enumerated() {
            var rest = word
            while rest != 0 {
                ids.append(w * 64 + rest.trailingZeroBitCount)
                rest &= rest - 1
            }
        }
        return ids.isEmpty ? nil : NodeSet(sortedUnique: ids)
    }

    private static func setRange(_ bits: UnsafeMutableBufferPointer<UInt64>, _ lo: Int, _ hi: Int) {
        var i = lo
        while i <= hi {
            let w = i / 64, b = i % 64
            let n = min(64 - b, hi - i + 1)
            let mask: UInt64 = n == 64 ? ~0 : ((1 << UInt64(n)) - 1) << UInt64(b)
            bits[w] |= mask
            i += n
        }
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
        return parts.concatenated(separator: ",")
    }

    public static func < (a: NodeSet, b: NodeSet) -> Bool { a.ids.lexicographicallyPrecedes(b.ids) }
}
