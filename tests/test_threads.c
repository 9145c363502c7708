/*
 * Contexts used from several threads at once (docs/conventions.md, "Threads"): four
 * threads, each with its own sp_ctx, build a hierarchy, read two years of order lines
 * from a memory fact source as history, decompose a target plan, and save and load the
 * plan and its target set through a memory store and a file store of their own, all
 * started together. Each thread gets a different company, so that one thread's data
 * showing up in another's results would be seen; every result must equal the same work
 * done on the main thread alone, before any thread starts.
 *
 * tools/run.sh builds this with -Db_sanitize=thread and runs it under ThreadSanitizer,
 * which reports any data race between the threads (shared mutable state in the library);
 * elsewhere it is an ordinary test. Worker threads never call cmocka: they record what
 * they got, and the main thread asserts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <salesplan/salesplan.h>

#define NTHREADS 4
#define REGIONS 3
#define GRIDS 2 /* per region */
#define REPS 3  /* per grid */
#define NREPS (REGIONS * GRIDS * REPS)
#define NNODES (1 + REGIONS + REGIONS * GRIDS + NREPS)
#define NPERIODS 12
#define WEEKS 52
#define NLINES (NREPS * WEEKS * 2) /* one order line a week per rep, FY2024 and FY2025 */
#define SETTINGS_MAX 4096

static const char settings[] =
    "{ \"levels\": {\n"
    "    \"region\": { \"method\": \"driver\", \"driver\": \"prior_year\", \"unit\": 1000 },\n"
    "    \"grid\": { \"method\": \"blend\", \"unit\": 100,\n"
    "              \"blend\": [ { \"driver\": \"prior_year\", \"weight\": \"80%\" },\n"
    "                         { \"driver\": \"potential\", \"weight\": \"20%\" } ] },\n"
    "    \"rep\": { \"method\": \"growth\", \"baseline\": \"prior_year\",\n"
    "             \"floor\": \"-10%\", \"cap\": \"50%\" } },\n"
    "  \"seasonality\": { \"profiles\": {\n"
    "    \"CN\": { \"method\": \"average_share\", \"years\": 2 } } } }\n";

/* One company: ids in the order they are added (node i has index i), parents, the
 * grids' potential, and the reps' weekly sales level. */
typedef struct company {
    char ids[NNODES][16];
    const char *idp[NNODES], *parent[NNODES];
    int64_t potential[NNODES];
    int64_t level[NNODES];
} company;

/* A target set as arrays. */
typedef struct set_arrays {
    int64_t annual[NNODES];
    int64_t periods[NNODES * NPERIODS];
} set_arrays;

/* What one store gave: the set decomposed and saved, and the plan and set read back. */
typedef struct store_outcome {
    set_arrays saved, loaded;
    uint32_t plan_revision, set_version; /* of the objects read back */
    char settings[SETTINGS_MAX];         /* canonical settings of the plan read back */
    size_t settings_len;
} store_outcome;

/* Everything one run of the work produced; rc != SP_OK stops it at `step`. */
typedef struct result {
    int rc;
    const char *step;
    char msg[256];
    uint64_t history_used;
    int64_t prior[NNODES]; /* the prior_year driver */
    int64_t total;
    store_outcome memory, file;
} result;

typedef struct job {
    int variant;
    const char *path; /* the file store */
    pthread_barrier_t *start;
    result *out;
} job;

static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void add_node(company *c, size_t *n, const char *id, int parent)
{
    snprintf(c->ids[*n], sizeof c->ids[0], "%s", id);
    c->idp[*n] = c->ids[*n];
    c->parent[*n] = parent < 0 ? NULL : c->ids[parent];
    (*n)++;
}

/* The company of a variant: the same shape, different numbers. */
static void make_company(company *c, int variant)
{
    memset(c, 0, sizeof *c);
    uint64_t s = (uint64_t)variant * 1000 + 7;
    size_t n = 0;
    char id[16];
    add_node(c, &n, "CN", -1);
    for (int r = 0; r < REGIONS; r++) {
        int ri = (int)n;
        snprintf(id, sizeof id, "R%d", r + 1);
        add_node(c, &n, id, 0);
        for (int g = 0; g < GRIDS; g++) {
            int gi = (int)n;
            snprintf(id, sizeof id, "R%d-G%d", r + 1, g + 1);
            add_node(c, &n, id, ri);
            c->potential[gi] = (int64_t)(next_random(&s) % 900 + 100);
            for (int p = 0; p < REPS; p++) {
                snprintf(id, sizeof id, "R%dG%dP%d", r + 1, g + 1, p + 1);
                c->level[n] = (int64_t)(500000 + next_random(&s) % 2000000);
                add_node(c, &n, id, gi);
            }
        }
    }
}

