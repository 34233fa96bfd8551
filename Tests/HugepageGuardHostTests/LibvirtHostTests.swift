import Foundation
import HugepageGuardCore
@testable import HugepageGuardHost
import XCTest

/// libvirt's side of the host, read under a fixture root: qemu.conf, the capabilities cache,
/// the hugetlbfs mounts libvirtd knows, the cpuset cgroup; and the admission that uses them.
final class LibvirtHostTests: XCTestCase {
    private var root = ""
    private var dir = ""

    private func host(_ fixture: String) throws {
        dir = try temporaryDirectory(self)
        root = try copyOfFixture(fixture, in: dir)
    }

    private func put(_ text: String, at path: String) throws {
        let full = root + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try write(text, to: full)
    }

    private func appendMount(_ line: String) throws {
        let path = root + "/proc/mounts"
        try write((String(data: contents(path) ?? Data(), encoding: .utf8) ?? "") + line + "\n", to: path)
    }

    private var environment: GuardEnvironment {
        GuardEnvironment(sysfsRoot: root, stateDirOverride: dir + "/state", configPath: dir + "/absent.conf")
    }

    private func decide(_ xml: String) -> Admission.Outcome {
        Admission(environment: environment).decide(xml: xml, operation: "check", reserveFor: nil, reserve: false)
    }

    private func facts() throws -> LibvirtHostReader.Facts {
        LibvirtHostReader(environment: environment).read(pool: try SysfsPoolReader(environment: environment).read())
    }

    private func domain(mib: Int, backing: String = "<hugepages/>", cells: String = "", numatune: String = "",
                        machine: String = "pc-i440fx-7.2") -> String {
        """
        <domain type='kvm'><name>vm</name><memory unit='MiB'>\(mib)</memory>
        <memoryBacking>\(backing)</memoryBacking>
        <os><type arch='x86_64' machine='\(machine)'>hvm</type></os>
        \(numatune.isEmpty ? "" : "<numatune>\(numatune)</numatune>")
        \(cells.isEmpty ? "" : "<cpu><numa>\(cells)</numa></cpu>")
        <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
        """
    }

    private func report(_ outcome: Admission.Outcome, file: StaticString = #filePath, line: UInt = #line) -> DecisionReport? {
        guard case let .decided(_, report, _) = outcome else {
            XCTFail("expected a decision, got \(outcome)", file: file, line: line); return nil
        }
        return report
    }

    // MARK: class 3: qemu.conf

    func testHugetlbfsMountList_makesTheSecondEntryTheDefault() throws {
        try host("two-nodes-2m-1g")
        try put("hugetlbfs_mount = [\"/dev/hugepages\", \"/dev/hugepages1G\"]\n", at: "/etc/libvirt/qemu.conf")
        XCTAssertEqual(try facts().hugetlbfs.defaultPageKiB, 1_048_576)
        // 2 GiB of <hugepages/> takes 2 x 1 GiB, not 1024 x 2 MiB.
        XCTAssertEqual(report(decide(domain(mib: 2048)))?.decision.demand.items,
                       [DemandItem(pageSizeKiB: 1_048_576, hostNodes: nil, pages: 2)])
        // 96 MiB can't start on 1 GiB pages: refused with the reason, before QEMU fails.
        guard let refused = report(decide(domain(mib: 96))) else { return }
        XCTAssertEqual(refused.decision.verdict, .refuse)
        XCTAssertTrue(refused.refusalParagraph.contains("smaller than one 1 GiB page"), refused.refusalParagraph)
    }

    func testLibvirtsMounts_comeFromTheReadingThePoolWasTakenWith() throws {
        try host("two-nodes-2m-1g")
        let pool = try SysfsPoolReader(environment: environment).read()
        XCTAssertEqual(pool.mountTable?.filter { $0.fsType == "hugetlbfs" }.map(\.path), ["/dev/hugepages", "/dev/hugepages1G"])
        // /proc/mounts is read once per decision: what changes in it afterwards is not seen.
        try FileManager.default.removeItem(atPath: root + "/proc/mounts")
        XCTAssertEqual(LibvirtHostReader(environment: environment).read(pool: pool).hugetlbfs.mounts.map(\.path),
                       ["/dev/hugepages", "/dev/hugepages1G"])
        var elsewhere = pool
        elsewhere.mountTable = nil  // a pool not read from this host: libvirt's reader reads the file itself
        XCTAssertEqual(LibvirtHostReader(environment: environment).read(pool: elsewhere).hugetlbfs.mounts, [])
    }

