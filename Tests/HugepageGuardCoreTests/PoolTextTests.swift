@testable import HugepageGuardCore
import XCTest

final class PoolTextTests: XCTestCase {
    private let meminfo = """
        MemTotal:        8029340 kB
        HugePages_Total:      64
        HugePages_Free:       64
        Hugepagesize:       2048 kB
        Hugetlb:          131072 kB

        """

    func testMeminfo_hugepagesize_isTheKernelDefault() {
        XCTAssertEqual(PoolText.defaultHugepageSize(meminfo: meminfo), 2048)
        XCTAssertEqual(PoolText.defaultHugepageSize(meminfo: "Hugepagesize:    1048576 kB\n"), kib1G)
    }

    func testMeminfo_withoutHugepagesize_isNil() {
        XCTAssertNil(PoolText.defaultHugepageSize(meminfo: "MemTotal: 1 kB\n"))
    }

    /// The size is the second of the line's space-separated fields, whatever the spaces.
    func testMeminfo_hugepagesize_isTheSecondField() {
        XCTAssertEqual(PoolText.defaultHugepageSize(meminfo: "Hugepagesize: 2048"), 2048, "no unit, no newline")
        XCTAssertEqual(PoolText.defaultHugepageSize(meminfo: "Hugepagesize:\nHugepagesize:   4096 kB\n"), 4096,
                       "a line without a number is passed over")
        XCTAssertNil(PoolText.defaultHugepageSize(meminfo: "Hugepagesize:2048 kB\n"), "the first field is 'Hugepagesize:2048'")
        XCTAssertNil(PoolText.defaultHugepageSize(meminfo: "Hugepagesize:   2O48 kB\n"))
    }

    func testMounts_pagesizeOptionsInEveryKernelSpelling() {
        let mounts = """
            sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
            hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0
            none /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0
            none /mnt/huge1g hugetlbfs rw,relatime,pagesize=1G 0 0
            tmpfs /run tmpfs rw,nosuid,nodev 0 0

            """
        XCTAssertEqual(PoolText.hugetlbfsMounts(procMounts: mounts, kernelDefaultKiB: 2048), [
            HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: kib2M),
            HugetlbfsMount(path: "/dev/hugepages1G", pageSizeKiB: kib1G),
            HugetlbfsMount(path: "/mnt/huge1g", pageSizeKiB: kib1G),
        ])
    }

    func testMounts_withoutPagesize_useTheKernelDefault() {
        let line = "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n"
        XCTAssertEqual(PoolText.hugetlbfsMounts(procMounts: line, kernelDefaultKiB: kib1G),
                       [HugetlbfsMount(path: "/dev/hugepages", pageSizeKiB: kib1G)])
        XCTAssertEqual(PoolText.hugetlbfsMounts(procMounts: line, kernelDefaultKiB: nil), [],
                       "without a known default the mount's size is unknown")
    }

    func testMounts_octalEscapedPaths_areUnescaped() {
        let line = "none /mnt/huge\\040pages\\011x\\134y hugetlbfs rw,pagesize=2M 0 0\n"
        XCTAssertEqual(PoolText.hugetlbfsMounts(procMounts: line, kernelDefaultKiB: 2048).map(\.path),
                       ["/mnt/huge pages\tx\\y"])
        XCTAssertEqual(PoolText.unescapeMountPath("/a\\040"), "/a ")
        XCTAssertEqual(PoolText.unescapeMountPath("/plain"), "/plain")
    }

    func testCounters_andDirectoryNames() {
        XCTAssertEqual(PoolText.count("512\n"), 512)
        XCTAssertNil(PoolText.count("lots\n"))
        XCTAssertNil(PoolText.count(""))
        XCTAssertEqual(PoolText.count(" 7 \n"), 7)
        XCTAssertEqual(PoolText.count("18446744073709551615\n"), UInt64.max)
        XCTAssertNil(PoolText.count("18446744073709551616\n"), "past UInt64 is not a count")
        XCTAssertNil(PoolText.count("+7\n"))
        XCTAssertNil(PoolText.count("7 7\n"))
        XCTAssertEqual(PoolText.pageSize(directoryName: "hugepages-2048kB"), 2048)
        XCTAssertEqual(PoolText.pageSize(directoryName: "hugepages-1048576kB"), kib1G)
        XCTAssertNil(PoolText.pageSize(directoryName: "hugepages-2048"))
        XCTAssertNil(PoolText.pageSize(directoryName: "online"))
    }

    func testLibvirtDefault_isTheKernelDefaultWhenItIsMounted() {
        let pool = HugepagePool(sizes: [:], mounts: [HugetlbfsMount(path: "/g", pageSizeKiB: kib1G),
                                                    HugetlbfsMount(path: "/m", pageSizeKiB: kib2M)], kernelDefaultKiB: kib2M)
        XCTAssertEqual(pool.libvirtDefaultKiB, kib2M)
        XCTAssertEqual(pool.context(basePageKiB: 4), PageSizeContext(basePageKiB: 4, defaultHugepageKiB: kib2M))
    }

    func testLibvirtDefault_isTheFirstMountWhenTheKernelDefaultIsNotMounted() {
        let pool = HugepagePool(sizes: [:], mounts: [HugetlbfsMount(path: "/g", pageSizeKiB: kib1G)], kernelDefaultKiB: kib2M)
        XCTAssertEqual(pool.libvirtDefaultKiB, kib1G)
    }

    func testLibvirtDefault_withoutMounts_isTheKernelDefaultElse2MiB() {
        XCTAssertEqual(HugepagePool(sizes: [:], mounts: [], kernelDefaultKiB: kib1G).libvirtDefaultKiB, kib1G)
        XCTAssertEqual(HugepagePool(sizes: [:], mounts: [], kernelDefaultKiB: nil).libvirtDefaultKiB, kib2M)
    }

    func testPagePool_availableIsFreeMinusResv_neverNegative() {
        XCTAssertEqual(PagePool(sizeKiB: 2048, nr: 100, free: 60, resv: 20, surplus: 0).available, 40)
        XCTAssertEqual(PagePool(sizeKiB: 2048, nr: 100, free: 10, resv: 20, surplus: 0).available, 0)
        XCTAssertEqual(PagePool(sizeKiB: 2048, nr: 100, free: 60, resv: 0, surplus: 0).inUse, 40)
    }
}
