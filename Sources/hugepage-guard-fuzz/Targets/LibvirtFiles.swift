import HugepageGuardCore

extension FuzzTarget {
    /// libvirt's `/etc/libvirt/qemu.conf`, in libvirt's config syntax (lists, triple-quoted
    /// strings, comments): parsed as text and as bytes, which must agree, then the hugetlbfs
    /// mounts it lists turned into libvirt's default the way the demand does, and the settings
    /// through their digest and back.
    static let qemuConf = FuzzTarget(name: "qemu-conf", seeds: ["Tests/Fixtures/libvirt/qemu.conf.libvirt-9.0.0"]) { bytes in
        let fromBytes = try? QemuConf.parse(bytes: bytes)
        if let fromBytes, let fromText = try? QemuConf.parse(text(bytes)), fromText != fromBytes {
            violated("qemu.conf parsed from bytes and from text differ")
        }
        if let paths = fromBytes?.hugetlbfsMounts {
            _ = LibvirtHugetlbfs.configured(paths) { $0.hasSuffix("1G") ? 1_048_576 : 2048 }.defaultPageKiB
        }
        // What qemu.conf sets comes back from its digest exactly; any text read as a digest is
        // a digest or nothing.
        let source = "/etc/libvirt/qemu.conf 1:2 3 4.5 6.7"
        if let fromBytes, QemuConfDigest.decode(QemuConfDigest.encode(fromBytes, source: source), source: source) != fromBytes {
            violated("qemu.conf settings do not survive their digest")
        }
        _ = QemuConfDigest.decode(text(bytes), source: source)
    }

    /// A file of libvirt's QEMU capabilities cache (`/var/cache/libvirt/qemu/capabilities/`),
    /// and `/proc/mounts` read for the mounts libvirt knows.
    static let libvirtHost = FuzzTarget(name: "libvirt-host", seeds: ["Tests/Fixtures/libvirt/qemu-caps-x86_64.xml",
                                                                       "Tests/Fixtures/sysfs"]) { bytes in
        if let caps = QemuCapabilities.parse(bytes: bytes) {
            _ = caps.machines.first { $0.numaMemSupported }
        }
        let entries = MountEntry.parse(procMounts: text(bytes))
        for entry in entries { _ = entry.hugePageKiB(kernelDefaultKiB: 2048) }
    }
}
