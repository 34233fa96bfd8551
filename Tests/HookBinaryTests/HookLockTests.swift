import Foundation
import Glibc
import HugepageGuardCore
import XCTest

/// The decision and the pool it is made on must be one snapshot under the ledger lock.
final class HookLockTests: XCTestCase {
    /// A start waiting for the lock while another start's QEMU finishes preallocating must
    /// see the pool as it is once it holds the lock: that other start no longer counts as a
    /// reservation, so its pages must show in the free count the waiting start reads.
    func testPrepareBegin_waitingForTheLock_readsThePoolOnlyOnceItHoldsTheLock() throws {
        let h = try HookHarness(self)
        let root = h.dir + "/sysroot"
        try FileManager.default.copyItem(atPath: HookHarness.fixtureRoot("one-node-2m"), toPath: root)
        h.sysfsRoot = root
        let freeFiles = ["/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
                         "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"].map { root + $0 }
        XCTAssertEqual(freeFiles.map { try? String(contentsOfFile: $0).trimmingCharacters(in: .whitespacesAndNewlines) },
                       ["64", "64"])

        // vm1 (48 pages) is admitted; its QEMU is about to preallocate.
        XCTAssertEqual(try h.hook("vm1", "prepare", "begin", stdin: hugepageDomain("vm1", mib: 96)).status, 0)

        // Hold the ledger lock, as vm1's `started begin` does, while vm2 (32 pages) starts.
        let lock = open(h.stateDir + "/ledger.lock", O_RDWR)
        XCTAssertGreaterThanOrEqual(lock, 0)
        XCTAssertEqual(flock(lock, LOCK_EX), 0)
        let vm2 = try h.launch("hugepage-guard-hook", ["vm2", "prepare", "begin", "-"], stdin: hugepageDomain("vm2", mib: 64))
        // vm2 has opened the lock file, so it is waiting for the lock: a hook that read the
        // pool before taking the lock has read it by now.
        XCTAssertTrue(waitUntilItOpens(h.stateDir + "/ledger.lock", process: vm2.process),
                      "vm2 exited without waiting for the lock: \(vm2.finish().stderr)")

        // vm1's QEMU has taken its pages and its `started begin` stops its reservation counting.
        for file in freeFiles { try "16\n".write(toFile: file, atomically: true, encoding: .utf8) }
        var ledger = try XCTUnwrap(h.ledger())
        XCTAssertTrue(ledger.markStarted(domain: "vm1", at: 0))
        try LedgerCodec.encode(ledger).write(toFile: h.ledgerPath, atomically: true, encoding: .utf8)
        close(lock)

        // 16 pages are free and vm1 no longer counts: vm2 doesn't fit. Reading the pool before
        // the lock would have seen 64 free and admitted it, handing out vm1's pages twice.
        let result = vm2.finish()
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("needs 32, free 16, reserved by other starts 0"), result.stderr)
    }

    /// Waits until `process` holds `path` open (one of /proc/<pid>/fd links to it); false if
    /// the process ends first. It doesn't wait on a clock.
    private func waitUntilItOpens(_ path: String, process: Process) -> Bool {
        let fdDir = "/proc/\(process.processIdentifier)/fd"
        while process.isRunning {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? []
            if fds.contains(where: { (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDir + "/" + $0)) == path }) {
                return true
            }
            usleep(1000)
        }
        return false
    }
}
