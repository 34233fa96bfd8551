import Glibc
import HugepageGuardCore
import HugepageGuardHost
import HugepageGuardLibvirt

/// The I/O half of a reconciliation: what libvirt, sysfs and hugetlbfs say right now.
public enum HostScan {
    /// Running domains with the demand of their live XML. A domain that stops while we
    /// look is skipped; XML we can't parse is reported through `unparsable`.
    public static func runningDomains(_ conn: Connection, context: PageSizeContext,
                                      unparsable: (String, String) -> Void = { _, _ in }) throws(LibvirtError) -> [RunningDomain] {
        var out: [RunningDomain] = []
        for dom in try conn.listAllDomains(activeOnly: true) {
            let xml: String
            do { xml = try dom.xml() } catch {
                if error.isNoDomain { continue }
                throw error
            }
            out.append(try domain(dom, xml: xml, context: context, unparsable: unparsable))
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

/// `sd_notify(0, "READY=1")` without libsystemd: one datagram to `$NOTIFY_SOCKET`.
public enum ServiceNotify {
    @discardableResult
    public static func send(_ state: String) -> Bool {
        guard let raw = getenv("NOTIFY_SOCKET") else { return false }
        let path = String(cString: raw)
        guard !path.isEmpty else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }   // abstract namespace
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let sent = state.withCString { msg in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, msg, strlen(msg), 0, $0, len) }
            }
        }
        return sent >= 0
    }
}