static int failed(result *res, sp_ctx *ctx, const char *step, int rc)
{
    res->rc = rc;
    res->step = step;
    snprintf(res->msg, sizeof res->msg, "%s", ctx != NULL ? sp_ctx_errmsg(ctx) : "");
    return rc;
}

/* Order lines of FY2024 and FY2025: one a week per rep, amounts seeded by the variant;
 * appended to the source as one batch. */
static int add_facts(const company *c, int variant, sp_fact_source *src, sp_dict *dict)
{
    uint64_t *id = malloc(NLINES * sizeof *id);
    int32_t *day = malloc(NLINES * sizeof *day);
    uint32_t *rep = malloc(NLINES * sizeof *rep);
    int64_t *amount = malloc(NLINES * sizeof *amount);
    int rc = id != NULL && day != NULL && rep != NULL && amount != NULL ? SP_OK : SP_ENOMEM;
    uint64_t s = (uint64_t)variant * 1000 + 99;
    size_t k = 0;
    for (size_t v = 0; v < NNODES && rc == SP_OK; v++) {
        if (c->level[v] == 0)
            continue;
        uint32_t idx;
        if ((rc = sp_dict_intern(dict, c->ids[v], strlen(c->ids[v]), &idx)) != SP_OK)
            break;
        for (int32_t year = 2024; year <= 2025 && rc == SP_OK; year++) {
            int32_t first;
            if ((rc = sp_calendar_day_from_civil(year, 1, 1, &first)) != SP_OK)
                break;
            for (int32_t w = 0; w < WEEKS; w++) {
                id[k] = k + 1;
                day[k] = first + 7 * w + (int32_t)(next_random(&s) % 7);
                rep[k] = idx;
                amount[k] = c->level[v] * (80 + (int64_t)(next_random(&s) % 41)) / 100 +
                            (year - 2024) * c->level[v] / 20;
                k++;
            }
        }
    }
    if (rc == SP_OK) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = k;
        b.id = id;
        b.day = day;
        b.rep = rep;
        b.amount = amount;
        rc = sp_fact_source_memory_append(src, &b);
    }
    free(id);
    free(day);
    free(rep);
    free(amount);
    return rc;
}

static void copy_set(const sp_target_set *set, set_arrays *out)
{
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    memset(out, 0, sizeof *out);
    if (sp_target_set_get_data(set, &d) != SP_OK || d.nnodes != NNODES || d.nperiods != NPERIODS)
        return; /* zeros: the comparison with the reference fails */
    memcpy(out->annual, d.annual, sizeof out->annual);
    memcpy(out->periods, d.periods, sizeof out->periods);
}

/* A plan over the company with the history read from the facts and the settings. */
static int new_plan(sp_ctx *ctx, const sp_hierarchy *h, const company *c,
                    const sp_fact_source *src, const sp_dict *dict, result *res,
                    sp_target_plan **out)
{
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2026;
    sp_target_plan *plan = NULL;
    int rc = sp_target_plan_new(&plan, ctx, "FY2026", h, &o);
    if (rc != SP_OK)
        return failed(res, ctx, "plan", rc);
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 2;
    sp_target_history_report report = SP_TARGET_HISTORY_REPORT_INIT;
    if ((rc = sp_target_plan_set_driver(plan, "potential", c->potential, NULL, NNODES)) != SP_OK ||
        (rc = sp_target_plan_load_history(plan, src, dict, &ho, NULL, &report)) != SP_OK ||
        (rc = sp_target_plan_set_settings(plan, settings, strlen(settings))) != SP_OK) {
        sp_target_plan_free(plan);
        return failed(res, ctx, "plan history and settings", rc);
    }
    res->history_used = report.used;
    *out = plan;
    return SP_OK;
}

