#if hasFeature(Embedded)
import CSystem
#else
import Glibc
#endif

/// Seconds since boot, which don't jump with the wall clock. /run is emptied at boot, so
/// this is a sound clock for state kept there.
public enum BootClock {
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
