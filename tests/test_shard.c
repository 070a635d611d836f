/* tests/test_shard.c — `pecs run --shard K/N` and `pecs merge`: the split is a partition, deterministic and
 * balanced; shards 1/4..4/4 of a smoke subset merged give the unsharded run's verdicts case for case; merge
 * refuses what is not the shards of one run. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shard.h"
#include "testutil.h"
#include "util.h"

static void shard_tmp(void) { tu_tmp_make("shard"); }

TestSuite(shard, .init = shard_tmp, .fini = tu_tmp_remove);

Test(shard, parse_k_of_n)
{
    int k, n;
    char why[256];
    cr_assert_eq(pecs_shard_parse("2/4", &k, &n, why, sizeof why), PECS_OK);
    cr_assert(k == 2 && n == 4);
    cr_assert_eq(pecs_shard_parse("1/1", &k, &n, why, sizeof why), PECS_OK);
    static const char *const bad[] = {"0/4", "5/4", "4", "/4", "2/", "a/b", "2/4x", "-1/4", "1/0", "1/100001", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(pecs_shard_parse(bad[i], &k, &n, why, sizeof why), PECS_INVALID, "'%s' accepted", bad[i]);
        cr_assert(strstr(why, "K/N"), "%s", why);
    }
}

/* Cases of very different costs: every case in exactly one shard, the same split every time and whatever the
 * order of the list, and balanced as LPT guarantees: no shard above the lightest by more than one case. */
Test(shard, partition_deterministic_and_balanced)
{
    enum { N = 40, S = 4 };
    char *cases[N], *reversed[N];
    int of[N], of2[N];
    double cost[N], load[S] = {0};
    for (int i = 0; i < N; i++) {
        char buf[160];
        snprintf(buf, sizeof buf, "rope tokens=%d heads=%d head_dim=64", 1 + (i * 37) % 512, 1 + i % 7);
        cases[i] = pecs_strdup(buf);
        reversed[N - 1 - i] = cases[i];
        cost[i] = pecs_shard_cost(cases[i]);
        cr_assert_gt(cost[i], PECS_SHARD_CASE_OVERHEAD);
    }
    cr_assert_eq(pecs_shard_assign(cases, N, S, of), PECS_OK);
    cr_assert_eq(pecs_shard_assign(reversed, N, S, of2), PECS_OK);
    double max_cost = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(of[i] >= 1 && of[i] <= S);
        cr_assert_eq(of[i], of2[N - 1 - i], "the split depends on the order of the list");
        load[of[i] - 1] += cost[i];
        max_cost = cost[i] > max_cost ? cost[i] : max_cost;
    }
    double lo = load[0], hi = load[0];
    for (int s = 1; s < S; s++) {
        lo = load[s] < lo ? load[s] : lo;
        hi = load[s] > hi ? load[s] : hi;
    }
    cr_assert_leq(hi - lo, max_cost, "unbalanced: %g .. %g (largest case %g)", lo, hi, max_cost);
    /* invariance cases cost their sweep */
    cr_assert_gt(pecs_shard_cost("rope tokens=64 check=invariance"), 3 * pecs_shard_cost("rope tokens=64"));
    /* pecs_shard_select keeps shard k, in order, and all k together are the whole list */
    int seen[N] = {0};
    for (int k = 1; k <= S; k++) {
        char *copy[N];
        int n = N;
        pecs_shard info;
        char why[256];
        for (int i = 0; i < N; i++)
            copy[i] = pecs_strdup(cases[i]);
        cr_assert_eq(pecs_shard_select(copy, &n, k, S, &info, why, sizeof why), PECS_OK, "%s", why);
        cr_assert(info.k == k && info.n == S && info.selected == N);
        for (int j = 0, last = -1; j < n; j++) {
            int i = 0;
            while (strcmp(cases[i], copy[j]))
                i++;
            cr_assert_gt(i, last, "order of the selection not kept");
            cr_assert_eq(of[i], k);
            last = i;
            seen[i]++;
            free(copy[j]);
        }
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(seen[i], 1, "case %d in %d shards", i, seen[i]);
        free(cases[i]);
    }
}

