#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// Processes, identified robustly against pid reuse.
///
/// `/proc/<pid>/stat` is read with one read(2) into a stack buffer and parsed as bytes: the
/// hook walks it on every decision, so it builds no strings.
public enum ProcessTable {
    /// The process `pid` with its start time, from `<procRoot>/proc/<pid>/stat`.
    public static func ref(pid: Int32, procRoot: String = "/proc") -> ProcessRef? {
        guard pid > 0 else { return nil }
        return withStat(pid: pid, procRoot: procRoot) { stat in
            StatLine(stat)?.startTicks.map { ProcessRef(pid: pid, startTicks: $0) }
        }
    }

    /// The libvirt daemon (libvirtd or virtqemud) among the ancestors of this process: the
    /// owner of a start. An admin's wrapper script between it and the hook is skipped.
    public static func libvirtDaemonAncestor(procRoot: String = "/proc") -> ProcessRef? {
        var pid = getppid()
        for _ in 0..<8 where pid > 1 {
            enum Step { case found(ProcessRef?), parent(Int32) }
            let step = withStat(pid: pid, procRoot: procRoot) { stat -> Step? in
                guard let line = StatLine(stat) else { return nil }
                // The start time from the same read, so that it is this process's.
                if line.commandIs("libvirtd") || line.commandIs("virtqemud") {
                    return .found(line.startTicks.map { ProcessRef(pid: pid, startTicks: $0) })
                }
                return line.parent.map { .parent($0) }
            }
            switch step {
            case .found(let ref): return ref
            case .parent(let parent): pid = parent
            case nil: return nil
            }
        }
        return nil
    }

    public static func isAlive(_ ref: ProcessRef, procRoot: String = "/proc") -> Bool {
        self.ref(pid: ref.pid, procRoot: procRoot) == ref
    }

    /// `body` over the bytes of `<procRoot>/<pid>/stat`; nil if it can't be read whole in one
    /// read of 4 KiB (a stat line is a few hundred bytes).
    private static func withStat<T>(pid: Int32, procRoot: String, _ body: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        let fd = open(procRoot + "/" + String(pid) + "/stat", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> T? in
            let n = read(fd, buffer.baseAddress, buffer.count)
            guard n > 0, n < buffer.count else { return nil }
            return body(UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }
}

/// One `/proc/<pid>/stat` line: `pid (comm) state ppid ...`. The command name may hold
/// spaces and parentheses, so it is what lies between the first `(` and the last `)`, and
/// the numbered fields follow the last `)` (state is field 0). Found on bytes: a name that
/// starts with a combining mark would make `(` part of a larger Character.
struct StatLine {
    let bytes: UnsafeBufferPointer<UInt8>
    let commandStart: Int, commandEnd: Int

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")),
              open < close else { return nil }
        self.bytes = bytes; commandStart = open + 1; commandEnd = close
    }

    func commandIs(_ name: StaticString) -> Bool {
        let command = UnsafeBufferPointer(rebasing: bytes[commandStart..<commandEnd])
        return name.withUTF8Buffer { command.elementsEqual($0) }
    }

    var parent: Int32? { field(1).flatMap { $0 <= UInt64(Int32.max) ? Int32($0) : nil } }
    var startTicks: UInt64? { field(19) }

    /// Field `index` after the command name, as an unsigned decimal number.
    func field(_ index: Int) -> UInt64? {
        var n = 0, i = commandEnd + 1
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: " ") { i += 1; continue }
            var end = i
            while end < bytes.count, bytes[end] != UInt8(ascii: " "), bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if n == index { return PoolText.count(bytes: UnsafeBufferPointer(rebasing: bytes[i..<end])) }
            n += 1
            i = end + 1
        }
        return nil
    }
}