    func testHugetlbfsMountListEntryNotOnHugetlbfs_isNotUsable_andSaidInTheLog() throws {
        try host("one-node-2m")
        try put("hugetlbfs_mount = [\"/dev/hugepages\", \"/srv/gone\"]\n", at: "/etc/libvirt/qemu.conf")
        let f = try facts()
        XCTAssertEqual(f.hugetlbfs.mounts.map(\.path), ["/dev/hugepages"])
        XCTAssertTrue(f.notes.contains { $0.contains("/srv/gone") }, "\(f.notes)")
    }

    func testWithoutQemuConfList_theKernelDefaultMountIsTheDefault() throws {
        try host("two-nodes-2m-1g")
        XCTAssertEqual(try facts().hugetlbfs.defaultPageKiB, 2048)
        XCTAssertEqual(report(decide(domain(mib: 96)))?.decision.demand.pages(ofSize: 2048), 48)
    }

    func testAMountLibvirtdHasNotSeen_isNotUsable_andTheLogSaysSo() throws {
        try host("one-node-2m")
        try FileManager.default.removeItem(atPath: root + "/dev/hugepages/libvirt")
        guard let r = report(decide(domain(mib: 96))) else { return }
        XCTAssertEqual(r.decision.reasons, [.noMount(pageSizeKiB: 2048)])
        XCTAssertTrue(r.logLine.text.contains("mounted after libvirtd started"), r.logLine.text)
    }

    func testMemoryBackingDirOnHugetlbfs_sharedMemoryTakesHugepages() throws {
        try host("one-node-2m")
        let shared = domain(mib: 96, backing: "<access mode='shared'/>")
        // The default dir, /var/lib/libvirt/qemu/ram, is on the root filesystem: nothing taken.
        XCTAssertEqual(report(decide(shared))?.decision.demand.isZero, true)
        try put("memory_backing_dir = \"/dev/hugepages\"\n", at: "/etc/libvirt/qemu.conf")
        XCTAssertEqual(report(decide(shared))?.decision.demand.pages(ofSize: 2048), 48)
    }

    func testBrokenQemuConf_isCountedWithDefaults_andSaidInTheLog() throws {
        try host("one-node-2m")
        try put("hugetlbfs_mount = [\"/dev/hugepages\" # no comments in lists\n]\n", at: "/etc/libvirt/qemu.conf")
        guard let r = report(decide(domain(mib: 32))) else { return }
        XCTAssertEqual(r.decision.demand.pages(ofSize: 2048), 16)
        XCTAssertTrue(r.logLine.text.contains("can't be parsed"), r.logLine.text)
    }

    func testQemuConfThatIsAFifo_doesNotBlock_andIsSaidInTheLog() throws {
        try host("one-node-2m")
        try FileManager.default.createDirectory(atPath: root + "/etc/libvirt", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(root + "/etc/libvirt/qemu.conf", 0o600), 0)
        guard let r = report(decide(domain(mib: 32))) else { return }
        XCTAssertEqual(r.decision.demand.pages(ofSize: 2048), 16)
        XCTAssertTrue(r.logLine.text.contains("not a regular file"), r.logLine.text)
    }

    func testQemuConfEditedAfterLibvirtdStarted_isSaidInTheLog() throws {
        try host("one-node-2m")
        try put("4242\n", at: "/run/libvirtd.pid")
        try put("hugetlbfs_mount = \"/dev/hugepages\"\n", at: "/etc/libvirt/qemu.conf")
        let started: Int64 = 1_000_000
        func setMtime(_ t: Int64, _ path: String) {
            var times = [timespec(tv_sec: Int(t), tv_nsec: 0), timespec(tv_sec: Int(t), tv_nsec: 0)]
            XCTAssertEqual(utimensat(AT_FDCWD, root + path, &times, 0), 0)
        }
        setMtime(started, "/run/libvirtd.pid")
        XCTAssertEqual(LibvirtHostReader(environment: environment).libvirtdStart(), started)
        setMtime(started - 10, "/etc/libvirt/qemu.conf")
        XCTAssertFalse(try facts().notes.contains { $0.contains("changed after libvirtd started") })
        setMtime(started + 10, "/etc/libvirt/qemu.conf")
        XCTAssertTrue(try facts().notes.contains { $0.contains("changed after libvirtd started") })

        // The hook knows the daemon running it: its start counts, not the pid file's time.
        let daemon = try XCTUnwrap(ProcessTable.ref(pid: getpid()))
        let daemonStarted = LibvirtHostReader.startTime(daemon)
        XCTAssertLessThanOrEqual(daemonStarted, Int64(time(nil)))
        XCTAssertGreaterThan(daemonStarted, started + 10)
        let pool = try SysfsPoolReader(environment: environment).read()
        func noted() -> Bool {
            LibvirtHostReader(environment: environment).read(pool: pool, daemon: daemon).notes.contains { $0.contains("changed after libvirtd started") }
        }
        XCTAssertFalse(noted(), "edited before the daemon started, though after the pid file's time")
        setMtime(daemonStarted + 5, "/etc/libvirt/qemu.conf")
        XCTAssertTrue(noted())
        // A /proc start near 2^64 ticks is a start in the future, not a trap: no edit comes after it.
        XCTAssertGreaterThan(LibvirtHostReader.startTime(ProcessRef(pid: 1, startTicks: .max)), Int64(time(nil)))
    }

