#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// Reads what libvirt itself will do on this host: its qemu.conf, its QEMU capabilities
/// cache, which hugetlbfs mounts it knows, and whether it can use the cpuset cgroup. Every
/// path is read under `HUGEPAGE_GUARD_SYSFS_ROOT` (the host root: `etc/libvirt/qemu.conf`,
/// `var/cache/libvirt/qemu/capabilities/`, `proc/mounts`, the mounts themselves), so a fixture
/// tree stands in for a whole host.
public struct LibvirtHostReader: Sendable {
    public var environment: GuardEnvironment
    /// The state directory, where a digest of qemu.conf (`QemuConfDigest`) and of each
    /// capabilities cache file read (`CapabilitiesDigest`) is kept; nil: every file is parsed
    /// whole each time.
    public var digestDirectory: String?
    /// Seconds since the epoch, now (tests move it).
    var wallClock: @Sendable () -> Int64 = { Int64(time(nil)) }
    public init(environment: GuardEnvironment, digestDirectory: String? = nil) {
        self.environment = environment; self.digestDirectory = digestDirectory
    }

    public static let qemuConfPath = "/etc/libvirt/qemu.conf"
    public static let capabilitiesDir = "/var/cache/libvirt/qemu/capabilities"
    /// At most this much of any one file is read: qemu.conf is ~40 KiB, a cache file ~200 KiB.
    static let maxFileBytes = 4 << 20

    /// What the demand needs from libvirt's side of the host.
    public struct Facts: Sendable {
        public var qemuConf: QemuConf
        public var hugetlbfs: LibvirtHugetlbfs
        public var capabilities: [QemuCapabilities]?
        public var memoryBackingDirPageKiB: UInt64?
        public var cpusetUsable: Bool?
        /// Sentences for the log: what could not be read, and what was assumed instead.
        public var notes: [String]

        /// The demand's context on this host.
        public func context(basePageKiB: UInt64, pool: HugepagePool) -> PageSizeContext {
            PageSizeContext(basePageKiB: basePageKiB,
                            defaultHugepageKiB: hugetlbfs.defaultPageKiB ?? pool.kernelDefaultKiB ?? 2048,
                            capabilities: capabilities, memoryBackingDirPageKiB: memoryBackingDirPageKiB,
                            cpusetUsable: cpusetUsable, hasDefaultMount: hugetlbfs.defaultPageKiB != nil)
        }

        /// The pool with only the hugetlbfs mounts libvirt can use.
        public func restrict(_ pool: HugepagePool) -> HugepagePool {
            var p = pool
            p.mounts = hugetlbfs.asPoolMounts
            return p
        }
    }

    /// Which capabilities cache files to read: they matter only for domains with guest NUMA.
    public enum CapabilitiesScope: Sendable {
        case none
        /// Every file (for callers deciding for many domains).
        case all
        /// Only the file libvirt keeps for this emulator (named after its path's SHA-256; every
        /// file when nil), and in it only the machine type `machine` names (every one when nil).
        case emulator(String?, machine: String? = nil)

        /// The scope one domain needs: none without guest NUMA, or without a machine type to
        /// look up.
        public static func needed(by spec: DomainSpec) -> CapabilitiesScope {
            guard !spec.cells.isEmpty, let machine = spec.machine else { return .none }
            return .emulator(spec.emulator, machine: machine)
        }
    }

    /// The demand's context for every domain on this host, as the hook computes it: libvirt's
    /// qemu.conf, capabilities cache and mounts (the agent and `status` describe running
    /// domains with the same rules the hook admitted them by).
    public func context(pool: HugepagePool) -> PageSizeContext {
        read(pool: pool, capabilities: .all).context(basePageKiB: GuardEnvironment.basePageKiB, pool: pool)
    }

