import Glibc
import HugepageGuardCore
import HugepageGuardHost
import HugepageGuardLibvirt

/// What the host looks like at one moment: the pool, the running domains and the files
/// under libvirt's hugetlbfs directories. The agent and `status` reconcile it the same way.
public struct HostState: Sendable {
    public var pool: HugepagePool
    public var running: [RunningDomain]
    public var files: [HugetlbfsFile]
    /// Boot-clock second at which the running domains were listed.
    public var listedAt: Int64
}

/// Why a scan failed: the kernel's pool or libvirt's domain list.
public enum HostScanError: Error, CustomStringConvertible {
    case pool(HostError)
    case libvirt(LibvirtError)
    public var description: String {
        switch self {
        case let .pool(e): "cannot read the hugepage pool: \(e)"
        case let .libvirt(e): "cannot list running VMs: \(e)"
        }
    }
}

/// The I/O half of a reconciliation: what libvirt, sysfs and hugetlbfs say right now.
public enum HostScan {
    /// The pool, then the running domains (through the pool's page-size context), then
    /// libvirt's hugetlbfs files.
    /// `digestDirectory` is the state directory, where the digests of libvirt's capabilities
    /// cache are kept (LibvirtHostReader).
    public static func scan(_ conn: Connection, environment: GuardEnvironment, digestDirectory: String? = nil,
                            unparsable: (String, String) -> Void = { _, _ in }) throws(HostScanError) -> HostState {
        let pool: HugepagePool
        do { pool = try SysfsPoolReader(environment: environment).read() } catch { throw .pool(error) }
        let listedAt = BootClock.now()
        let running: [RunningDomain]
        do {
            running = try runningDomains(conn, context: LibvirtHostReader(environment: environment, digestDirectory: digestDirectory)
                                                        .context(pool: pool),
                                         environment: environment, unparsable: unparsable)
        } catch { throw .libvirt(error) }
        return HostState(pool: pool, running: running, files: libvirtHugetlbfsFiles(mounts: pool.mounts, environment: environment),
                         listedAt: listedAt)
    }

    /// Running domains with the demand of their live XML. A domain that stops while we
    /// look is skipped; XML we can't parse is reported through `unparsable`.
    public static func runningDomains(_ conn: Connection, context: PageSizeContext, environment: GuardEnvironment? = nil,
                                      unparsable: (String, String) -> Void = { _, _ in }) throws(LibvirtError) -> [RunningDomain] {
        var out: [RunningDomain] = []
        for dom in try conn.listAllDomains(activeOnly: true) {
            let xml: String
            do { xml = try dom.xml() } catch {
                if error.isNoDomain { continue }
                throw error
            }
            var d = try domain(dom, xml: xml, context: context, unparsable: unparsable)
            if let environment, d.usesHugepages { d.placement = placement(domain: d.name, environment: environment) }
            out.append(d)
        }
        return out
    }

    /// One domain's identity and demand from its XML.
    public static func domain(_ dom: Domain, xml: String, context: PageSizeContext,
                              unparsable: (String, String) -> Void = { _, _ in }) throws(LibvirtError) -> RunningDomain {
        let name = dom.name, uuid = dom.uuid
        let demand: DomainDemand
        do { demand = DomainDemand(spec: try DomainSpec(xml: xml), context: context) } catch {
            unparsable(name, "\(error)")
            demand = DomainDemand(domain: name, uuid: uuid, items: [])
        }
        return RunningDomain(name: name, uuid: uuid, id: dom.id, demand: demand)
    }

    /// Where a running domain's QEMU holds its hugepages: the pid from libvirt's pid file
    /// (`/run/libvirt/qemu/<name>.pid`), checked against the process's `-name guest=<name>`
    /// so a stale pid file can't name another process, then `/proc/<pid>/numa_maps`. nil when
    /// any of it can't be read (the caller falls back to the model).
    public static func placement(domain name: String, environment: GuardEnvironment) -> HugepagePlacement? {
        guard let text = try? FileSystem.readText(environment.host("/run/libvirt/qemu/\(name).pid")),
              let pid = Int32(text.filter { !$0.isWhitespace }), pid > 0,
              let cmdline = try? FileSystem.readText(environment.host("/proc/\(pid)/cmdline")),
              isQEMU(cmdline: cmdline, of: name),
              let maps = try? FileSystem.readText(environment.host("/proc/\(pid)/numa_maps")) else { return nil }
        return try? NumaMaps.hugepagePlacement(maps)
    }

    /// Whether a NUL-separated command line is QEMU's for this domain: libvirt passes
    /// `-name guest=<name>,...`, with commas in the name doubled (QEMU's option escaping).
    public static func isQEMU(cmdline: String, of name: String) -> Bool {
        let args = cmdline.split(separator: "\0", omittingEmptySubsequences: false)
        guard let i = args.firstIndex(of: "-name"), i + 1 < args.count else { return false }
        let want = "guest=" + name.split(separator: ",", omittingEmptySubsequences: false).joined(separator: ",,")
        let arg = args[i + 1]
        return arg == want || arg.hasPrefix(want + ",") && !arg.hasPrefix(want + ",,")
    }

    /// Files under `<mount>/libvirt/qemu/` of every hugetlbfs mount, one directory level deep
    /// (libvirt's per-domain `<id>-<name>` directories), with the pages each holds.
    public static func libvirtHugetlbfsFiles(mounts: [HugetlbfsMount], environment: GuardEnvironment) -> [HugetlbfsFile] {
        var out: [HugetlbfsFile] = []
        for m in mounts {
            let base = environment.host(m.path) + "/libvirt/qemu"
            for entry in FileSystem.list(base) ?? [] {
                let path = base + "/" + entry
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    for inner in FileSystem.list(path) ?? [] {
                        var ist = stat()
                        let ipath = path + "/" + inner
                        guard lstat(ipath, &ist) == 0, (ist.st_mode & S_IFMT) == S_IFREG else { continue }
                        out.append(HugetlbfsFile(path: ipath, pageSizeKiB: m.pageSizeKiB, domainDir: entry,
                                                 pages: pages(ist, pageSizeKiB: m.pageSizeKiB)))
                    }
                } else if (st.st_mode & S_IFMT) == S_IFREG {
                    out.append(HugetlbfsFile(path: path, pageSizeKiB: m.pageSizeKiB, domainDir: nil,
                                             pages: pages(st, pageSizeKiB: m.pageSizeKiB)))
                }
            }
        }
        return out
    }

    /// hugetlbfs counts a file's allocated pages in `st_blocks` (512-byte units).
    static func pages(_ st: stat, pageSizeKiB: UInt64) -> UInt64 {
        let bytes = UInt64(max(0, st.st_blocks)) * 512
        let page = pageSizeKiB * 1024
        return (bytes + page - 1) / page
    }
}
