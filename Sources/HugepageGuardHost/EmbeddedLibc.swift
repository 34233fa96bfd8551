// The hook is built with Embedded Swift (Package.swift), which has no Glibc overlay: there this
// module's code imports the C library through CSystem instead. These are the few names the
// overlay adds over C, so that the same code builds both ways.
#if hasFeature(Embedded)
import CSystem

var errno: Int32 { hg_errno() }

func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { hg_open(path, flags, 0) }
func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 { hg_open(path, flags, mode) }
func openat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { hg_openat(directory, path, flags, 0) }
func openat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    hg_openat(directory, path, flags, mode)
}

let S_IWGRP = hg_S_IWGRP
let S_IWOTH = hg_S_IWOTH
// The file type bits, which C's macros give as Int32.
let S_IFMT = mode_t(CSystem.S_IFMT), S_IFREG = mode_t(CSystem.S_IFREG), S_IFDIR = mode_t(CSystem.S_IFDIR)
let S_IFLNK = mode_t(CSystem.S_IFLNK), S_IFIFO = mode_t(CSystem.S_IFIFO), S_IFCHR = mode_t(CSystem.S_IFCHR)
let S_IFBLK = mode_t(CSystem.S_IFBLK), S_IFSOCK = mode_t(CSystem.S_IFSOCK)
#endif