    /// `digests`: the digest directory when the caller already holds it open; else it is
    /// opened here. `daemon`: the libvirt daemon running the hook, when the caller is the
    /// hook (its start is when it read qemu.conf); else its pid file says when it started.
    public func read(pool: HugepagePool, capabilities scope: CapabilitiesScope = .all, digests held: DirectoryHandle? = nil,
                     daemon: ProcessRef? = nil) -> Facts {
        var notes: [String] = []
        // The mounts as the pool was read with them; read here only for a pool from elsewhere.
        let mounts = pool.mountTable
            ?? MountEntry.parse(procMounts: ((try? Self.readBounded(environment.host("/proc/mounts"))) ?? nil) ?? "")

        // The digests live in the state directory, which must be safe to write as root; opened
        // (when not held already) at the first digest looked up.
        lazy var opened = digestDirectory.flatMap { try? StateDirectory.open($0, create: false) }
        func digests() -> DirectoryHandle? { held ?? opened }

        let (conf, confModified) = qemuConf(digests: digests(), notes: &notes)

        // Hugepage sizes of hugetlbfs mounts, from /proc/mounts' pagesize= (as libvirt's statfs).
        func pageSize(_ m: MountEntry) -> UInt64? { m.hugePageKiB(kernelDefaultKiB: pool.kernelDefaultKiB) }

        // libvirtd reads qemu.conf once, at start: an edit since then is not in force yet.
        if let changed = confModified, let started = daemon.map(Self.startTime) ?? libvirtdStart(), changed > started {
            notes.append("\(Self.qemuConfPath) changed after libvirtd started, so libvirtd still runs on the old file: counted with the file as it is now")
        }

        let hugetlbfs: LibvirtHugetlbfs
        if let configured = conf.hugetlbfsMounts {
            // libvirtd checked each with statfs when it started, or it would not be running.
            hugetlbfs = .configured(configured) { path in MountEntry.holding(path, in: mounts).flatMap(pageSize) }
            for path in configured where !hugetlbfs.mounts.contains(where: { $0.path == path }) {
                notes.append("qemu.conf's hugetlbfs_mount lists \(path), which is not on hugetlbfs now: not counted as usable")
            }
        } else {
            // libvirtd took every hugetlbfs mounted when it started, and made `libvirt/qemu`
            // in each (qemuStateInitialize). A mount without that directory came later: libvirt
            // can't use it until it restarts.
            var known: [HugetlbfsMount] = []
            for m in mounts where m.fsType == "hugetlbfs" {
                guard let size = pageSize(m) else { continue }
                if FileSystem.isDirectory(environment.host(m.path + "/libvirt/qemu")) {
                    known.append(HugetlbfsMount(path: m.path, pageSizeKiB: size))
                } else {
                    notes.append("hugetlbfs at \(m.path) has no libvirt/qemu directory, so it was mounted after libvirtd started: not counted as usable until libvirtd restarts")
                }
            }
            hugetlbfs = .detected(known, kernelDefaultKiB: pool.kernelDefaultKiB)
        }

        let backing = MountEntry.holding(conf.effectiveMemoryBackingDir, in: mounts).flatMap(pageSize)

        var capabilities: [QemuCapabilities]?
        let dir = environment.host(Self.capabilitiesDir)
        var names: [String]?
        switch scope {
        case .none: names = nil
        case .all, .emulator(nil, _): names = FileSystem.list(dir)
        case .emulator(let path?, _): names = [SHA256.hex(Array(path.utf8)) + ".xml"]
        }
        var machine: String?
        if case let .emulator(_, m) = scope { machine = m }
        if let names {
            let digests = digests()
            var parsed: [QemuCapabilities] = []
            for name in names where name.hasSuffix(".xml") {
                if let caps = self.capabilities(dir: dir, name: name, machine: machine, digests: digests) { parsed.append(caps) }
            }
            capabilities = parsed.isEmpty ? nil : parsed
        }

        return Facts(qemuConf: conf, hugetlbfs: hugetlbfs, capabilities: capabilities, memoryBackingDirPageKiB: backing,
                     cpusetUsable: cpusetUsable(conf: conf, mounts: mounts), notes: notes)
    }

