// swift-tools-version:6.0
import Foundation
import PackageDescription

// The hook is built with Embedded Swift: no Swift runtime, no type metadata made on first use,
// only the code it calls, linked against the C library alone. It runs on every VM operation as a
// fresh process, and with the ordinary runtime most of its time went to starting that runtime and
// to first uses of its types (BENCHMARKS.md). Its target compiles the core's and the host
// adapters' sources itself (the two links in Sources/hugepage-guard-hook), in one module.
// It links no Swift library, so `--static-swift-stdlib`, which the other executables are built
// with, is turned off for it (`-no-static-stdlib`; Embedded Swift's standard library is elsewhere).
let embedded: [SwiftSetting] = [.enableExperimentalFeature("Embedded"), .unsafeFlags(["-wmo", "-no-static-stdlib"])]

// Embedded Swift's String needs Unicode's tables, a static library beside the toolchain's
// standard library that the compiler doesn't put on the linker's path. It is found from the
// toolchain evaluating this manifest: the PackageDescription library mapped into this process
// (/proc/self/maps read to its end: a plain file read stops after the first page).
let embeddedLibraries: [LinkerSetting] = {
    let data = FileHandle(forReadingAtPath: "/proc/self/maps").flatMap { try? $0.readToEnd() } ?? Data()
    let maps = String(decoding: data, as: UTF8.self)
    guard let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/pm/ManifestAPI/libPackageDescription.so") }),
          let start = line.firstIndex(of: "/") else { return [] }
    let swiftLib = URL(fileURLWithPath: String(line[start...])).deletingLastPathComponent()  // .../lib/swift/pm/ManifestAPI
        .deletingLastPathComponent().deletingLastPathComponent()                              // .../lib/swift
    return [.unsafeFlags(["-L", swiftLib.appendingPathComponent("embedded/x86_64-unknown-linux-gnu").path])]
}() + [.unsafeFlags(["-no-static-stdlib"]), .linkedLibrary("swiftUnicodeDataTables"), .linkedLibrary("m")]

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
        // The C library for the hook's Embedded Swift build, which has no Glibc overlay.
        .target(name: "CSystem"),
        // libvirt's C API. Only HugepageGuardLibvirt may import it.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt",
                       providers: [.apt(["libvirt-dev"])]),

        // Pure core: XML -> demand, sysfs text -> pool, decision, ledger model, config.
        // No file, process or network I/O. Foundation-free so the hook starts fast.
        .target(name: "HugepageGuardCore", dependencies: ["CExpatXML"]),

        // Thin adapters: sysfs/mounts under a root, the flock'd ledger, config file, syslog.
        .target(name: "HugepageGuardHost", dependencies: ["HugepageGuardCore"]),

        // The one module that imports libvirt.
        .target(name: "HugepageGuardLibvirt",
                dependencies: ["HugepageGuardCore", "CLibvirt"]),

        // The agent's logic: reconciliation and metrics (pure), event handling, the run loop.
        .target(name: "HugepageGuardAgent",
                dependencies: ["HugepageGuardCore", "HugepageGuardHost", "HugepageGuardLibvirt",
                               .product(name: "Logging", package: "swift-log")]),

        // The hook never links libvirt: calling libvirt from a hook deadlocks. Embedded Swift, with
        // the core's and the adapters' sources (see above); Unicode's tables for String.
        .executableTarget(name: "hugepage-guard-hook", dependencies: ["CExpatXML", "CSystem"],
                          swiftSettings: embedded,
                          linkerSettings: embeddedLibraries),
        .executableTarget(name: "hugepage-guard",
                          dependencies: ["HugepageGuardCore", "HugepageGuardHost", "HugepageGuardLibvirt", "HugepageGuardAgent",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")]),
        // Baseline for the benchmark: an empty Swift program, built as the CLI is (the ordinary
        // Swift runtime, linked statically).
        .executableTarget(name: "bench-noop"),
        .executableTarget(name: "bench-noop-embedded", swiftSettings: embedded,
                          linkerSettings: [.unsafeFlags(["-no-static-stdlib"])]),
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
