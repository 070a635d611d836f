/* harness/shard.c — splitting a selection into balanced shards (shard.h). */
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "util.h"

pecs_status pecs_shard_parse(const char *arg, int *k, int *n, char *why, size_t why_len)
{
    int64_t kk = 0, nn = 0;
    char a[32], b[32];
    const char *slash = strchr(arg, '/');
    if (slash && (size_t)(slash - arg) < sizeof a && strlen(slash + 1) < sizeof b) {
        snprintf(a, sizeof a, "%.*s", (int)(slash - arg), arg);
        snprintf(b, sizeof b, "%s", slash + 1);
    }
    if (!slash || !pecs_parse_i64(a, &kk) || !pecs_parse_i64(b, &nn) || nn < 1 || nn > 100000 || kk < 1 || kk > nn) {
        snprintf(why, why_len, "--shard '%s': want K/N with 1 <= K <= N <= 100000 (e.g. --shard 2/4)", arg);
        return PECS_INVALID;
    }
    *k = (int)kk;
    *n = (int)nn;
    return PECS_OK;
}

double pecs_shard_cost(const char *case_str)
{
    pecs_case c;
    char why[256];
    double cost = PECS_SHARD_CASE_OVERHEAD;
    pecs_status st = pecs_case_parse(&c, case_str, why, sizeof why);
    if (st != PECS_OK && st != PECS_LIMIT)
        return cost;
    cost += pecs_case_bytes(&c);
    if (c.check == PECS_CHECK_INVARIANCE)
        cost *= 1.0 + c.n_shifts;
    pecs_case_free(&c);
    return cost;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

pecs_status pecs_selection_sha256(char *const *cases, int n, char hex[65])
{
    pecs_status st = PECS_OK;
    pecs_sb b = {0};
    char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
    if (!sorted) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    memcpy(sorted, cases, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
    for (int i = 0; i < n; i++)
        pecs_sb_addf(&b, "%s\n", sorted[i]);
    if (b.oom) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    pecs_sha256_hex(pecs_sb_str(&b), b.len, hex);
cleanup:
    free(sorted);
    pecs_sb_free(&b);
    return st;
}

typedef struct costed {
    const char *s;
    double cost;
    int index;
} costed;

static int cmp_costed(const void *x, const void *y)
{
    const costed *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    return strcmp(a->s, b->s);
}

pecs_status pecs_shard_assign(char *const *cases, int n, int n_shards, int *shard_of)
{
    pecs_status st = PECS_OK;
    costed *c = malloc(((size_t)n + 1) * sizeof *c);
    double *load = calloc((size_t)n_shards, sizeof *load);
    if (!c || !load) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        c[i] = (costed){cases[i], pecs_shard_cost(cases[i]), i};
    qsort(c, (size_t)n, sizeof *c, cmp_costed);
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int s = 1; s < n_shards; s++)
            if (load[s] < load[best])
                best = s;
        load[best] += c[i].cost;
        shard_of[c[i].index] = best + 1;
    }
cleanup:
    free(c);
    free(load);
    return st;
}

pecs_status pecs_shard_select(char **cases, int *n_cases, int k, int n, pecs_shard *info, char *why, size_t why_len)
{
    int total = *n_cases, kept = 0;
    int *shard_of = malloc(((size_t)total + 1) * sizeof *shard_of);
    pecs_status st = PECS_OK;
    memset(info, 0, sizeof *info);
    if (!shard_of || (st = pecs_selection_sha256(cases, total, info->selection_sha256)) != PECS_OK ||
        (st = pecs_shard_assign(cases, total, n, shard_of)) != PECS_OK) {
        st = PECS_NOMEM;
        snprintf(why, why_len, "out of memory");
        goto cleanup;
    }
    info->k = k;
    info->n = n;
    info->selected = total;
    for (int i = 0; i < total; i++) {
        if (shard_of[i] == k)
            cases[kept++] = cases[i];
        else
            free(cases[i]);
    }
    *n_cases = kept;
    if (!kept) {
        snprintf(why, why_len, "--shard %d/%d: no case in this shard (%d case(s) selected over %d shards: use fewer "
                 "shards)", k, n, total, n);
        st = PECS_INVALID;
    }
cleanup:
    free(shard_of);
    return st;
}