    /// qemu.conf's settings and when the file was last modified: from its digest when that
    /// names the file as it is now, else parsed, and the digest written for the next decision.
    /// A file that can't be read or parsed counts as libvirt's defaults, with a note saying so.
    func qemuConf(digests: @autoclosure () -> DirectoryHandle?, notes: inout [String]) -> (QemuConf, modified: Int64?) {
        let path = environment.host(Self.qemuConfPath)
        let digestName = Self.qemuConfDigestName
        var st = stat()
        if stat(path, &st) == 0, FileKind(st.st_mode) == .regular, let dir = digests(),
           let text = (try? dir.read(digestName, limit: Self.maxFileBytes)) ?? nil,
           let known = QemuConfDigest.decode(text, source: Self.digestSource(path, st)) {
            return (known, Int64(st.st_mtim.tv_sec))
        }
        do {
            guard let file = try FileSystem.readFileWithStatus(path, limit: Self.maxFileBytes) else { return (QemuConf(), nil) }
            let modified = Int64(file.status.st_mtim.tv_sec)
            let conf: QemuConf
            do { conf = try QemuConf.parse(bytes: file.bytes, source: Self.qemuConfPath) } catch {
                notes.append("\(Self.qemuConfPath) can't be parsed (\(error)): counted with libvirt's defaults")
                return (QemuConf(), modified)
            }
            // Named after the descriptor the text was read from, as the capabilities' digests.
            // Unlike their files (which libvirt replaces), qemu.conf may be edited in place,
            // keeping its inode, and the kernel stamps a change with a clock that moves in ticks
            // of a few milliseconds: an edit of the same size within the tick of the one read
            // would keep its identity. So a file changed in the last two seconds gets no digest
            // yet; any edit after that changes its change time.
            if Int64(file.status.st_ctim.tv_sec) < wallClock() - 1 {
                let digest = QemuConfDigest.encode(conf, source: Self.digestSource(path, file.status))
                try? digests()?.writeAtomically(name: digestName, bytes: Array(digest.utf8), mode: 0o600)
            }
            return (conf, modified)
        } catch {
            notes.append("\(Self.qemuConfPath) can't be read (\(error)): counted with libvirt's defaults")
            return (QemuConf(), nil)
        }
    }

