import HugepageGuardCore

extension FuzzTarget {
    /// The ledger file: decode; whatever decodes must survive encode -> decode unchanged (the
    /// hook rewrites the ledger at every reservation), and must go through what `prepare begin`
    /// does with it: expire stale entries, then count the other starts' pages in a decision.
    static let ledger = FuzzTarget(name: "ledger", seeds: []) { bytes in
        guard var ledger = try? LedgerCodec.decode(text(bytes)) else { return }
        let encoded = LedgerCodec.encode(ledger)
        let again: Ledger
        do { again = try LedgerCodec.decode(encoded) } catch {
            violated("a decoded ledger re-encodes to text that does not decode: \(error)\n\(encoded)")
        }
        if again != ledger { violated("ledger changed across encode -> decode:\n\(encoded)") }

        // Whether an entry has expired depends on the clock: decide with every entry still in
        // flight, then expire them as the hook would long after, and decide again.
        decideOnSamplePool(config: GuardConfig(), inFlight: ledger.inFlight(excluding: DomainIdentity?.none))
        _ = ledger.expire(now: 1_000_000, timeout: GuardConfig().reservationTimeout, isAlive: { _ in true })
        decideOnSamplePool(config: GuardConfig(), inFlight: ledger.inFlight(excluding: DomainIdentity?.none))
    }
}
