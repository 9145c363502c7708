/*
 * Helpers shared by the benchmark programs (never by tests): the clock, the timing rule,
 * the result lines tools/bench.py reads, and the peers (pandas, DuckDB) run as processes.
 *
 * The timing rule, for every side: one untimed run (warm), then BENCH_RUNS timed runs;
 * min, median and max are printed. Loading (building the structures a side computes on:
 * a library's dictionaries, hierarchies and plans, SQL tables and indexes, a DataFrame)
 * is timed apart from compute, once per side unless a workload says that setup is part of
 * the work. Every side's result is compared with salesplan's, value by value; any
 * difference, or a peer that does not run, ends the program with a non-zero status.
 */
#ifndef SP_BENCH_H
#define SP_BENCH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_RUNS 5

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline uint64_t bench_splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* FNV-1a over the values' 64-bit patterns: a short name for a result in the output. */
static inline uint64_t bench_checksum(const int64_t *v, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)v[i]) * 1099511628211u;
    return h;
}

typedef struct bench_dir bench_dir;
static inline void bench_dir_free(bench_dir *d);
/* The scratch folder in use, removed when the program stops on an error. */
static bench_dir *bench_dir_current;

__attribute__((format(printf, 1, 2))) static inline void bench_die(const char *fmt, ...)
{
    if (bench_dir_current != NULL)
        bench_dir_free(bench_dir_current);
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- timing ---- */

typedef struct bench_stats {
    double min, med, max; /* ms */
} bench_stats;

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* min, median and max of ms[0..n), n >= 1 (sorts ms). */
static inline bench_stats bench_stats_of(double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, bench_cmp_double);
    bench_stats s = { ms[0], n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2, ms[n - 1] };
    return s;
}

typedef void (*bench_fn)(void *arg);

/* One untimed run of fn(arg), then BENCH_RUNS timed ones; reset(arg), when not NULL,
 * runs untimed before each (to free what the previous run made, say). */
static inline bench_stats bench_measure_reset(bench_fn fn, bench_fn reset, void *arg)
{
    double ms[BENCH_RUNS];
    if (reset != NULL)
        reset(arg);
    fn(arg);
    for (int r = 0; r < BENCH_RUNS; r++) {
        if (reset != NULL)
            reset(arg);
        double t0 = bench_now_ms();
        fn(arg);
        ms[r] = bench_now_ms() - t0;
    }
    return bench_stats_of(ms, BENCH_RUNS);
}

static inline bench_stats bench_measure(bench_fn fn, void *arg)
{
    return bench_measure_reset(fn, NULL, arg);
}

/* ---- result lines ---- */

/*
 * One side of one workload: "@ <workload> <side> load <ms|-> min <ms> med <ms> max <ms>
 * <note>", the line tools/bench.py reads (sides: salesplan, bare, duckdb, pandas, sqlite,
 * python). `load_ms` < 0 prints "-": that side has nothing to load (it reads the host's
 * arrays in place) or its loading is inside the timed runs.
 */
static inline void bench_report(const char *workload, const char *side, double load_ms,
                                bench_stats s, const char *note)
{
    char load[32] = "-";
    if (load_ms >= 0)
        snprintf(load, sizeof load, "%.2f", load_ms);
    printf("@ %-24s %-9s load %9s  min %9.2f med %9.2f max %9.2f  %s\n", workload, side, load,
           s.min, s.med, s.max, note != NULL ? note : "");
    fflush(stdout);
}

/* Stop unless got[0..n) equals want[0..n): a side that computed something else. */
static inline void bench_same(const char *workload, const char *side, const int64_t *want,
                              const int64_t *got, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (want[i] != got[i])
            bench_die("%s: %s differs from salesplan at value %zu: %lld, salesplan %lld",
                      workload, side, i, (long long)got[i], (long long)want[i]);
}

/* ---- the peers: files in, a process, files and lines out ---- */

/* A scratch folder for one benchmark's columns; bench_dir_free removes it and its files. */
struct bench_dir {
    char path[64];
    char files[32][64];
    int nfiles;
};

static inline void bench_dir_new(bench_dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/sp-bench-XXXXXX");
    if (mkdtemp(d->path) == NULL)
        bench_die("cannot make a folder under /tmp");
    d->nfiles = 0;
    bench_dir_current = d;
}

static inline void bench_dir_note(bench_dir *d, const char *name)
{
    for (int k = 0; k < d->nfiles; k++)
        if (strcmp(d->files[k], name) == 0)
            return;
    if (d->nfiles == 32)
        bench_die("too many files in %s", d->path);
    snprintf(d->files[d->nfiles++], sizeof d->files[0], "%s", name);
}

