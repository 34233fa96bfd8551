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
