#include "hg_system.h"

static int saved_argc;
static char **saved_argv;

// glibc calls the executable's constructors with (argc, argv, envp) before main.
__attribute__((constructor)) static void hg_save_command_line(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

int hg_argc(void) { return saved_argc; }
char **hg_argv(void) { return saved_argv; }