    // MARK: class 1: the capabilities cache

    func testCapabilitiesCache_underTheRoot_decidesTheLegacyPath() throws {
        try host("one-node-2m")
        let cells = (0..<4).map { "<cell id='\($0)' cpus='\($0)' memory='33' unit='MiB'/>" }.joined()
        let xml = domain(mib: 132, cells: cells, machine: "pc-i440fx-5.0")
        guard let unknown = report(decide(xml)) else { return }
        XCTAssertEqual(unknown.decision.demand.pages(ofSize: 2048), 68)
        XCTAssertTrue(unknown.logLine.text.contains("counted the larger"), unknown.logLine.text)
        let caps = try String(contentsOfFile: fixtureRoot("one-node-2m") + "/../../libvirt/qemu-caps-x86_64.xml", encoding: .utf8)
        // libvirt names the file after the SHA-256 of the emulator's path; another file is not read.
        try put(caps.replacingOccurrences(of: "numaMemSupported='yes'", with: ""), at: "/var/cache/libvirt/qemu/capabilities/0123.xml")
        XCTAssertTrue(report(decide(xml))?.logLine.text.contains("counted the larger") == true)
        try put(caps, at: "/var/cache/libvirt/qemu/capabilities/926803a9278e445ec919c2b6cbd8c1c449c75b26dcb1686b774314180376c725.xml")
        guard let known = report(decide(xml)) else { return }
        XCTAssertEqual(known.decision.demand.pages(ofSize: 2048), 66)
        XCTAssertFalse(known.logLine.text.contains("assumed"), known.logLine.text)
    }

    func testCapabilitiesDigest_isKeptInTheStateDirectory_andUsedOnlyForTheFileAsItIs() throws {
        try host("one-node-2m")
        let caps = try String(contentsOfFile: fixtureRoot("one-node-2m") + "/../../libvirt/qemu-caps-x86_64.xml", encoding: .utf8)
        let name = "926803a9278e445ec919c2b6cbd8c1c449c75b26dcb1686b774314180376c725"
        let cacheFile = root + "/var/cache/libvirt/qemu/capabilities/" + name + ".xml"
        try put(caps, at: "/var/cache/libvirt/qemu/capabilities/" + name + ".xml")
        let state = dir + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let digest = state + "/qemu-caps." + name
        let pool = try SysfsPoolReader(environment: environment).read()
        func numaMem(_ machine: String) -> Bool? {
            LibvirtHostReader(environment: environment, digestDirectory: state)
                .read(pool: pool, capabilities: .emulator("/usr/bin/qemu-system-x86_64"))
                .capabilities?.first?.machines.first { $0.name == machine }?.numaMemSupported
        }
        // The first reading parses the file and leaves its digest.
        XCTAssertEqual(numaMem("pc-i440fx-5.0"), true)
        let written = try String(contentsOfFile: digest, encoding: .utf8)
        XCTAssertTrue(written.contains("name=pc-i440fx-5.0 numa_mem=yes"), written)
        // The next reads the digest, not the file: a digest changed and sealed anew shows.
        var body = written.split(separator: "\n").dropLast().joined(separator: "\n") + "\n"
        body = body.replacingOccurrences(of: "name=pc-i440fx-5.0 numa_mem=yes", with: "name=pc-i440fx-5.0 numa_mem=no")
        try write(CapabilitiesDigest.seal(body), to: digest)
        XCTAssertEqual(numaMem("pc-i440fx-5.0"), false)
        // One changed without its seal is not used: the file is parsed, and the digest rewritten.
        try write(body + "sum=0000000000000000\n", to: digest)
        XCTAssertEqual(numaMem("pc-i440fx-5.0"), true)
        XCTAssertEqual(try String(contentsOfFile: digest, encoding: .utf8), written)
        // libvirt replaces the file when it probes QEMU again: the digest names the old one and
        // is not used; the file is parsed and the digest rewritten.
        try write(caps, to: cacheFile + ".new")
        XCTAssertEqual(rename(cacheFile + ".new", cacheFile), 0)
        XCTAssertEqual(numaMem("pc-i440fx-5.0"), true)
        XCTAssertEqual(try String(contentsOfFile: digest, encoding: .utf8).contains("name=pc-i440fx-5.0 numa_mem=yes"), true)
        // A digest that is a symbolic link is never followed: the file is parsed instead.
        try FileManager.default.removeItem(atPath: digest)
        try write(CapabilitiesDigest.seal(body.replacingOccurrences(of: "numa_mem=yes", with: "numa_mem=no")), to: dir + "/planted")
        try FileManager.default.createSymbolicLink(atPath: digest, withDestinationPath: dir + "/planted")
        XCTAssertEqual(numaMem("pc-i440fx-5.0"), true)
        // Without a state directory, every reading parses the file.
        XCTAssertEqual(LibvirtHostReader(environment: environment).read(pool: pool, capabilities: .emulator("/usr/bin/qemu-system-x86_64"))
                        .capabilities?.first?.machines.first { $0.name == "pc-i440fx-5.0" }?.numaMemSupported, true)
    }

