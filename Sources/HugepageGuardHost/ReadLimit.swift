/// The most the guard reads from any one input. Each is far above what a real host or
/// domain produces; past it the input is refused with an error naming it ("larger than
/// 16 MiB"), so no file, pipe or device can make the hook read until memory runs out.
/// The README's "Limits" section lists them.
public enum ReadLimit {
    /// The domain XML libvirt writes on the hook's stdin (and `check --xml`).
    public static let domainXML = 16 << 20
    /// The reservation ledger: an entry is a few hundred bytes plus the domain's name.
    public static let ledger = 16 << 20
    /// The config file.
    public static let config = 1 << 20
    /// One sysfs or procfs file: a hugepage counter, `/proc/meminfo`, `/proc/mounts`,
    /// `/proc/<pid>/stat`.
    public static let kernelFile = 4 << 20

    /// `limit` for a message: "16 MiB", "4096 bytes".
    public static func describe(_ limit: Int) -> String {
        if limit >= 1 << 20, limit % (1 << 20) == 0 { return "\(limit >> 20) MiB" }
        if limit >= 1 << 10, limit % (1 << 10) == 0 { return "\(limit >> 10) KiB" }
        return "\(limit) bytes"
    }
}
