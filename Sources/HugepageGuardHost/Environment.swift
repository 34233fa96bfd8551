#if hasFeature(Embedded)
import CSystem
#else
import Glibc
import HugepageGuardCore
#endif

/// Where the guard reads and writes. libvirt gives hooks a clean environment, so the
/// overrides reach only tests.
public struct GuardEnvironment: Sendable {
    /// `HUGEPAGE_GUARD_SYSFS_ROOT`: the root under which `sys/` and `proc/` are read.
    public var sysfsRoot: String
    /// `HUGEPAGE_GUARD_STATE_DIR`: overrides the config's `state_dir`.
    public var stateDirOverride: String?
    /// `HUGEPAGE_GUARD_CONFIG`.
    public var configPath: String

    public static let defaultConfigPath = "/etc/hugepage-guard/hugepage-guard.conf"

    public init(sysfsRoot: String = "/", stateDirOverride: String? = nil, configPath: String = defaultConfigPath) {
        self.sysfsRoot = sysfsRoot; self.stateDirOverride = stateDirOverride; self.configPath = configPath
    }

    public static func fromProcess() -> GuardEnvironment {
        func env(_ name: String) -> String? {
            guard let v = getenv(name) else { return nil }
            let s = String(cString: v)
            return s.isEmpty ? nil : s
        }
        return GuardEnvironment(sysfsRoot: env("HUGEPAGE_GUARD_SYSFS_ROOT") ?? "/",
                                stateDirOverride: env("HUGEPAGE_GUARD_STATE_DIR"),
                                configPath: env("HUGEPAGE_GUARD_CONFIG") ?? defaultConfigPath)
    }

    public func stateDir(config: GuardConfig) -> String { stateDirOverride ?? config.stateDir }

    /// `path` under the sysfs root.
    public func host(_ path: String) -> String {
        sysfsRoot == "/" ? path : (sysfsRoot.hasSuffix("/") ? String(sysfsRoot.dropLast()) : sysfsRoot) + path
    }

    /// The base page size in KiB.
    public static var basePageKiB: UInt64 { UInt64(sysconf(Int32(_SC_PAGESIZE))) / 1024 }
}
