extension Sequence where Element == String {
    /// The strings with `separator` between them: what `joined(separator:)` returns. The
    /// standard library's `joined` is generic and not specialized into this module, so its
    /// first call in a process looks up the element type's conformances at run time (about
    /// 80,000 instructions). The hook is a new process for every decision, and its log line
    /// is built with this instead.
    @inlinable public func concatenated(separator: String) -> String {
        var text = ""
        var first = true
        for part in self {
            if !first { text += separator }
            text += part
            first = false
        }
        return text
    }
}
