#if hasFeature(Embedded)
import CSystem
#else
import Glibc
#endif

/// Text from the kernel, libvirt and the config read as ASCII bytes and scalars, never as
/// Characters: what libvirt's C does, and no grapheme or Unicode case tables on the hook's path.
extension StringProtocol {
    /// Foundation-free trim of the given ASCII characters from both ends, as libvirt skips
    /// blanks byte by byte (no grapheme clusters: a blank before a combining mark is trimmed
    /// too). Trimmed on UTF-8 bytes: an ASCII byte is always a whole scalar there.
    func trimmingCharacters(in set: StaticString) -> String {
        let text = Substring(self), utf8 = text.utf8
        func trimmed(_ b: UInt8) -> Bool {
            b < 0x80 && set.withUTF8Buffer { $0.contains(b) }
        }
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, trimmed(utf8[start]) { start = utf8.index(after: start) }
        while end > start, trimmed(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return String(text[start..<end])
    }

    /// Whether the text is one or more ASCII digits and nothing else.
    var isASCIIDigits: Bool { !isEmpty && utf8.allSatisfy { $0 &- UInt8(ascii: "0") < 10 } }

    /// The ASCII digits at the start, and what follows them.
    var splitAtFirstNonDigit: (digits: SubSequence, rest: SubSequence) {
        let end = utf8.firstIndex { $0 &- UInt8(ascii: "0") >= 10 } ?? endIndex
        return (self[..<end], self[end...])
    }

    /// ASCII letters in lower case, everything else as it is: how libvirt compares units
    /// and how the config's sizes are spelled (STRCASEEQ is ASCII-only).
    func asciiLowercased() -> String {
        let utf8 = self.utf8
        guard utf8.contains(where: { $0 &- UInt8(ascii: "A") < 26 }) else { return String(self) }
        return String(unsafeUninitializedCapacity: utf8.count) { buffer in
            var i = 0
            for b in utf8 { buffer[i] = b &- UInt8(ascii: "A") < 26 ? b + 32 : b; i += 1 }
            return i
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// The index of the first `a` or `b` at or after `start`; `count` when there is none (and
    /// `start` when it is already past the end). The hook finds lines this way in qemu.conf
    /// (about 37 KB, nearly all comments, as Debian ships it), /proc/meminfo, /proc/mounts and
    /// the ledger on every decision, so it uses the C library's `memchr`, which looks at a
    /// vector register's worth of bytes at a time: once for `a` and, when `b` differs, once
    /// more for `b` before it.
    func firstIndex(of a: UInt8, or b: UInt8, from start: Int) -> Int {
        guard let base = baseAddress, start < count else { return Swift.max(start, count) }
        let from = base + start
        var end = count - start
        if let hit = memchr(from, Int32(a), end) { end = UnsafeRawPointer(from).distance(to: UnsafeRawPointer(hit)) }
        if b != a, end > 0, let hit = memchr(from, Int32(b), end) { end = UnsafeRawPointer(from).distance(to: UnsafeRawPointer(hit)) }
        return start + end
    }

    /// Byte-for-byte equality, the length first: keys and values found in a line of text,
    /// compared without making Strings of them.
    func hasSameBytes(as other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        for i in 0..<count where self[i] != other[i] { return false }
        return true
    }

    func hasSameBytes(as literal: StaticString) -> Bool {
        hasSameBytes(as: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Whether these bytes begin with `prefix`, byte for byte.
    func startsWithBytes(of prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        count >= prefix.count && UnsafeBufferPointer(rebasing: self[..<prefix.count]).hasSameBytes(as: prefix)
    }
}

/// A number written in ASCII decimal digits, as the kernel's counters, the ledger and the
/// config write one: digits only (no sign, no blank, not empty), at most `UInt64.max`. The one
/// parser of such numbers; each caller says what it allows around them.
enum ASCIIDecimal: Equatable {
    case value(UInt64)
    /// Digits only, but past `UInt64.max`.
    case tooLarge
    /// Empty, or a byte that isn't a digit.
    case invalid

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { self = .invalid; return }
        var n: UInt64 = 0
        var overflow = false
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { self = .invalid; return }
            if overflow { continue }  // the rest must still be digits, or it is not a number
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(digit))
            overflow = o1 || o2
            n = next
        }
        self = overflow ? .tooLarge : .value(n)
    }

    init(_ text: Substring) {
        var text = text
        self = text.withUTF8 { ASCIIDecimal($0) }
    }

    /// The number; nil when there is none, or when it is past `UInt64.max`.
    var value: UInt64? { if case .value(let n) = self { return n } else { return nil } }
}
