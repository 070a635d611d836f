/* harness/util.c */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

void pecs_advise_huge(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (p && bytes >= 4 * huge && e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE); /* advice only: refused, nothing changes */
#else
    (void)p, (void)bytes;
#endif
}

void *pecs_malloc_big(size_t bytes)
{
    void *p = malloc(bytes);
    pecs_advise_huge(p, bytes);
    return p;
}

static int sb_reserve(pecs_sb *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

void pecs_sb_addf(pecs_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pecs_sb_adds(pecs_sb *b, const char *s)
{
    size_t n = strlen(s);
    if (!sb_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

const char *pecs_sb_str(const pecs_sb *b) { return b->s ? b->s : ""; }

void pecs_sb_free(pecs_sb *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

char *pecs_sb_take(pecs_sb *b)
{
    char *s = b->oom ? NULL : (b->s ? b->s : pecs_strdup(""));
    if (b->oom)
        free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

int pecs_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = (int64_t)v;
    return 1;
}

int pecs_parse_f64(const char *s, double *out)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return 0;
    *out = v;
    return 1;
}

const char *pecs_fmt_real(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e6) { /* whole numbers below a million as written: 500000, 20, not 5e+05 */
        snprintf(buf, n, "%.0f", v);
        return buf;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

char *pecs_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

pecs_status pecs_sha256_file(const char *path, char hex[65], char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return PECS_IO;
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    unsigned char buf[65536], dig[SHA256_DIGEST_SIZE];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&ctx, n, buf);
    pecs_status st = ferror(f) ? PECS_IO : PECS_OK;
    fclose(f);
    if (st != PECS_OK) {
        snprintf(why, why_len, "cannot read %s", path);
        return st;
    }
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, dig);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return PECS_OK;
}

void pecs_sha256_hex(const void *data, size_t len, char hex[65])
{
    struct sha256_ctx ctx;
    unsigned char dig[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, dig);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
}

static int g_data_fd = -1; /* pecs_stdout_claim: the real standard output, kept for data */

int pecs_stdout_claim(void)
{
    if (g_data_fd >= 0)
        return 1;
    fflush(stdout);
    int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3); /* no worker inherits the data or console stream */
    if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    g_data_fd = fd;
    return 1;
}

/* path "-": all of data to standard output (the claimed one when claimed), in one go at the end. */
static pecs_status write_stdout(const void *data, size_t len, char *why, size_t why_len)
{
    int fd = g_data_fd >= 0 ? g_data_fd : STDOUT_FILENO;
    const char *p = data;
    fflush(stdout);
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, why_len, "cannot write to standard output: %s", strerror(errno));
            return PECS_IO;
        }
        p += w;
        len -= (size_t)w;
    }
    return PECS_OK;
}

pecs_status pecs_write_atomic(const char *path, const void *data, size_t len, char *why, size_t why_len)
{
    if (!strcmp(path, "-"))
        return write_stdout(data, len, why, why_len);
    pecs_sb tmp = {0};
    pecs_sb_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    pecs_status st = PECS_OK;
    int fd = -1;
    if (tmp.oom) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(why, why_len, "cannot create %s: %s", tmp.s, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, why_len, "cannot write %s: %s", tmp.s, strerror(errno));
            st = PECS_IO;
            goto cleanup;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        snprintf(why, why_len, "cannot flush %s: %s", tmp.s, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp.s, path) != 0) {
        snprintf(why, why_len, "cannot rename %s to %s: %s", tmp.s, path, strerror(errno));
        st = PECS_IO;
    }
cleanup:
    if (fd >= 0)
        close(fd);
    if (st != PECS_OK && tmp.s)
        unlink(tmp.s);
    pecs_sb_free(&tmp);
    return st;
}

pecs_status pecs_read_file(const char *path, char **data, size_t *len, char *why, size_t why_len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return PECS_IO;
    }
    pecs_sb b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (!sb_reserve(&b, n))
            break;
        memcpy(b.s + b.len, buf, n);
        b.len += n;
        b.s[b.len] = '\0';
    }
    int err = ferror(f);
    fclose(f);
    if (err || b.oom) {
        snprintf(why, why_len, "cannot read %s", path);
        pecs_sb_free(&b);
        return err ? PECS_IO : PECS_NOMEM;
    }
    *len = b.len;
    *data = pecs_sb_take(&b);
    return *data ? PECS_OK : PECS_NOMEM;
}

double pecs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pecs_utc_iso(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *pecs_opt(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}
