/// Writes to a standard stream with write(2): unbuffered and free of stdio's globals.
public enum StandardStream {
    public static func error(_ text: String) { put(text, fd: 2) }
    public static func output(_ text: String) { put(text, fd: 1) }

    /// A closed or broken stream loses the text: there is nowhere left to report that.
    private static func put(_ text: String, fd: Int32) {
        try? FileSystem.writeAll(fd: fd, Array(text.utf8), path: fd == 2 ? "<stderr>" : "<stdout>")
    }
}
