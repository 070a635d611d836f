/* harness/util.h — small shared helpers: growing strings, strict number parsing, shortest round-trip
 * formatting, file hashing and atomic file writes. */
#ifndef PECS_UTIL_H
#define PECS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "pecs/status.h"

/* Growing string. On allocation failure `oom` is set and further appends are ignored. */
typedef struct pecs_sb {
    char *s;
    size_t len, cap;
    int oom;
} pecs_sb;

void pecs_sb_addf(pecs_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pecs_sb_adds(pecs_sb *b, const char *s);
/* Returns the string (never NULL: "" when empty) and keeps ownership in b. */
const char *pecs_sb_str(const pecs_sb *b);
void pecs_sb_free(pecs_sb *b);
/* Take ownership of the buffer (caller frees); b is reset. NULL on OOM. */
char *pecs_sb_take(pecs_sb *b);

/* Strict parsers: the whole string must be a number (no trailing text); reals must be finite. */
int pecs_parse_i64(const char *s, int64_t *out);
int pecs_parse_f64(const char *s, double *out);

/* Shortest "%.Ng" that reads back to exactly v (N in 1..17). buf >= 32 bytes. */
const char *pecs_fmt_real(double v, char *buf, size_t n);

char *pecs_strdup(const char *s);

/* malloc for the large arrays of a case (outputs, references, their double copies): the same, plus the advice
 * that the kernel back it with transparent huge pages where it allows them on request ("madvise" mode). A
 * first touch of memory costs a page fault per 4 KiB page otherwise, and on a KVM guest the faults were 40%
 * of checking a 32 x 1024 x 1024 bias; with huge pages the same check ran in two thirds of the time. Freed
 * with free(). */
void *pecs_malloc_big(size_t bytes);
/* The same advice for a region of anonymous memory (an arena's mmap). */
void pecs_advise_huge(void *p, size_t bytes);

/* sha256 of a file as 64 hex chars + NUL. */
pecs_status pecs_sha256_file(const char *path, char hex[65], char *why, size_t why_len);
/* sha256 of a buffer, the same way. */
void pecs_sha256_hex(const void *data, size_t len, char hex[65]);

/* Write `len` bytes to path atomically: path.tmp.<pid>, fsync, rename. Removes the temporary on error. */
/* "-" as an output path: the data goes to standard output. pecs_stdout_claim() (once, before anything is
 * printed) keeps the real standard output for that data alone and sends what pecs and in-process plugins
 * print there to standard error instead, so `pecs run --out - | jq` reads JSON only. 0: could not. */
int pecs_stdout_claim(void);
pecs_status pecs_write_atomic(const char *path, const void *data, size_t len, char *why, size_t why_len);

/* Read a whole file (NUL-terminated). */
pecs_status pecs_read_file(const char *path, char **data, size_t *len, char *why, size_t why_len);

/* Monotonic seconds. */
double pecs_now(void);
/* UTC time as ISO 8601 (YYYY-MM-DDTHH:MM:SSZ). */
void pecs_utc_iso(char buf[32]);

/* Command-line option "--name value" or "--name=value" at argv[*i]: its value (advancing *i past a separate
 * value), or NULL if argv[*i] is not this option; sets *missing when the option is there but its value is not. */
const char *pecs_opt(int argc, char **argv, int *i, const char *name, int *missing);

#endif
