/// Sums and differences of page counts that come from outside (sysfs, the config, the
/// ledger, the domain XML), where any one count may be as large as `UInt64.max`.
///
/// A sum is taken exactly in 128 bits (it would need 2^64 terms to overflow), compared
/// exactly, and only narrowed to `UInt64` to be shown: there it saturates, so `UInt64.max`
/// in a figure means "at least 18446744073709551615", which no real pool comes near.
public enum PageArithmetic {
    public static func sum<S: Sequence>(_ counts: S) -> UInt128 where S.Element == UInt64 {
        counts.reduce(UInt128(0)) { $0 + UInt128($1) }
    }

    /// `a - b`, or 0 when `b` is larger.
    public static func excess(_ a: UInt128, over b: UInt128) -> UInt128 { a > b ? a - b : 0 }

    /// `value` as a figure to show, saturated at `UInt64.max`.
    public static func shown(_ value: UInt128) -> UInt64 { value > UInt128(UInt64.max) ? .max : UInt64(value) }
}
