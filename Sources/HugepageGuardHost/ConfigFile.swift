#if !hasFeature(Embedded)
import HugepageGuardCore
#endif

public enum ConfigFile {
    /// Reads the config; a missing file means the documented defaults. Anything at the path
    /// that is not a regular file (a FIFO is never waited on), a file larger than
    /// `ReadLimit.config`, or one that is not UTF-8 is a broken config, named as such.
    public static func load(path: String) throws(ConfigError) -> GuardConfig {
        let text: String?
        do { text = try FileSystem.readFile(path, limit: ReadLimit.config) } catch {
            throw ConfigError(source: path, line: 0, message: "cannot be read: \(error.reason)")
        }
        guard let text else { return GuardConfig() }
        return try GuardConfig.parse(text, source: path)
    }
}

extension ConfigFile {
    /// Only the `state_dir` the config names, without parsing anything else: `started begin`
    /// and `release end` need just this key, and no other line, however broken, may fail
    /// them. A missing file or key means the default; an unreadable file or an unusable
    /// value means the default too, with the reason as the second value.
    public static func stateDir(path: String) -> (String, problem: String?) {
        let fallback = GuardConfig().stateDir
        let text: String?
        do { text = try FileSystem.readFile(path, limit: ReadLimit.config) } catch {
            return (fallback, "\(path) cannot be read: \(error.reason)")
        }
        guard let text else { return (fallback, nil) }
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        func trimmed(_ s: Substring) -> Substring {
            guard let first = s.firstIndex(where: { !blank($0) }), let last = s.lastIndex(where: { !blank($0) }) else { return "" }
            return s[first...last]
        }
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = trimmed(line)
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "="), trimmed(line[..<eq]) == "state_dir" else { continue }
            var value = line[line.index(after: eq)...]
            if let hash = value.firstIndex(of: "#") { value = value[..<hash] }
            let dir = trimmed(value)
            guard dir.hasPrefix("/") else {
                return (fallback, "\(path) line \(index + 1): state_dir '\(dir)' must be an absolute path")
            }
            return (String(dir), nil)
        }
        return (fallback, nil)
    }
}
