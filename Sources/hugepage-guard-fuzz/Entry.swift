// Two builds of one program.
//
// `make fuzz` (scripts/fuzz) builds it with `-sanitize=fuzzer,address -DHG_FUZZ`: libFuzzer
// supplies `main`, and this file supplies its two entry points. Pick the target with
// `--target=NAME` (libFuzzer ignores flags that start with `--`):
//
//     .build-fuzz/debug/hugepage-guard-fuzz --target=config CORPUS_DIR...   # fuzz
//     .build-fuzz/debug/hugepage-guard-fuzz --target=config crash-1234      # rerun one input
//
// The ordinary build (`swift build`) has no sanitizers and no libFuzzer; it replays files,
// one target at a time, and exits 0 unless one of them traps:
//
//     hugepage-guard-fuzz --list
//     hugepage-guard-fuzz NAME FILE...
//     hugepage-guard-fuzz --self-check-trap      # traps, so a test can see that traps are seen
#if canImport(Glibc)
import Glibc
#endif

#if HG_FUZZ

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>,
                      _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    var name: String?
    if let args = argv.pointee {
        for i in 0..<Int(argc.pointee) {
            guard let p = args[i] else { continue }
            let arg = String(cString: p)
            if arg == "--list" { write(FuzzTarget.listing, fd: 1); exit(0) }
            if arg.hasPrefix("--target=") { name = String(arg.dropFirst("--target=".count)) }
        }
    }
    guard let name, let target = FuzzTarget.named(name) else {
        write("hugepage-guard-fuzz: give --target=NAME, one of: \(FuzzTarget.all.map(\.name).joined(separator: ", "))\n", fd: 2)
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    selected?.run(bytes)
    return 0
}

#else

@main
enum Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args == ["--list"] { write(FuzzTarget.listing, fd: 1); exit(0) }
        // For the replay test: proves that a trapping input is seen as one.
        if args == ["--self-check-trap"] { fatalError("deliberate trap") }
        guard let name = args.first, let target = FuzzTarget.named(name), args.count >= 2 else {
            write("usage: hugepage-guard-fuzz --list | NAME FILE...   (NAME: \(FuzzTarget.all.map(\.name).joined(separator: ", ")))\n", fd: 2)
            exit(2)
        }
        for path in args.dropFirst() {
            guard let bytes = readFile(path) else {
                write("hugepage-guard-fuzz: cannot read \(path): \(String(cString: strerror(errno)))\n", fd: 2)
                exit(2)
            }
            // Named before it runs, so a trap's output says which file did it.
            write("replay \(name) \(path)\n", fd: 2)
            target.run(bytes)
        }
        exit(0)
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out += buf[0..<n] }
            if n < buf.count { return ferror(f) != 0 ? nil : out }
        }
    }
}

#endif
