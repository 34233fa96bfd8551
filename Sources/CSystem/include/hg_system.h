// The C library as the hook's Embedded Swift build sees it. Embedded Swift has no Glibc
// overlay: its modules import this header instead, and the few things the overlay adds
// (errno, the variadic open(2) and openat(2), permission bits defined through other macros,
// the command line) are given here as plain functions and constants.
#ifndef HG_SYSTEM_H
#define HG_SYSTEM_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/// errno of the calling thread.
static inline int hg_errno(void) { return errno; }

/// open(2) and openat(2) with their mode argument always passed (both are variadic in C).
static inline int hg_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
static inline int hg_openat(int dirfd, const char *path, int flags, mode_t mode) { return openat(dirfd, path, flags, mode); }

/// syslog(3) of one already formatted line.
static inline void hg_syslog(int priority, const char *line) { syslog(priority, "%s", line); }

/// Permission bits glibc defines through other macros, which Swift does not import.
static const mode_t hg_S_IWGRP = S_IWGRP, hg_S_IWOTH = S_IWOTH;

/// The process's command line, as glibc passes it to the executable's constructors
/// (Embedded Swift has no CommandLine).
int hg_argc(void);
char **hg_argv(void);

#endif