/* Save a new plan and its decomposition to `st`, read both back. */
static int round_trip(sp_ctx *ctx, const sp_hierarchy *h, const company *c,
                      const sp_fact_source *src, const sp_dict *dict, sp_storage *st,
                      result *res, store_outcome *out)
{
    sp_target_plan *plan = NULL, *back = NULL;
    sp_target_set *set = NULL, *set_back = NULL;
    int rc = new_plan(ctx, h, c, src, dict, res, &plan);
    if (rc != SP_OK)
        return rc;
    uint32_t version = 0;
    const char *js = NULL;
    size_t len = 0;
    sp_target_set_info info = SP_TARGET_SET_INFO_INIT;
    sp_target_plan_info pinfo = SP_TARGET_PLAN_INFO_INIT;
    if ((rc = sp_target_plan_decompose(&set, plan, res->total, NULL)) != SP_OK)
        failed(res, ctx, "decompose", rc);
    else if ((rc = sp_target_plan_save(plan, st)) != SP_OK ||
             (rc = sp_target_set_save(set, st, "base", "threads", 20454, &version)) != SP_OK)
        failed(res, ctx, "save", rc);
    else if ((rc = sp_target_plan_load(&back, ctx, st, "FY2026")) != SP_OK ||
             (rc = sp_target_set_load(&set_back, ctx, st, "FY2026", "base", version)) != SP_OK ||
             (rc = sp_target_plan_get_settings(back, &js, &len)) != SP_OK ||
             (rc = sp_target_plan_get_info(back, &pinfo)) != SP_OK ||
             (rc = sp_target_set_get_info(set_back, &info)) != SP_OK)
        failed(res, ctx, "load", rc);
    else if (len >= sizeof out->settings)
        rc = failed(res, NULL, "settings longer than SETTINGS_MAX", SP_EBUFFER);
    else {
        copy_set(set, &out->saved);
        copy_set(set_back, &out->loaded);
        memcpy(out->settings, js, len);
        out->settings_len = len;
        out->plan_revision = pinfo.revision;
        out->set_version = info.set_version;
    }
    sp_target_set_free(set_back);
    sp_target_set_free(set);
    sp_target_plan_free(back);
    sp_target_plan_free(plan);
    return rc;
}

/* The whole work of one variant on one context; the file store at `path` is recreated
 * and read back after it is closed. */
static void work(int variant, const char *path, result *res)
{
    memset(res, 0, sizeof *res);
    company *c = malloc(sizeof *c);
    sp_ctx *ctx = NULL;
    sp_hierarchy *h = NULL;
    sp_dict *dict = NULL;
    sp_fact_source *src = NULL;
    sp_target_plan *plan = NULL;
    sp_storage *mem = NULL, *file = NULL;
    const char *levels[] = { "company", "region", "grid", "rep" };
    int rc;
    if (c == NULL) {
        failed(res, NULL, "company", SP_ENOMEM);
        return;
    }
    make_company(c, variant);
    if ((rc = sp_ctx_new(&ctx, NULL)) != SP_OK) {
        failed(res, NULL, "context", rc);
        goto done;
    }
    if ((rc = sp_hierarchy_new(&h, ctx)) != SP_OK ||
        (rc = sp_hierarchy_add_all(h, c->idp, NULL, c->parent, NULL, NNODES, NULL)) != SP_OK ||
        (rc = sp_hierarchy_set_levels(h, levels, 4)) != SP_OK ||
        (rc = sp_hierarchy_validate(h)) != SP_OK) {
        failed(res, ctx, "hierarchy", rc);
        goto done;
    }
    if ((rc = sp_dict_new(&dict, ctx)) != SP_OK ||
        (rc = sp_fact_source_memory_new(&src, ctx)) != SP_OK ||
        (rc = add_facts(c, variant, src, dict)) != SP_OK) {
        failed(res, ctx, "facts", rc);
        goto done;
    }
    /* The total: FY2025 + 12 %, in whole thousands of yuan. */
    if (new_plan(ctx, h, c, src, dict, res, &plan) != SP_OK)
        goto done;
    const int64_t *prior = NULL;
    const char *name;
    for (size_t k = 0; k < sp_target_plan_driver_count(plan); k++)
        if (sp_target_plan_driver_at(plan, k, &name, &prior, NULL) == SP_OK &&
            strcmp(name, "prior_year") == 0)
            break;
    if (prior == NULL || strcmp(name, "prior_year") != 0) {
        failed(res, ctx, "no prior_year driver", SP_ENOTFOUND);
        goto done;
    }
    memcpy(res->prior, prior, sizeof res->prior);
    if ((rc = sp_money_mul_dec(prior[0], 1120000000, SP_ROUND_HALF_EVEN, &res->total)) != SP_OK ||
        (rc = sp_money_round_to(res->total, 100000, SP_ROUND_DOWN, &res->total)) != SP_OK) {
        failed(res, ctx, "total", rc);
        goto done;
    }

    if ((rc = sp_storage_memory_new(&mem, ctx)) != SP_OK) {
        failed(res, ctx, "memory store", rc);
        goto done;
    }
    if (round_trip(ctx, h, c, src, dict, mem, res, &res->memory) != SP_OK)
        goto done;

    sp_file_store_options fo = SP_FILE_STORE_OPTIONS_INIT;
    fo.flags |= SP_FILE_STORE_NO_SYNC; /* throw-away data */
    unlink(path);
    if ((rc = sp_storage_file_new(&file, ctx, path, &fo)) != SP_OK) {
        failed(res, ctx, "file store", rc);
        goto done;
    }
    if (round_trip(ctx, h, c, src, dict, file, res, &res->file) != SP_OK)
        goto done;
    /* Closed and opened again: what the file holds, not what the store kept in memory. */
    sp_storage_free(file);
    file = NULL;
    sp_target_set *set = NULL;
    if ((rc = sp_storage_file_new(&file, ctx, path, &fo)) != SP_OK ||
        (rc = sp_target_set_load(&set, ctx, file, "FY2026", "base", 0)) != SP_OK) {
        failed(res, ctx, "file store reopened", rc);
        goto done;
    }
    copy_set(set, &res->file.loaded);
    sp_target_set_free(set);

done:
    sp_storage_free(file);
    sp_storage_free(mem);
    sp_target_plan_free(plan);
    sp_fact_source_free(src);
    sp_dict_free(dict);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
    free(c);
    unlink(path);
}

