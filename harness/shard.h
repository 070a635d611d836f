/* harness/shard.h — `pecs run --shard K/N`: the selected cases split into N shards, deterministically and
 * balanced by estimated cost, so that N machines of one kind run one shard each and `pecs merge` joins
 * their results (docs/scale-out.md).
 *
 * Cost of a case: (its tensor bytes, pecs_case_bytes, + PECS_SHARD_CASE_OVERHEAD) x (1 + the number of
 * shifts of its invariance sweep, for check=invariance). Assignment: longest processing time first — the
 * cases sorted by cost, largest first, ties by case string (strcmp) — each to the shard with the least
 * cost so far (ties: the lowest shard). Every shard keeps its cases in the order of the full selection.
 * The result depends only on the list of case strings, so every machine computes the same split.
 *
 * The full selection is identified by a sha256 over the case strings sorted (strcmp), each followed by
 * '\n': `pecs merge` recomputes it from the joined cases, so a merged file holds exactly the selection. */
#ifndef PECS_SHARD_H
#define PECS_SHARD_H

#include <stddef.h>

#include "pecs/status.h"

/* Fixed cost per case, in bytes-equivalent (inputs, reference, comparison of a tiny case are not free). */
#define PECS_SHARD_CASE_OVERHEAD 16384.0

typedef struct pecs_shard {
    int k, n;                   /* this shard, 1 <= k <= n */
    int selected;               /* cases selected before sharding */
    char selection_sha256[65];  /* of the full selection (above) */
} pecs_shard;

/* "K/N" with 1 <= K <= N <= 100000 (why says what is wrong otherwise). */
pecs_status pecs_shard_parse(const char *arg, int *k, int *n, char *why, size_t why_len);

/* The estimated cost of a canonical case string (above). */
double pecs_shard_cost(const char *case_str);

/* sha256 of a selection (above); the strings are not reordered. */
pecs_status pecs_selection_sha256(char *const *cases, int n, char hex[65]);

/* shard_of[i] in 1..n_shards for each of the n cases (above). */
pecs_status pecs_shard_assign(char *const *cases, int n, int n_shards, int *shard_of);

/* Keep shard k of n of cases[0..*n_cases) in place (order kept; the others are freed), *n_cases updated,
 * and fill `info`. PECS_INVALID (why says so) when the shard gets no case. */
pecs_status pecs_shard_select(char **cases, int *n_cases, int k, int n, pecs_shard *info, char *why, size_t why_len);

#endif
