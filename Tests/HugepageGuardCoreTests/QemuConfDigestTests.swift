@testable import HugepageGuardCore
import XCTest

/// The digest of qemu.conf: the settings read back exactly, and only for the file it names.
final class QemuConfDigestTests: XCTestCase {
    private let source = "/etc/libvirt/qemu.conf 64768:1234 36846 1764354720.123456789 1764354720.5"

    func testRoundTrip_absentEmptyAndQuotedSettingsStayApart() {
        let confs = [
            QemuConf(),
            QemuConf(hugetlbfsMounts: [], memoryBackingDir: nil, cgroupControllers: []),
            QemuConf(hugetlbfsMounts: ["/dev/hugepages", "/mnt/huge 1G"], memoryBackingDir: "/srv/ram \"x\"=y",
                     cgroupControllers: ["cpu", "memory", "cpuset"]),
            QemuConf(hugetlbfsMounts: [""], memoryBackingDir: "", cgroupControllers: nil),
        ]
        for conf in confs {
            let text = QemuConfDigest.encode(conf, source: source)
            XCTAssertTrue(text.hasPrefix(QemuConfDigest.header + "\n"), text)
            XCTAssertEqual(QemuConfDigest.decode(text, source: source), conf, text)
        }
    }

    func testADigestOfAnotherFileOrVersion_isNotUsed() {
        let text = QemuConfDigest.encode(QemuConf(memoryBackingDir: "/srv/ram"), source: source)
        XCTAssertNil(QemuConfDigest.decode(text, source: source.replacingOccurrences(of: "1764354720.5", with: "1764354721.5")))
        XCTAssertNil(QemuConfDigest.decode(text, source: "/other/qemu.conf" + source.dropFirst("/etc/libvirt/qemu.conf".count)))
    }

    /// `body` (whole lines) sealed as a digest.
    private func sealed(_ lines: [String]) -> String { CapabilitiesDigest.seal(lines.joined(separator: "\n") + "\n") }

    func testOnlyADigestAsEncodeWritesIt_isUsed() {
        let head = [QemuConfDigest.header, Logfmt.line([("source", source)])]
        XCTAssertEqual(QemuConfDigest.decode(sealed(head + ["string=memory_backing_dir value=/srv/ram"]), source: source),
                       QemuConf(memoryBackingDir: "/srv/ram"), "the form encode writes, sealed anew")
        let broken: [(String, String)] = [
            ("changed after sealing", QemuConfDigest.encode(QemuConf(memoryBackingDir: "/srv/ram"), source: source)
                .replacingOccurrences(of: "/srv/ram", with: "/srv/mem")),
            ("no seal", (head + ["string=memory_backing_dir value=/srv/ram"]).joined(separator: "\n") + "\n"),
            ("another header", sealed(["# something else", Logfmt.line([("source", source)])])),
            ("no source", sealed([QemuConfDigest.header])),
            ("an unknown setting", sealed(head + ["list=vnc_listen value=0.0.0.0"])),
            ("a setting twice", sealed(head + ["list=hugetlbfs_mount value=/a", "list=hugetlbfs_mount value=/b"])),
            ("a list as a string", sealed(head + ["string=hugetlbfs_mount value=/a"])),
            ("two values of a string", sealed(head + ["string=memory_backing_dir value=/a value=/b"])),
            ("another key than value", sealed(head + ["list=cgroup_controllers value=cpu name=memory"])),
            ("not logfmt", sealed(head + ["list=cgroup_controllers value=\"cpu"])),
            ("empty", ""),
        ]
        for (what, text) in broken { XCTAssertNil(QemuConfDigest.decode(text, source: source), what) }
    }
}