/* The selection hash does not depend on the order of the cases, and does on their set. */
Test(shard, selection_hash_is_of_the_set)
{
    char *a[] = {"rope tokens=1", "alibi", "rope tokens=2"}, *b[] = {"rope tokens=2", "rope tokens=1", "alibi"};
    char *c[] = {"rope tokens=2", "rope tokens=1", "alibi tokens=4"};
    char ha[65], hb[65], hc[65];
    cr_assert_eq(pecs_selection_sha256(a, 3, ha), PECS_OK);
    cr_assert_eq(pecs_selection_sha256(b, 3, hb), PECS_OK);
    cr_assert_eq(pecs_selection_sha256(c, 3, hc), PECS_OK);
    cr_assert_str_eq(ha, hb);
    cr_assert_str_neq(ha, hc);
    cr_assert_str_eq(a[0], "rope tokens=1", "the list was reordered");
}

static int pecs(const char *args, char **out) { return tu_pecs(args, out); }

static const char SUBSET[] = "suites/smoke.yaml --filter '^(rope|alibi) '";

static void run_shard(const char *name, const char *extra)
{
    char args[1024], *out;
    snprintf(args, sizeof args, "run %s %s --out '%s'", SUBSET, extra, tu_tmp_path(name));
    cr_assert_eq(pecs(args, &out), 0, "%s: %s", args, out);
    free(out);
}

/* status of every (backend, case) of a results file, as an object "backend\ncase" -> status */
static json_t *verdicts(const char *name, size_t *n)
{
    json_error_t err;
    json_t *root = json_load_file(tu_tmp_path(name), 0, &err), *map = json_object(), *c;
    size_t i;
    cr_assert_not_null(root, "%s: %s", name, err.text);
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        char key[1024];
        snprintf(key, sizeof key, "%s\n%s", json_string_value(json_object_get(c, "backend")),
                 json_string_value(json_object_get(c, "case")));
        cr_assert_null(json_object_get(map, key), "%s twice", key);
        json_object_set(map, key, json_object_get(c, "status"));
    }
    *n = json_array_size(json_object_get(root, "cases"));
    json_decref(root);
    return map;
}

static int merge(const char *files, char **out)
{
    char args[2048];
    snprintf(args, sizeof args, "merge '%s' %s", tu_tmp_path("merged.json"), files);
    return pecs(args, out);
}

/* The "done when": shards 1/4..4/4 merged equal the unsharded run's verdicts case for case, with two
 * backends; the shards are balanced; and merge refuses what is not the four shards of one run. */
