// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hugepage-guard",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hugepage-guard-hook", targets: ["hugepage-guard-hook"]),
        .executable(name: "hugepage-guard", targets: ["hugepage-guard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // libxml2, the parser libvirt itself uses for domain XML, behind a small C API that
        // loads it on first use (see include/hg_xml.h). Needs libxml2-dev's headers.
        .target(name: "CLibXML2", cSettings: [.unsafeFlags(["-I/usr/include/libxml2"])]),
        // libvirt's C API. Only HugepageGuardLibvirt may import it.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt",
                       providers: [.apt(["libvirt-dev"])]),

        // Pure core: XML -> demand, sysfs text -> pool, decision, ledger model, config.
        // No file, process or network I/O. Foundation-free so the hook starts fast.
        .target(name: "HugepageGuardCore", dependencies: ["CLibXML2"]),

        // Thin adapters: sysfs/mounts under a root, the flock'd ledger, config file, syslog.
        .target(name: "HugepageGuardHost", dependencies: ["HugepageGuardCore"]),

        // The one module that imports libvirt.
        .target(name: "HugepageGuardLibvirt",
                dependencies: ["HugepageGuardCore", "CLibvirt",
                               .product(name: "Logging", package: "swift-log")]),

        // The agent's logic: reconciliation and metrics (pure), event handling, the run loop.
        .target(name: "HugepageGuardAgent",
                dependencies: ["HugepageGuardCore", "HugepageGuardHost", "HugepageGuardLibvirt",
                               .product(name: "Logging", package: "swift-log")]),

        // The hook never links libvirt: calling libvirt from a hook deadlocks.
        .executableTarget(name: "hugepage-guard-hook",
                          dependencies: ["HugepageGuardCore", "HugepageGuardHost"]),
        .executableTarget(name: "hugepage-guard",
                          dependencies: ["HugepageGuardCore", "HugepageGuardHost", "HugepageGuardLibvirt", "HugepageGuardAgent",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")]),
        // Baseline for the benchmark: an empty Swift program built with the same flags.
        .executableTarget(name: "bench-noop"),
        // Fuzz targets for the pure parsers. `make fuzz` builds it apart (.build-fuzz) with
        // libFuzzer and ASan; the ordinary build replays inputs (Tests/Fixtures/fuzz).
        .executableTarget(name: "hugepage-guard-fuzz", dependencies: ["HugepageGuardCore"]),

        .testTarget(name: "HugepageGuardCoreTests", dependencies: ["HugepageGuardCore"]),
        .testTarget(name: "HugepageGuardHostTests", dependencies: ["HugepageGuardHost", "HugepageGuardCore"]),
        .testTarget(name: "HugepageGuardAgentTests", dependencies: ["HugepageGuardAgent", "HugepageGuardCore", "HugepageGuardLibvirt"]),
        .testTarget(name: "HugepageGuardLibvirtTests", dependencies: ["HugepageGuardLibvirt", "HugepageGuardCore"]),
        // Runs the built executables: argv + stdin fixture -> exit status, stderr, ledger, log.
        .testTarget(name: "HookBinaryTests", dependencies: ["HugepageGuardCore"]),
    ]
)