    func testQemuConfDigest_isKeptInTheStateDirectory_andUsedOnlyForTheFileAsItIs() throws {
        try host("one-node-2m")
        let confPath = root + "/etc/libvirt/qemu.conf"
        let conf = "# comments, as Debian ships it\nmemory_backing_dir = \"/srv/ram\"\n"
        try put(conf, at: "/etc/libvirt/qemu.conf")
        let state = dir + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let digest = state + "/qemu-conf"
        let pool = try SysfsPoolReader(environment: environment).read()
        var reader = LibvirtHostReader(environment: environment, digestDirectory: state)
        func backingDir() -> String? { reader.read(pool: pool, capabilities: .none).qemuConf.memoryBackingDir }
        // A file changed in the last two seconds gets no digest: an edit of the same size in the
        // same clock tick would keep its identity.
        XCTAssertEqual(backingDir(), "/srv/ram")
        XCTAssertFalse(FileManager.default.fileExists(atPath: digest))
        // Two seconds on, the reading leaves one.
        reader.wallClock = { Int64(time(nil)) + 2 }
        XCTAssertEqual(backingDir(), "/srv/ram")
        let written = try String(contentsOfFile: digest, encoding: .utf8)
        XCTAssertTrue(written.contains("string=memory_backing_dir value=/srv/ram"), written)
        // The next reads the digest, not the file: a digest changed and sealed anew shows.
        let body = written.split(separator: "\n").dropLast().joined(separator: "\n") + "\n"
        try write(CapabilitiesDigest.seal(body.replacingOccurrences(of: "/srv/ram", with: "/srv/other")), to: digest)
        XCTAssertEqual(backingDir(), "/srv/other")
        XCTAssertEqual(try facts().qemuConf.memoryBackingDir, "/srv/ram", "without a state directory the file is read")
        // One changed without its seal is not used: the file is parsed, and the digest rewritten.
        try write(body.replacingOccurrences(of: "/srv/ram", with: "/srv/other") + "sum=0000000000000000\n", to: digest)
        XCTAssertEqual(backingDir(), "/srv/ram")
        XCTAssertEqual(try String(contentsOfFile: digest, encoding: .utf8), written)
        // An edit of the file changes its identity: the digest names the old one and is not used.
        try write(conf.replacingOccurrences(of: "/srv/ram", with: "/srv/ram2"), to: confPath)
        XCTAssertEqual(backingDir(), "/srv/ram2")
        XCTAssertTrue(try String(contentsOfFile: digest, encoding: .utf8).contains("value=/srv/ram2"))
        // A digest that is a symbolic link is never followed: the file is parsed instead.
        try FileManager.default.removeItem(atPath: digest)
        try write(CapabilitiesDigest.seal(body.replacingOccurrences(of: "/srv/ram", with: "/srv/other")), to: dir + "/planted")
        try FileManager.default.createSymbolicLink(atPath: digest, withDestinationPath: dir + "/planted")
        XCTAssertEqual(backingDir(), "/srv/ram2")
        // A file that can't be parsed is never digested: each reading says so.
        try FileManager.default.removeItem(atPath: digest)
        try write("memory_backing_dir = [\n", to: confPath)
        XCTAssertTrue(reader.read(pool: pool, capabilities: .none).notes.contains { $0.contains("can't be parsed") })
        XCTAssertFalse(FileManager.default.fileExists(atPath: digest))
    }

