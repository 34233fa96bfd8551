import CLibvirt
import Glibc
import Synchronization

/// libvirt's default event loop (`virEventRegisterDefaultImpl` + `virEventRunDefaultImpl`),
/// run on a dedicated thread. Start it before opening any connection that wants events.
/// Foundation-free on purpose: it keeps the agent's resident size small.
public final class EventLoop: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    private static let shared = Mutex<EventLoop?>(nil)

    private init() {}

    /// Registers the default implementation once per process (`virEventRegisterDefaultImpl`)
    /// and starts the thread that loops on `virEventRunDefaultImpl`. Idempotent.
    public static func startDefault() throws(LibvirtError) -> EventLoop {
        let result: Result<EventLoop, LibvirtError> = shared.withLock { slot in
            if let loop = slot { return .success(loop) }
            LibvirtProcess.setUp()
            if virInitialize() < 0 { return .failure(LibvirtError.last("virInitialize")) }
            if virEventRegisterDefaultImpl() < 0 { return .failure(LibvirtError.last("virEventRegisterDefaultImpl")) }
            let loop = EventLoop()
            var thread = pthread_t()
            let box = Unmanaged.passRetained(loop).toOpaque()
            let rc = pthread_create(&thread, nil, { arg in
                let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
                loop.runLoop()
                return nil
            }, box)
            if rc != 0 {
                Unmanaged<EventLoop>.fromOpaque(box).release()
                return .failure(LibvirtError(code: -1, domain: 0, message: "cannot start the event loop thread: errno \(rc)",
                                             function: "pthread_create"))
            }
            pthread_detach(thread)
            slot = loop
            return .success(loop)
        }
        return try result.get()
    }

    private func runLoop() {
        while !stopping.load(ordering: .acquiring) {
            // One iteration: poll the registered handles and timeouts, dispatch callbacks.
            if virEventRunDefaultImpl() < 0 {
                // A failing iteration would spin; errors here are transient poll failures.
                usleep(10_000)
            }
        }
        finished.store(true, ordering: .releasing)
    }

    /// Stops the loop thread after its current iteration, waking it with a one-shot
    /// zero-delay timer (`virEventAddTimeout`). Waits up to `timeout` seconds.
    public func stop(timeout: Double = 2) {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = virEventAddTimeout(0, { timer, _ in virEventRemoveTimeout(timer) }, nil, nil)
        var waited = 0.0
        while !finished.load(ordering: .acquiring), waited < timeout {
            usleep(5_000)
            waited += 0.005
        }
    }
}
