import HugepageGuardCore

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