    // MARK: class 4: confinement on 2- and 8-node hosts

    func testTwoNodes_restrictiveConfines_onlyWhereLibvirtCanUseCpuset() throws {
        try host("two-nodes-2m-1g")
        // Node 1 has 40 free 2 MiB pages; 64 MiB of cells under restrictive nodeset 1 takes 32 there.
        let cells = "<cell id='0' cpus='0' memory='96' unit='MiB'/>"
        let xml = domain(mib: 96, cells: cells, numatune: "<memory mode='restrictive' nodeset='1'/><memnode cellid='0' mode='preferred' nodeset='0'/>")
        try appendMount("cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0")
        XCTAssertEqual(try facts().cpusetUsable, true)
        guard let confined = report(decide(xml)) else { return }
        XCTAssertEqual(confined.decision.demand.items, [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([1]), pages: 48)])
        XCTAssertEqual(confined.decision.verdict, .refuse, "48 pages can't come from node 1's 40")

        try put("cgroup_controllers = [ \"cpu\", \"memory\" ]\n", at: "/etc/libvirt/qemu.conf")
        XCTAssertEqual(try facts().cpusetUsable, false)
        guard let free = report(decide(xml)) else { return }
        XCTAssertEqual(free.decision.demand.items, [DemandItem(pageSizeKiB: 2048, hostNodes: nil, pages: 48)])
        XCTAssertEqual(free.decision.verdict, .admit)
    }

    func testEightNodes_globalStrict_confinesAPreferredMemnodeToTheGlobalNodes() throws {
        try host("eight-nodes-2m-1g")
        try appendMount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0")
        try put("cpuset cpu io memory pids\n", at: "/sys/fs/cgroup/cgroup.controllers")
        // Node 3 has 8 free 2 MiB pages; cell 0 prefers node 0 but the cgroup holds it to node 3.
        let cells = "<cell id='0' cpus='0' memory='32' unit='MiB'/><cell id='1' cpus='1' memory='8' unit='MiB'/>"
        let xml = domain(mib: 40, cells: cells,
                         numatune: "<memory mode='strict' nodeset='3'/><memnode cellid='0' mode='preferred' nodeset='0'/>")
        guard let r = report(decide(xml)) else { return }
        XCTAssertEqual(r.decision.demand.items, [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([3]), pages: 20)])
        XCTAssertEqual(r.decision.verdict, .refuse)
        // Without the domain-wide strict <memory>, the preferred memnode may spill anywhere.
        let loose = domain(mib: 40, cells: cells, numatune: "<memnode cellid='0' mode='preferred' nodeset='3'/>")
        XCTAssertEqual(report(decide(loose))?.decision.verdict, .admit)
    }

    func testCgroupControllers_cpusetIsAWholeWord() {
        func lists(_ text: String) -> Bool { LibvirtHostReader.listsWord("cpuset", Array(text.utf8)) }
        XCTAssertTrue(lists("cpuset cpu io memory pids\n"))
        XCTAssertTrue(lists("cpu io cpuset"))
        XCTAssertTrue(lists("cpuset"))
        XCTAssertFalse(lists("cpu io memory pids\n"))
        XCTAssertFalse(lists("cpusets cpu"))
        XCTAssertFalse(lists("xcpuset\n"))
        XCTAssertFalse(lists(""))
    }

    func testEightNodes_cgroupV2WithoutCpuset_strictMemnodeStillBinds() throws {
        try host("eight-nodes-2m-1g")
        try appendMount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0")
        try put("cpu io memory pids\n", at: "/sys/fs/cgroup/cgroup.controllers")
        XCTAssertEqual(try facts().cpusetUsable, false)
        let cells = "<cell id='0' cpus='0' memory='32' unit='MiB'/>"
        let xml = domain(mib: 32, cells: cells, numatune: "<memory mode='strict' nodeset='0-7'/><memnode cellid='0' mode='strict' nodeset='3'/>")
        XCTAssertEqual(report(decide(xml))?.decision.demand.items, [DemandItem(pageSizeKiB: 2048, hostNodes: NodeSet([3]), pages: 16)])
    }
}
