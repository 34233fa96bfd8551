@testable import HugepageGuardCore
import XCTest

final class DecisionPolicyTests: XCTestCase {
    private let tooBig = demand2M([(nil, 48)])
    private let small = pool2M(free: [40])

    func testPolicy_enforceIsTheDefault_andRefuses() {
        XCTAssertEqual(GuardConfig().policy, .enforce)
        let d = decide(tooBig, small)
        XCTAssertEqual(d.verdict, .refuse)
        XCTAssertEqual(d.policy, .enforce)
    }

    func testPolicy_warn_admitsButKeepsTheReasons() {
        let d = decide(tooBig, small, config: config(policy: .warn))
        XCTAssertEqual(d.verdict, .admit)
        XCTAssertFalse(d.fits)
        XCTAssertEqual(d.shortfalls.first?.short, 8)
    }

    func testPolicy_off_admitsWithoutChecking() {
        let d = decide(tooBig, small, config: config(policy: .off))
        XCTAssertEqual(d.verdict, .admit)
        XCTAssertEqual(d.reasons, [])
        XCTAssertEqual(d.policy, .off)
    }

    func testPolicy_domainMetadataOverridesTheHost() {
        XCTAssertEqual(decide(tooBig, small, config: config(policy: .warn), domainPolicy: .enforce).verdict, .refuse)
        XCTAssertEqual(decide(tooBig, small, config: config(policy: .enforce), domainPolicy: .off).verdict, .admit)
        let warn = decide(tooBig, small, config: config(policy: .enforce), domainPolicy: .warn)
        XCTAssertEqual(warn.verdict, .admit)
        XCTAssertEqual(warn.policy, .warn)
    }
}
