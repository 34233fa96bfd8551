import CLibvirt
import Foundation

/// libvirt's default event loop (`virEventRegisterDefaultImpl` + `virEventRunDefaultImpl`),
/// run on a dedicated thread. Start it before opening any connection that wants events.
public final class EventLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var thread: Thread?
    private var finished = DispatchSemaphore(value: 0)

    nonisolated(unsafe) private static var shared: EventLoop?
    private static let sharedLock = NSLock()

    private init() {}

    /// Registers the default implementation once per process (`virEventRegisterDefaultImpl`)
    /// and starts the thread that loops on `virEventRunDefaultImpl`. Idempotent.
    public static func startDefault() throws(LibvirtError) -> EventLoop {
        sharedLock.lock(); defer { sharedLock.unlock() }
        if let loop = shared { return loop }
        silenceDefaultErrorPrinter()
        if virInitialize() < 0 { throw LibvirtError.last("virInitialize") }
        if virEventRegisterDefaultImpl() < 0 { throw LibvirtError.last("virEventRegisterDefaultImpl") }
        let loop = EventLoop()
        let t = Thread { loop.runLoop() }
        t.name = "libvirt-event-loop"
        loop.thread = t
        t.start()
        shared = loop
        return loop
    }

    private func runLoop() {
        while !isStopping {
            // One iteration: poll the registered handles and timeouts, dispatch callbacks.
            if virEventRunDefaultImpl() < 0 {
                // A failing iteration would spin; errors here are transient poll failures.
                usleep(10_000)
            }
        }
        finished.signal()
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    /// Stops the loop thread after its current iteration, waking it with a one-shot
    /// zero-delay timer (`virEventAddTimeout`). Waits up to `timeout` seconds.
    public func stop(timeout: Double = 2) {
        lock.lock()
        if stopping { lock.unlock(); return }
        stopping = true
        lock.unlock()
        let id = virEventAddTimeout(0, { timer, _ in virEventRemoveTimeout(timer) }, nil, nil)
        _ = id
        _ = finished.wait(timeout: .now() + timeout)
    }
}
