// Second baseline for the benchmark: an empty Embedded Swift program, linked as the hook is.
// The hook's targets are set against bench-noop (an empty program with the ordinary Swift
// runtime); this one shows what starting a process costs without that runtime.
