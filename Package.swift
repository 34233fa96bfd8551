// swift-tools-version:6.0
import PackageDescription

// The code the hook runs, in release builds, reaches type metadata through direct accessor
// calls instead of mangled names the runtime demangles on first use: every hook run is a
// fresh process, so that first use is paid on every VM start (BENCHMARKS.md).
let hookCode: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
]

let package = Package(
    name: "hugepage-guard",
    products: [
        .executable(name: "hugepage-guard-hook", targets: ["hugepage-guard-hook"]),
        .executable(name: "hugepage-guard", targets: ["hugepage-guard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Domain XML through Debian's libexpat into a small read-only tree, with the limits
        // and refusals of include/hg_xml.h. Needs libexpat1-dev.
        .target(name: "CExpatXML", linkerSettings: [.linkedLibrary("expat")]),
        // libvirt's C API. Only HugepageGuardLibvirt may import it.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt",
                       providers: [.apt(["libvirt-dev"])]),

        // Pure core: XML -> demand, sysfs text -> pool, decision, ledger model, config.
        // No file, process or network I/O. Foundation-free so the hook starts fast.
        .target(name: "HugepageGuardCore", dependencies: ["CExpatXML"], swiftSettings: hookCode),

        // Thin adapters: sysfs/mounts under a root, the flock'd ledger, config file, syslog.
        .target(name: "HugepageGuardHost", dependencies: ["HugepageGuardCore"], swiftSettings: hookCode),

        // The one module that imports libvirt.
        .target(name: "HugepageGuardLibvirt",
                dependencies: ["HugepageGuardCore", "CLibvirt"]),

        // The agent's logic: reconciliation and metrics (pure), event handling, the run loop.
        .target(name: "HugepageGuardAgent",
                dependencies: ["HugepageGuardCore", "HugepageGuardHost", "HugepageGuardLibvirt",
                               .product(name: "Logging", package: "swift-log")]),

        // The hook never links libvirt: calling libvirt from a hook deadlocks.
        .executableTarget(name: "hugepage-guard-hook",
                          dependencies: ["HugepageGuardCore", "HugepageGuardHost"], swiftSettings: hookCode),
        .executableTarget(name: "hugepage-guard",
                          dependencies: ["HugepageGuardCore", "HugepageGuardHost", "HugepageGuardLibvirt", "HugepageGuardAgent",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")]),
        // Baseline for the benchmark: an empty Swift program built with the same flags.
        .executableTarget(name: "bench-noop", swiftSettings: hookCode),
        // Fuzz targets for the pure parsers. `make fuzz` builds it apart (.build-fuzz) with
        // libFuzzer and ASan; the ordinary build replays inputs (Tests/Fixtures/fuzz).
        .executableTarget(name: "hugepage-guard-fuzz", dependencies: ["HugepageGuardCore"]),

        .testTarget(name: "HugepageGuardCoreTests", dependencies: ["HugepageGuardCore"]),
        .testTarget(name: "HugepageGuardHostTests", dependencies: ["HugepageGuardHost", "HugepageGuardCore"]),
        .testTarget(name: "HugepageGuardAgentTests", dependencies: ["HugepageGuardAgent", "HugepageGuardCore", "HugepageGuardLibvirt"]),
        .testTarget(name: "HugepageGuardLibvirtTests", dependencies: ["HugepageGuardLibvirt"]),
        // Runs the built executables: argv + stdin fixture -> exit status, stderr, ledger, log.
        .testTarget(name: "HookBinaryTests", dependencies: ["HugepageGuardCore"]),
    ]
)
