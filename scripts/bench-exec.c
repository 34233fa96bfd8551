/*
 * bench-exec: whole-process latency of a command, the way libvirtd runs a hook:
 * posix_spawn with stdin from a file, wait, repeat. Prints the median and the
 * 10th/90th percentiles in microseconds.
 *
 *   bench-exec RUNS WARMUP STDIN_FILE|- command [args...]
 *
 * It names itself libvirtd (prctl PR_SET_NAME), because libvirtd is the parent of every
 * hook it runs (/etc/libvirt/hooks/qemu and each qemu.d script alike): the hook looks for
 * the libvirt daemon among its ancestors to own a start's reservation, and with this name
 * that lookup reads one /proc/<pid>/stat, as it does under libvirtd, instead of walking up
 * through the benchmark's shells to init.
 *
 * With BENCH_CPU=1 in the environment it reports the child's CPU time (user + system, from
 * wait4) instead of the wall-clock time around spawn and wait: on a loaded machine that
 * leaves out the time the child waited for a CPU. With BENCH_RSS=1 it prints a fourth
 * figure: the largest peak resident set size of any run, in KiB.
 *
 *   bench-exec --paired RUNS WARMUP STDIN|- command [args...] -- STDIN|- command [args...] ...
 *
 * runs the commands in turn, one run of each per round, and prints a line per command: its
 * median, 10th and 90th percentiles, and the median over the rounds of its time divided by the
 * first command's time in the same round. Runs side by side in time drift together, so that
 * ratio holds still on a machine whose speed wanders from minute to minute.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cpu_time;
static long max_rss_kib;

static double run_once(const char *input, char **argv) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) { perror(argv[0]); exit(2); }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    posix_spawn_file_actions_destroy(&fa);
    if (!WIFEXITED(status)) { fprintf(stderr, "%s did not exit normally\n", argv[0]); exit(2); }
    if (ru.ru_maxrss > max_rss_kib) max_rss_kib = ru.ru_maxrss;
    if (cpu_time)
        return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    return (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
}

static const char *input_of(const char *arg) { return arg[0] == '-' && !arg[1] ? "/dev/null" : arg; }

static int paired(int argc, char **argv) {
    int runs = atoi(argv[2]), warmup = atoi(argv[3]);
    if (runs < 1) { fprintf(stderr, "bench-exec: RUNS must be at least 1\n"); return 2; }
    enum { most = 16 };
    const char *inputs[most];
    char **commands[most];
    int n = 0;
    for (int i = 4; i < argc && n < most;) {
        inputs[n] = input_of(argv[i++]);
        commands[n] = argv + i;
        while (i < argc && strcmp(argv[i], "--") != 0) i++;
        if (i < argc) argv[i++] = NULL;   /* ends this command's argv */
        if (!commands[n][0]) { fprintf(stderr, "bench-exec: a command is missing after its STDIN\n"); return 2; }
        n++;
    }
    if (n < 2) { fprintf(stderr, "usage: bench-exec --paired RUNS WARMUP STDIN cmd... -- STDIN cmd... [-- ...]\n"); return 2; }
    double *t = malloc(sizeof(double) * runs * n), *ratio = malloc(sizeof(double) * runs);
    for (int r = 0; r < warmup; r++)
        for (int c = 0; c < n; c++) run_once(inputs[c], commands[c]);
    for (int r = 0; r < runs; r++)
        for (int c = 0; c < n; c++) t[c * runs + r] = run_once(inputs[c], commands[c]);
    for (int c = 0; c < n; c++) {
        for (int r = 0; r < runs; r++) ratio[r] = t[c * runs + r] / t[r];
        qsort(t + c * runs, runs, sizeof(double), cmp);
        qsort(ratio, runs, sizeof(double), cmp);
        double *s = t + c * runs;
        printf("%.0f %.0f %.0f %.4f\n", s[runs / 2], s[runs / 10], s[runs * 9 / 10], ratio[runs / 2]);
    }
    return 0;
}

int main(int argc, char **argv) {
    prctl(PR_SET_NAME, "libvirtd", 0, 0, 0);
    const char *cpu = getenv("BENCH_CPU");
    cpu_time = cpu && cpu[0] == '1';
    if (argc > 1 && strcmp(argv[1], "--paired") == 0) return paired(argc, argv);
    if (argc < 5) { fprintf(stderr, "usage: bench-exec RUNS WARMUP STDIN|- command [args...]\n"); return 2; }
    int runs = atoi(argv[1]), warmup = atoi(argv[2]);
    const char *input = input_of(argv[3]);
    double *t = malloc(sizeof(double) * runs);
    for (int i = 0; i < warmup; i++) run_once(input, argv + 4);
    for (int i = 0; i < runs; i++) t[i] = run_once(input, argv + 4);
    qsort(t, runs, sizeof(double), cmp);
    const char *rss = getenv("BENCH_RSS");
    if (rss && rss[0] == '1')
        printf("%.0f %.0f %.0f %ld\n", t[runs / 2], t[runs / 10], t[runs * 9 / 10], max_rss_kib);
    else
        printf("%.0f %.0f %.0f\n", t[runs / 2], t[runs / 10], t[runs * 9 / 10]);
    return 0;
}