static void *worker(void *arg)
{
    job *j = arg;
    /* All threads start the work together. */
    pthread_barrier_wait(j->start);
    work(j->variant, j->path, j->out);
    return NULL;
}

static void assert_ok(const result *r, const char *who)
{
    if (r->rc != SP_OK)
        fail_msg("%s: %s: %s (%s)", who, r->step, sp_strerror(r->rc), r->msg);
}

/* Checks of one result that need no reference: every line read, the root's target is
 * the total, each node's periods sum to its annual target, each inner node's periods are
 * the sums of its children's (by construction the children of node v are the nodes whose
 * parent id is v's id), and what was read back is what was saved. */
static void check_alone(const result *r)
{
    company c;
    make_company(&c, 0); /* the shape, the same for every variant */
    assert_int_equal(r->history_used, NLINES);
    assert_true(r->prior[0] > 0);
    assert_true(r->total > r->prior[0]);
    const store_outcome *so[2] = { &r->memory, &r->file };
    for (int s = 0; s < 2; s++) {
        const set_arrays *a = &so[s]->saved;
        assert_int_equal(a->annual[0], r->total);
        for (size_t v = 0; v < NNODES; v++) {
            int64_t sum = 0;
            for (size_t p = 0; p < NPERIODS; p++)
                sum += a->periods[v * NPERIODS + p];
            assert_int_equal(sum, a->annual[v]);
            for (size_t p = 0; p < NPERIODS && c.level[v] == 0; p++) {
                int64_t kids = 0;
                for (size_t k = 1; k < NNODES; k++)
                    if (strcmp(c.parent[k], c.ids[v]) == 0)
                        kids += a->periods[k * NPERIODS + p];
                assert_int_equal(kids, a->periods[v * NPERIODS + p]);
            }
        }
        assert_memory_equal(&so[s]->loaded, a, sizeof *a);
        assert_int_equal(so[s]->plan_revision, 1);
        assert_int_equal(so[s]->set_version, 1);
    }
    /* Both stores got the same plan and the same decomposition. */
    assert_memory_equal(&r->memory.saved, &r->file.saved, sizeof r->memory.saved);
    assert_int_equal(r->memory.settings_len, r->file.settings_len);
    assert_memory_equal(r->memory.settings, r->file.settings, r->memory.settings_len);
}

static void test_threads_match_one_thread(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-threads-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char paths[2][NTHREADS][64];
    static result serial[NTHREADS], threaded[NTHREADS];

    for (int i = 0; i < NTHREADS; i++) {
        snprintf(paths[0][i], sizeof paths[0][i], "%s/serial-%d.store", dir, i);
        snprintf(paths[1][i], sizeof paths[1][i], "%s/thread-%d.store", dir, i);
        work(i, paths[0][i], &serial[i]);
    }

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, NTHREADS), 0);
    pthread_t tid[NTHREADS];
    job jobs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i] = (job){ i, paths[1][i], &start, &threaded[i] };
        assert_int_equal(pthread_create(&tid[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    pthread_barrier_destroy(&start);
    assert_int_equal(rmdir(dir), 0);

    for (int i = 0; i < NTHREADS; i++) {
        assert_ok(&serial[i], "one thread");
        assert_ok(&threaded[i], "threads");
        check_alone(&serial[i]);
        assert_int_equal(threaded[i].total, serial[i].total);
        assert_memory_equal(threaded[i].prior, serial[i].prior, sizeof serial[i].prior);
        assert_memory_equal(&threaded[i].memory, &serial[i].memory, sizeof serial[i].memory);
        assert_memory_equal(&threaded[i].file, &serial[i].file, sizeof serial[i].file);
    }
    /* The variants differ, so a thread's results cannot stand for another's. */
    for (int i = 1; i < NTHREADS; i++)
        assert_memory_not_equal(serial[i].memory.saved.annual, serial[0].memory.saved.annual,
                                sizeof serial[0].memory.saved.annual);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_match_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