/* Write n values of `size` bytes as the raw column file <dir>/<name>. */
static inline void bench_dir_write(bench_dir *d, const char *name, const void *data,
                                   size_t size, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, size, n, f) != n || fclose(f) != 0)
        bench_die("cannot write %s", path);
    bench_dir_note(d, name);
}

/* Read the n int64 values a peer wrote to <dir>/<name> (exactly n, or stop). */
static inline void bench_dir_read(bench_dir *d, const char *name, int64_t *out, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    bench_dir_note(d, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        bench_die("the peer wrote no %s", path);
    size_t got = fread(out, sizeof *out, n, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != n || extra != EOF)
        bench_die("%s holds %s values than the %zu expected", path, got < n ? "fewer" : "more",
                  n);
}

static inline void bench_dir_free(bench_dir *d)
{
    bench_dir_current = NULL;
    char path[160];
    for (int k = 0; k < d->nfiles; k++) {
        snprintf(path, sizeof path, "%s/%s", d->path, d->files[k]);
        remove(path);
    }
    rmdir(d->path);
}

/* What a peer measured for one workload: its result is the file out.<name>. */
typedef struct bench_peer_result {
    char name[32];
    double load_ms;
    bench_stats s;
    double mib; /* peak memory the peer reported, or -1 */
} bench_peer_result;

/*
 * Run a peer on the folder `d`: "python" runs tests/bench/<script> with Debian's python3
 * (which sees python3-pandas), "duckdb" runs tests/bench/duckdb_bench.mjs with node
 * (`script` is then the workload) from tests/bench (npm ci there installs
 * @duckdb/node-api). The peer prints, per workload it ran, "= <name> load <ms> min <ms>
 * med <ms> max <ms> [mib <MiB>]" after its own warm run and BENCH_RUNS timed runs, and
 * writes its result to <d>/out.<name>. Stops the program, naming what to install, when
 * the peer fails or reports fewer than `n` results; returns the results in `res`.
 */
static inline void bench_peer(const char *peer, const char *script, bench_dir *d,
                              const char *args, bench_peer_result *res, int n)
{
    char cmd[1024];
    const char *hint;
    if (strcmp(peer, "duckdb") == 0) {
        snprintf(cmd, sizeof cmd, "cd %s && /usr/bin/node duckdb_bench.mjs %s %s %d %s",
                 BENCH_DIR, script, d->path, BENCH_RUNS, args != NULL ? args : "");
        hint = "DuckDB needs node and `npm ci` in tests/bench (sh tools/run.sh bench does both)";
    } else {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/%s %s %d %s", BENCH_DIR, script, d->path,
                 BENCH_RUNS, args != NULL ? args : "");
        hint = "pandas needs python3-pandas and python3-numpy (sh tools/run.sh bench installs "
               "them)";
    }
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        bench_die("cannot run %s", cmd);
    char line[512];
    int got = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        bench_peer_result r = { "", 0, { 0, 0, 0 }, -1 };
        if (line[0] != '=' ||
            sscanf(line, "= %31s load %lf min %lf med %lf max %lf mib %lf", r.name, &r.load_ms,
                   &r.s.min, &r.s.med, &r.s.max, &r.mib) < 5) {
            fputs(line, stdout); /* the peer's own remarks */
            continue;
        }
        if (got < n)
            res[got] = r;
        got++;
        char out[40];
        snprintf(out, sizeof out, "out.%s", r.name);
        bench_dir_note(d, out);
    }
    int status = pclose(p);
    if (status != 0 || got < n)
        bench_die("the %s peer failed (%s; exit status %d, %d of %d results): %s", peer, cmd,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, got, n, hint);
}

/* The peer result named `name` among res[0..n). */
static inline const bench_peer_result *bench_peer_find(const bench_peer_result *res, int n,
                                                       const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(res[k].name, name) == 0)
            return &res[k];
    bench_die("the peer reported no result named %s", name);
    return NULL;
}

/*
 * Check the peer's result `name` (n int64 values in <d>/out.<name>) against want and
 * report it as `side` of `workload`. `got` is scratch of n values.
 */
static inline void bench_peer_check(bench_dir *d, const bench_peer_result *res, int nres,
                                    const char *name, const char *workload, const char *side,
                                    const int64_t *want, int64_t *got, size_t n)
{
    const bench_peer_result *r = bench_peer_find(res, nres, name);
    char file[40];
    snprintf(file, sizeof file, "out.%s", name);
    bench_dir_read(d, file, got, n);
    bench_same(workload, side, want, got, n);
    char note[64] = "same result";
    if (r->mib >= 0)
        snprintf(note, sizeof note, "same result; peak %.0f MiB", r->mib);
    bench_report(workload, side, r->load_ms, r->s, note);
}

#endif
