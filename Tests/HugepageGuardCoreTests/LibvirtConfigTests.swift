import Foundation
@testable import HugepageGuardCore
import XCTest

/// qemu.conf as libvirt's virConf reads it, and libvirt's QEMU capabilities cache.
final class LibvirtConfigTests: XCTestCase {
    private func fixture(_ name: String, file: StaticString = #filePath) throws -> String {
        let url = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/libvirt/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> QemuConf? {
        do { return try QemuConf.parse(text) } catch {
            XCTFail("unexpected error: \(error)", file: file, line: line)
            return nil
        }
    }

    func testLibvirtsShippedQemuConf_setsNothing() throws {
        let conf = parse(try fixture("qemu.conf.libvirt-9.0.0"))
        XCTAssertEqual(conf, QemuConf())
        XCTAssertEqual(conf?.effectiveMemoryBackingDir, "/var/lib/libvirt/qemu/ram")
        XCTAssertEqual(conf?.allowsCpuset, true)
    }

    func testShippedQemuConf_withItsOwnExamplesUncommented() throws {
        let text = try fixture("qemu.conf.libvirt-9.0.0")
            .replacingOccurrences(of: "#hugetlbfs_mount = \"/dev/hugepages\"", with: "hugetlbfs_mount = [\"/dev/hugepages2M\", \"/dev/hugepages1G\"]")
            .replacingOccurrences(of: "#memory_backing_dir = \"/var/lib/libvirt/qemu/ram\"", with: "memory_backing_dir = \"/dev/hugepages\"")
            .replacingOccurrences(of: "#cgroup_controllers = [ \"cpu\", \"devices\", \"memory\", \"blkio\", \"cpuset\", \"cpuacct\" ]",
                                  with: "cgroup_controllers = [ \"cpu\", \"devices\", \"memory\" ]")
        let conf = parse(text)
        XCTAssertEqual(conf?.hugetlbfsMounts, ["/dev/hugepages2M", "/dev/hugepages1G"])
        XCTAssertEqual(conf?.effectiveMemoryBackingDir, "/dev/hugepages/libvirt/qemu")
        XCTAssertEqual(conf?.allowsCpuset, false)
    }

    func testListsStringsAndComments_inEveryFormLibvirtAccepts() {
        let conf = parse("""
            # a comment
            user = "root"   # trailing comment
            max_processes = -1; max_files = +7
            hugetlbfs_mount = [
                "/dev/hugepages",
                '/mnt/huge 1G',
            ]  # trailing comma and a comment after the list
            memory_backing_dir = \"\"\"/srv/ram\"\"\"
            hugetlbfs_mount = "/ignored"
            """)
        XCTAssertEqual(conf?.hugetlbfsMounts, ["/dev/hugepages", "/mnt/huge 1G"], "libvirt uses the first of two entries")
        XCTAssertEqual(conf?.memoryBackingDir, "/srv/ram")
        XCTAssertEqual(parse("hugetlbfs_mount = '/dev/hugepages'")?.hugetlbfsMounts, ["/dev/hugepages"])
        XCTAssertEqual(parse("hugetlbfs_mount = []")?.hugetlbfsMounts, [])
        XCTAssertEqual(parse("")?.hugetlbfsMounts, nil)
    }

    func testCommentsEndAtCarriageReturn_asInLibvirt() {
        // A comment ends at "\r" as at "\n": what follows on the same line is read.
        XCTAssertEqual(parse("# note\rhugetlbfs_mount = \"/a\"\n")?.hugetlbfsMounts, ["/a"])
        XCTAssertEqual(parse("# a\r\n# b\r\nhugetlbfs_mount = \"/b\" # c\r\n")?.hugetlbfsMounts, ["/b"])
        XCTAssertEqual(parse("# a\n# b\nhugetlbfs_mount = \"/c\" # c\n# d")?.hugetlbfsMounts, ["/c"])
        do { _ = try QemuConf.parse("# a\r\n# b\n\nb = [\"x\"\n", source: "q") } catch {
            XCTAssertEqual(error.line, 5, "\(error)")
        }
    }

    func testWhatLibvirtRefuses_isAnErrorWithTheLine() {
        let bad = [
            "hugetlbfs_mount = [\"/a\", # comment\n \"/b\"]",   // no comments inside a list
            "hugetlbfs_mount = [\"/a\" \"/b\"]",
            "hugetlbfs_mount = \"/a",
            "hugetlbfs_mount = 1",
            "hugetlbfs_mount = [1]",
            "x = 1 y = 2",
            "= 3",
            "\nmemory_backing_dir = [\"/a\"]",
        ]
        for text in bad {
            XCTAssertThrowsError(try QemuConf.parse(text, source: "/etc/libvirt/qemu.conf"), text) { error in
                XCTAssertTrue("\(error)".hasPrefix("/etc/libvirt/qemu.conf:"), "\(error)")
            }
        }
        do { _ = try QemuConf.parse("a = 1\n\nb = [\"x\"\n", source: "q") } catch {
            XCTAssertEqual(error.line, 4, "\(error)")
        }
    }

    func testCapabilitiesCache_machinesPerVirtType() throws {
        guard let caps = QemuCapabilities.parse(try fixture("qemu-caps-x86_64.xml")) else { return XCTFail("no caps") }
        XCTAssertEqual(caps.emulator, "/usr/bin/qemu-system-x86_64")
        XCTAssertEqual(caps.machines.count, 12)
        XCTAssertEqual(caps.machines.first { $0.virtType == "kvm" && $0.name == "pc-i440fx-5.0" }?.numaMemSupported, true)
        XCTAssertEqual(caps.machines.first { $0.virtType == "tcg" && $0.name == "pc-q35-5.0" }?.numaMemSupported, true)
        XCTAssertEqual(caps.machines.first { $0.virtType == "kvm" && $0.name == "pc-i440fx-5.1" }?.numaMemSupported, false)
        XCTAssertEqual(caps.machines.first { $0.virtType == "kvm" && $0.name == "pc-i440fx-7.2" }?.numaMemSupported, false)
        XCTAssertEqual(caps.machines.first { $0.virtType == "kvm" && $0.alias == "pc" }?.name, "pc-i440fx-7.2")
    }

    func testCapabilitiesCache_notACacheFile_isNil() {
        XCTAssertNil(QemuCapabilities.parse(""))
        XCTAssertNil(QemuCapabilities.parse("<domain/>"))
        XCTAssertNil(QemuCapabilities.parse("<qemuCaps><machine name='x'/></qemuCaps>"))
        // A file cut short (libvirt rewriting it) is not well-formed: unreadable, not half-read.
        XCTAssertNil(QemuCapabilities.parse("<qemuCaps><emulator>/q&amp;</emulator><machine type='kvm' name='a&apos;b' numaMemSupported='yes'/><machine type='kvm'"))
        let whole = QemuCapabilities.parse("<qemuCaps><emulator>/q&amp;</emulator><machine type='kvm' name='a&apos;b' numaMemSupported='yes'/></qemuCaps>")
        XCTAssertEqual(whole?.emulator, "/q&")
        XCTAssertEqual(whole?.machines.map(\.name), ["a'b"])
        XCTAssertEqual(whole?.machines.map(\.numaMemSupported), [true])
    }

    func testLibvirtHugetlbfs_defaultFollowsLibvirt() {
        let sizes = ["/dev/hugepages": kib2M, "/dev/hugepages1G": kib1G]
        // A list: every entry after the first is a default, so the second wins.
        XCTAssertEqual(LibvirtHugetlbfs.configured(["/dev/hugepages", "/dev/hugepages1G"]) { sizes[$0] }.defaultPageKiB, kib1G)
        XCTAssertEqual(LibvirtHugetlbfs.configured(["/dev/hugepages1G"]) { sizes[$0] }.defaultPageKiB, kib1G)
        XCTAssertNil(LibvirtHugetlbfs.configured([]) { sizes[$0] }.defaultPageKiB)
        // Detected: the kernel's default size, else the first.
        let mounts = [HugetlbfsMount(path: "/dev/hugepages1G", pageSizeKiB: kib1G), HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: kib2M)]
        XCTAssertEqual(LibvirtHugetlbfs.detected(mounts, kernelDefaultKiB: kib2M).defaultPageKiB, kib2M)
        XCTAssertEqual(LibvirtHugetlbfs.detected(Array(mounts.prefix(1)), kernelDefaultKiB: kib2M).defaultPageKiB, kib1G)
    }

