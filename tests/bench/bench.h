/* Helpers shared by the benchmark programs (never by tests): a clock, best-of-N timing. */
#ifndef SP_BENCH_H
#define SP_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

/* FNV-1a over the values' 64-bit patterns: the benchmarks' way to confirm that an
 * alternative computed the same result (the Python scripts compute the same). */
static inline uint64_t bench_checksum(const int64_t *v, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)v[i]) * 1099511628211u;
    return h;
}

/*
 * Run tests/bench/<script> <input> <args> with Debian's python3 (which sees python3-pandas)
 * and read the numbers it prints: its compute time in ms, the bench_checksum of its
 * result and, when `mib` is not NULL, its peak memory in MiB. Returns 0, or -1 when it
 * did not run.
 */
static inline int bench_run_script(const char *script, const char *input, const char *args,
                                   double *ms, uint64_t *sum, double *mib)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/%s %s %s 2>/dev/null", BENCH_DIR, script,
             input, args);
    FILE *p = popen(cmd, "r");
    int want = mib != NULL ? 3 : 2;
    int got = 0;
    if (p != NULL) {
        got = fscanf(p, "%lf %llu", ms, (unsigned long long *)sum);
        if (got == 2 && mib != NULL)
            got += fscanf(p, "%lf", mib);
        pclose(p);
    }
    return got == want ? 0 : -1;
}

/* bench_run_script with a file holding data[0..n-1] as raw int64 as the input. */
static inline int bench_python(const char *script, const int64_t *data, size_t n,
                               const char *args, double *ms, uint64_t *sum)
{
    char path[] = "/tmp/sp-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "wb");
    fwrite(data, sizeof *data, n, f);
    fclose(f);
    int rc = bench_run_script(script, path, args, ms, sum, NULL);
    remove(path);
    return rc;
}

/* bench_run_script with a folder as the input, holding one file of raw int64 per column
 * (names[k]: lens[k] values of cols[k]). */
static inline int bench_python_columns(const char *script, size_t ncols,
                                       const char *const *names, const int64_t *const *cols,
                                       const size_t *lens, const char *args, double *ms,
                                       uint64_t *sum, double *mib)
{
    char dir[] = "/tmp/sp-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    char path[128];
    for (size_t k = 0; k < ncols; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        FILE *f = fopen(path, "wb");
        if (f != NULL) {
            fwrite(cols[k], sizeof(int64_t), lens[k], f);
            fclose(f);
        }
    }
    int rc = bench_run_script(script, dir, args, ms, sum, mib);
    for (size_t k = 0; k < ncols; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        remove(path);
    }
    remove(dir);
    return rc;
}

#endif