Test(shard, shards_merged_equal_the_unsharded_run, .timeout = 600)
{
    char files[2048] = "", *out;
    size_t n_full, n_merged;
    run_shard("full.json", "--backend scalar --backend simd");
    for (int k = 1; k <= 4; k++) {
        char extra[128], name[32];
        snprintf(extra, sizeof extra, "--backend scalar --backend simd --shard %d/4", k);
        snprintf(name, sizeof name, "s%d.json", k);
        run_shard(name, extra);
        size_t len = strlen(files);
        snprintf(files + len, sizeof files - len, " '%s'", tu_tmp_path(name));
    }
    cr_assert_eq(merge(files, &out), 0, "%s", out);
    cr_assert(strstr(out, "merged 4 shard(s)"), "%s", out);
    free(out);
    json_t *full = verdicts("full.json", &n_full), *merged = verdicts("merged.json", &n_merged), *v;
    const char *key;
    cr_assert_gt(n_full, 500);
    cr_assert_eq(n_merged, n_full);
    json_object_foreach(full, key, v)
    {
        json_t *m = json_object_get(merged, key);
        cr_assert_not_null(m, "%s missing from the merge", key);
        cr_assert_str_eq(json_string_value(m), json_string_value(v), "%s", key);
    }
    json_decref(full);
    json_decref(merged);
    /* the merged file is a results file like a run's: same summary, shards listed, no "shard" */
    json_error_t err;
    json_t *mr = json_load_file(tu_tmp_path("merged.json"), 0, &err), *fr = json_load_file(tu_tmp_path("full.json"), 0, &err);
    cr_assert(json_equal(json_object_get(mr, "summary"), json_object_get(fr, "summary")));
    cr_assert_null(json_object_get(mr, "shard"));
    cr_assert_eq(json_array_size(json_object_get(json_object_get(mr, "merged"), "shards")), 4);
    json_decref(mr);
    json_decref(fr);
    /* compare agrees: no regression either way */
    char args[1024];
    snprintf(args, sizeof args, "compare '%s' '%s'", tu_tmp_path("full.json"), tu_tmp_path("merged.json"));
    cr_assert_eq(pecs(args, &out), 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "report '%s' --format csv", tu_tmp_path("merged.json"));
    cr_assert_eq(pecs(args, &out), 0, "merged file not a valid results file: %s", out);
    free(out);

    /* refusals: exit 2, the reason named, nothing written */
    remove(tu_tmp_path("merged.json"));
    run_shard("other4.json", "--backend scalar --backend simd --shard 4/4 --no-determinism");
    run_shard("sel4.json", "--backend scalar --backend simd --shard 4/4 --dtype f32");
    json_t *t = json_load_file(tu_tmp_path("s4.json"), 0, &err);
    json_object_set_new(json_object_get(t, "pecs"), "git_commit", json_string("0123456789ab"));
    cr_assert_eq(json_dump_file(t, tu_tmp_path("commit4.json"), 0), 0);
    json_decref(t);
    t = json_load_file(tu_tmp_path("s4.json"), 0, &err);
    json_array_remove(json_object_get(t, "cases"), 0);
    cr_assert_eq(json_dump_file(t, tu_tmp_path("short4.json"), 0), 0);
    json_decref(t);
    char s1[256], s2[256];
    snprintf(s1, sizeof s1, "'%s'", tu_tmp_path("s1.json"));
    snprintf(s2, sizeof s2, "'%s' '%s'", tu_tmp_path("s2.json"), tu_tmp_path("s3.json"));
    static const struct {
        const char *fourth, *want;
    } bad[] = {
        {NULL, "shard(s) 4 of 4 missing"},
        {"s3.json", "are both shard 3/4"},
        {"other4.json", "differ in run_identity.--no-determinism"},
        {"sel4.json", "differ in shard.selected"},
        {"commit4.json", "differ in pecs.git_commit"},
        {"short4.json", "a shard is incomplete"},
        {"full.json", "not a shard"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char list[2048];
        snprintf(list, sizeof list, "%s %s", s1, s2);
        if (bad[i].fourth) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, " '%s'", tu_tmp_path(bad[i].fourth));
        }
        cr_assert_eq(merge(list, &out), 2, "%s: %s", bad[i].want, out);
        cr_assert(strstr(out, bad[i].want), "want '%s' in: %s", bad[i].want, out);
        free(out);
        struct stat st;
        cr_assert_neq(stat(tu_tmp_path("merged.json"), &st), 0, "%s: a file was written", bad[i].want);
    }
}

/* A shard of more shards than cases is bad input, as any selection of no case is. */
Test(shard, empty_shard_is_bad_input)
{
    char args[1024], *out;
    snprintf(args, sizeof args, "run --case rope --case alibi --shard 3/3 --out '%s'", tu_tmp_path("e.json"));
    cr_assert_eq(pecs(args, &out), 2, "%s", out);
    cr_assert(strstr(out, "--shard 3/3: no case in this shard (2 case(s) selected over 3 shards"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run --case rope --shard 0/3 --out '%s'", tu_tmp_path("e.json"));
    cr_assert_eq(pecs(args, &out), 2, "%s", out);
    free(out);
}
