import HugepageGuardLibvirt
import XCTest

/// Event plumbing on `test:///default`, which emits lifecycle events only while the
/// default event loop runs. The read-write connection shares the driver's state with the
/// read-only one, so what one does the other hears.
final class DomainEventTests: XCTestCase {
    static let xml = """
    <domain type='test'><name>hgagent-evt</name><memory unit='MiB'>64</memory>
    <os><type>hvm</type></os></domain>
    """

    func testSubscription_deliversDefineStartDestroyUndefine_asCopiedSendableEvents() async throws {
        _ = try EventLoop.startDefault()
        let watcher = try Connection.openReadOnly("test:///default")
        let actor = try Connection.open("test:///default")
        defer { actor.close(); watcher.close() }

        let (stream, continuation) = AsyncStream.makeStream(of: DomainEvent.self)
        let sub = try DomainEventSubscription.register(on: watcher) { continuation.yield($0) }
        XCTAssertEqual(sub.count, 4)

        let dom = try actor.defineDomain(xml: Self.xml)
        try dom.start()
        try dom.destroy()
        try dom.undefine()

        var seen: [String] = []
        var iterator = stream.makeAsyncIterator()
        // The deadline ends the stream itself, so a missing event fails the test instead of
        // leaving it waiting on `next()` forever.
        let deadline = Task {
            try await Task.sleep(for: .seconds(10))
            continuation.finish()
        }
        defer { deadline.cancel() }
        while seen.count < 4 {
            guard let e = await iterator.next() else { break }
            guard e.domain.name == "hgagent-evt" else { continue }
            XCTAssertEqual(e.domain.uuid.count, 36)
            seen.append("\(e.name)/\(e.detailName ?? "-")")
        }
        XCTAssertEqual(seen, ["defined/added", "started/booted", "stopped/destroyed", "undefined/removed"])

        sub.deregister()
        XCTAssertEqual(sub.count, 0)
        // After deregistering, nothing more arrives.
        let again = try actor.defineDomain(xml: Self.xml)
        try again.undefine()
        try await Task.sleep(for: .milliseconds(300))
        continuation.finish()
        var late: [DomainEvent] = []
        while let e = await iterator.next() { late.append(e) }
        XCTAssertTrue(late.isEmpty, "events after deregister: \(late)")
    }

    func testDeregister_releasesEverySinkThroughLibvirtsFreeCallback() async throws {
        _ = try EventLoop.startDefault()
        let conn = try Connection.openReadOnly("test:///default")
        weak var weakToken: Token?
        do {
            let token = Token()
            weakToken = token
            let sub = try DomainEventSubscription.register(on: conn) { _ in _ = token }
            sub.deregister()
        }
        // libvirt frees callback data from the event loop thread, shortly after.
        let deadline = ContinuousClock.now + .seconds(3)
        while weakToken != nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertNil(weakToken, "the sink (and what it captured) outlived its registration")
        conn.close()
    }
}

private final class Token: @unchecked Sendable {}