    /// One capabilities cache file: from its digest when that names the file as it is now,
    /// else parsed whole (some 200 KiB of XML, tens of milliseconds), and the digest written
    /// for the next decision. A digest is looked up by the file's identity from `stat`; one
    /// written after parsing names the identity of the descriptor the text was read from, so a
    /// digest never pairs one version's identity with another's machines. A digest that can't
    /// be written (no state directory yet, a full disk) only means parsing again.
    /// With `machine`, only that machine type is kept (QemuCapabilities.machines).
    func capabilities(dir: String, name: String, machine: String?, digests: DirectoryHandle?) -> QemuCapabilities? {
        let path = dir + "/" + name
        let digestName = Self.digestPrefix + String(decoding: name.utf8.dropLast(4), as: UTF8.self)  // without ".xml"
        var st = stat()
        guard stat(path, &st) == 0, FileKind(st.st_mode) == .regular else { return nil }
        if let digests, let text = (try? digests.read(digestName, limit: Self.maxFileBytes)) ?? nil,
           let caps = CapabilitiesDigest.decode(text, source: Self.digestSource(name, st), machine: machine) {
            return caps
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard fstat(fd, &st) == 0, FileKind(st.st_mode) == .regular,
              let bytes = try? FileSystem.readAll(fd: fd, path: path, limit: Self.maxFileBytes, expectedSize: Int(clamping: st.st_size)),
              let caps = QemuCapabilities.parse(bytes: bytes) else { return nil }
        try? digests?.writeAtomically(name: digestName, bytes: Array(CapabilitiesDigest.encode(caps, source: Self.digestSource(name, st)).utf8), mode: 0o600)
        guard let machine else { return caps }
        return QemuCapabilities(emulator: caps.emulator, machines: caps.machines.filter { $0.name == machine || $0.alias == machine })
    }

    /// Digests are named after their cache file: `qemu-caps.<sha256 of the emulator's path>`.
    static let digestPrefix = "qemu-caps."

    /// qemu.conf's digest (`QemuConfDigest`).
    static let qemuConfDigestName = "qemu-conf"

    /// How a digest names the file it was read from: `name` and the file's identity, as `stat`
    /// gives it (device and inode, size, modification and change times to the nanosecond).
    static func digestSource(_ name: String, _ st: stat) -> String {
        [name, String(st.st_dev) + ":" + String(st.st_ino), String(st.st_size),
         String(st.st_mtim.tv_sec) + "." + String(st.st_mtim.tv_nsec),
         String(st.st_ctim.tv_sec) + "." + String(st.st_ctim.tv_nsec)].concatenated(separator: " ")
    }

    /// When `process` started, in seconds since the epoch: its start in clock ticks after
    /// boot (/proc/<pid>/stat), put on the wall clock of now. The ticks are text read from
    /// /proc, so the sum saturates instead of trapping.
    static func startTime(_ process: ProcessRef) -> Int64 {
        var real = timespec(), boot = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        clock_gettime(CLOCK_BOOTTIME, &boot)
        let ticksPerSecond = max(1, UInt64(clamping: sysconf(Int32(_SC_CLK_TCK))))
        let (bootedAt, o1) = Int64(real.tv_sec).subtractingReportingOverflow(Int64(boot.tv_sec))
        let (started, o2) = bootedAt.addingReportingOverflow(Int64(clamping: process.startTicks / ticksPerSecond))
        return o1 || o2 ? Int64.max : started
    }

    /// When the running libvirtd started, in seconds since the epoch: it writes its pid file
    /// when it starts (`virPidFileAcquirePath`). nil when there is none.
    func libvirtdStart() -> Int64? {
        for pidFile in ["/run/libvirtd.pid", "/run/libvirt/virtqemud.pid"] {
            if let t = modificationTime(environment.host(pidFile)) { return t }
        }
        return nil
    }

    func modificationTime(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec)
    }

    /// libvirt uses the cpuset controller when qemu.conf's `cgroup_controllers` allows it and
    /// the host has it (cgroup v1 `cpuset` mount, or `cpuset` in cgroup v2's controllers).
    /// nil when /proc/mounts lists no cgroup filesystem at all.
    func cpusetUsable(conf: QemuConf, mounts: [MountEntry]) -> Bool? {
        guard conf.allowsCpuset else { return false }
        let cgroups = mounts.filter { $0.fsType == "cgroup" || $0.fsType == "cgroup2" }
        if cgroups.isEmpty { return nil }
        if cgroups.contains(where: { $0.fsType == "cgroup" && $0.options.contains("cpuset") }) { return true }
        for m in cgroups where m.fsType == "cgroup2" {
            let bytes = (try? Self.readBytes(environment.host(m.path + "/cgroup.controllers"))) ?? nil
            if let bytes, Self.listsWord("cpuset", bytes) { return true }
        }
        return false
    }

    /// Whether `word` is one of the words (separated by spaces and newlines) in `bytes`.
    static func listsWord(_ word: StaticString, _ bytes: [UInt8]) -> Bool {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\n") {
            if i - start == w.count, bytes[start..<i].elementsEqual(w) { return true }
            start = i + 1
        }
        return false
    }

    /// A regular file's text, at most `maxFileBytes`; nil when it doesn't exist. Never blocks on
    /// a FIFO or device planted at the path.
    static func readBounded(_ path: String) throws(HostError) -> String? {
        try readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A regular file's bytes, at most `maxFileBytes`; nil when it doesn't exist.
    static func readBytes(_ path: String) throws(HostError) -> [UInt8]? {
        try FileSystem.readFileBytes(path, limit: maxFileBytes)
    }
}
