import Glibc
import HugepageGuardCore

/// Processes, identified robustly against pid reuse.
public enum ProcessTable {
    /// The process `pid` with its start time, from `<procRoot>/proc/<pid>/stat`.
    public static func ref(pid: Int32, procRoot: String = "/proc") -> ProcessRef? {
        guard pid > 0, let stat = try? FileSystem.readFile("\(procRoot)/\(pid)/stat", limit: ReadLimit.kernelFile),
              let start = startTicks(stat: stat) else { return nil }
        return ProcessRef(pid: pid, startTicks: start)
    }

    /// The start time in a `/proc/<pid>/stat` text (field 22).
    static func startTicks(stat: String) -> UInt64? {
        fieldAfterCommand(stat: stat, 19).flatMap { UInt64($0) }
    }

    /// Field `index` of those after the command name (which may hold spaces and parentheses;
    /// state is field 0). The kernel writes them as ASCII numbers and letters, so they are
    /// found on bytes.
    static func fieldAfterCommand(stat: String, _ index: Int) -> Substring? {
        let bytes = stat.utf8
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var n = 0
        var i = bytes.index(after: close)
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: " ") { i = bytes.index(after: i); continue }
            var end = i
            while end < bytes.endIndex, bytes[end] != UInt8(ascii: " ") { end = bytes.index(after: end) }
            if n == index { return Substring(bytes[i..<end]) }
            n += 1
            i = end
        }
        return nil
    }

    /// The libvirt daemon (libvirtd or virtqemud) among the ancestors of this process: the
    /// owner of a start. An admin's wrapper script between it and the hook is skipped.
    public static func libvirtDaemonAncestor(procRoot: String = "/proc") -> ProcessRef? {
        var pid = getppid()
        for _ in 0..<8 where pid > 1 {
            // The name is between the first `(` and the last `)`, found as bytes: a name that
            // starts with a combining mark makes `(` part of a larger Character.
            guard let stat = try? FileSystem.readFile("\(procRoot)/\(pid)/stat", limit: ReadLimit.kernelFile),
                  let open = stat.utf8.firstIndex(of: UInt8(ascii: "(")), let close = stat.utf8.lastIndex(of: UInt8(ascii: ")")),
                  open < close else { return nil }
            let comm = Substring(stat.utf8[stat.utf8.index(after: open)..<close])
            // The start time from the same read, so that it is this process's.
            if comm == "libvirtd" || comm == "virtqemud" { return startTicks(stat: stat).map { ProcessRef(pid: pid, startTicks: $0) } }
            guard let field = fieldAfterCommand(stat: stat, 1), let parent = Int32(field) else { return nil }
            pid = parent
        }
        return nil
    }

    public static func isAlive(_ ref: ProcessRef, procRoot: String = "/proc") -> Bool {
        self.ref(pid: ref.pid, procRoot: procRoot) == ref
    }
}