    func testMountHolding_isTheDeepestMount() {
        let mounts = MountEntry.parse(procMounts: """
            /dev/sda1 / ext4 rw 0 0
            none /dev/hugepages hugetlbfs rw,pagesize=2M 0 0
            tmpfs /dev/hugepages/tmp tmpfs rw 0 0
            none /mnt/huge\\0401G hugetlbfs rw,pagesize=1024M 0 0
            """)
        XCTAssertEqual(MountEntry.holding("/dev/hugepages/libvirt/qemu", in: mounts)?.hugePageKiB(kernelDefaultKiB: nil), kib2M)
        XCTAssertNil(MountEntry.holding("/dev/hugepages/tmp/x", in: mounts)?.hugePageKiB(kernelDefaultKiB: nil))
        XCTAssertEqual(MountEntry.holding("/mnt/huge 1G/libvirt/qemu", in: mounts)?.hugePageKiB(kernelDefaultKiB: nil), kib1G)
        XCTAssertEqual(MountEntry.holding("/var/lib/libvirt/qemu/ram", in: mounts)?.path, "/")
    }
}

extension LibvirtConfigTests {
    func testMountOptions_areKeptForHugetlbfsAndCgroups_only() {
        let mounts = MountEntry.parse(procMounts: """
            /dev/sda1 / ext4 rw,relatime,errors=remount-ro 0 0
            none /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0
            cgroup /sys/fs/cgroup/cpuset cgroup rw,nosuid,cpuset 0 0
            cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0
            """)
        XCTAssertEqual(mounts.map(\.fsType), ["ext4", "hugetlbfs", "cgroup", "cgroup2"])
        XCTAssertEqual(mounts.map(\.options), [[], ["rw", "relatime", "pagesize=2M"], ["rw", "nosuid", "cpuset"], ["rw", "nsdelegate"]])
    }

    func testSHA256_knownVectors_andLibvirtsCacheFileName() {
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array(String(repeating: "a", count: 1000).utf8)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        // The name of this machine's cache file for the x86_64 emulator.
        XCTAssertEqual(SHA256.hex(Array("/usr/bin/qemu-system-x86_64".utf8)),
                       "926803a9278e445ec919c2b6cbd8c1c449c75b26dcb1686b774314180376c725")
    }
}
