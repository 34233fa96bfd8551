import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// `Tests/Fixtures/sysfs/<name>`, found from this file's own path.
func fixtureRoot(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sysfs/\(name)").path
}

/// A fresh directory under the system temp dir, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hg-host-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// A copy of a fixture tree that a test may change.
func copyOfFixture(_ name: String, in dir: String) throws -> String {
    let target = dir + "/" + name
    try FileManager.default.copyItem(atPath: fixtureRoot(name), toPath: target)
    return target
}

func write(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

/// A tiny thread-safe counter for concurrent tests.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&value); lock.unlock() }
    var current: T { lock.lock(); defer { lock.unlock() }; return value }
}
