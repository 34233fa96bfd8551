import Glibc
import HugepageGuardCore

/// Processes, identified robustly against pid reuse.
public enum ProcessTable {
    /// The process `pid` with its start time, from `<procRoot>/proc/<pid>/stat`.
    public static func ref(pid: Int32, procRoot: String = "/proc") -> ProcessRef? {
        guard pid > 0, let stat = try? FileSystem.readFile("\(procRoot)/\(pid)/stat", limit: ReadLimit.kernelFile),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces and parentheses): state is 3rd.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = UInt64(fields[19]) else { return nil }
        return ProcessRef(pid: pid, startTicks: start)
    }

    /// The libvirt daemon (libvirtd or virtqemud) among the ancestors of this process: the
    /// owner of a start. An admin's wrapper script between it and the hook is skipped.
    public static func libvirtDaemonAncestor(procRoot: String = "/proc") -> ProcessRef? {
        var pid = getppid()
        for _ in 0..<8 where pid > 1 {
            guard let stat = try? FileSystem.readFile("\(procRoot)/\(pid)/stat", limit: ReadLimit.kernelFile),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let comm = stat[stat.index(after: open)..<close]
            if comm == "libvirtd" || comm == "virtqemud" { return ref(pid: pid, procRoot: procRoot) }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = Int32(fields[1]) else { return nil }
            pid = parent
        }
        return nil
    }

    public static func isAlive(_ ref: ProcessRef, procRoot: String = "/proc") -> Bool {
        self.ref(pid: ref.pid, procRoot: procRoot) == ref
    }
}
