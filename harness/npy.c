/* harness/npy.c — NumPy .npy reader and writer, see npy.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno, fstat, getpid */
#endif

#include "npy.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__GNUC__)
#define NPY_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#else
#define NPY_PRINTF_(f, a)
#endif

enum {
    QUOTE_MAX = 48,                /* bytes of an offending text shown in a message */
    QUOTE_BUF = 4 * QUOTE_MAX + 8, /* each byte may become \xNN, plus "..." and NUL */
    SHAPE_BUF = 128,               /* "(d, d, d, d)" with 20-digit dims */
    ALIGN = 64,                    /* numpy aligns the data start to 64 bytes */
};

static const unsigned char k_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
static const char k_supported[] = "<f8 <f4 <f2 <i4 <i8";

static const struct {
    const char *code;
    pecs_dtype dtype;
} k_descr[] = {
    {"f8", PECS_DT_F64}, {"f4", PECS_DT_F32}, {"f2", PECS_DT_F16}, {"i4", PECS_DT_I32}, {"i8", PECS_DT_I64},
};

/* Where messages go: every one starts with path. */
typedef struct npy_msg {
    const char *path;
    char *why;
    size_t why_len;
} npy_msg;

static void set_why(const npy_msg *m, const char *fmt, ...) NPY_PRINTF_(2, 3);

static void set_why(const npy_msg *m, const char *fmt, ...)
{
    if (!m->why || m->why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->why, m->why_len, fmt, ap);
    va_end(ap);
    if (n < 0)
        m->why[0] = '\0';
}

/* Printable rendering of s[0..n): other bytes (and backslash) as \xNN, "..." when cut. Keeps messages
 * one line and safe to print whatever the file holds. */
static void quote(char dst[QUOTE_BUF], const unsigned char *s, size_t n)
{
    size_t m = n < QUOTE_MAX ? n : QUOTE_MAX;
    size_t j = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            dst[j++] = (char)c;
        } else {
            snprintf(dst + j, 5, "\\x%02x", c);
            j += 4;
        }
    }
    if (m < n) {
        memcpy(dst + j, "...", 3);
        j += 3;
    }
    dst[j] = '\0';
}

/* "()", "(5,)", "(3, 4)" — numpy's repr of the shape tuple. */
static void format_shape(char dst[SHAPE_BUF], int ndim, const int64_t *shape)
{
    size_t j = 0;
    dst[j++] = '(';
    for (int d = 0; d < ndim; d++) {
        int n = snprintf(dst + j, SHAPE_BUF - j, "%s%" PRId64, d ? ", " : "", shape[d]);
        if (n < 0 || (size_t)n >= SHAPE_BUF - j - 3)
            break; /* cannot happen for PECS_MAX_DIMS int64 dims; keeps the buffer safe regardless */
        j += (size_t)n;
    }
    if (ndim == 1)
        dst[j++] = ',';
    dst[j++] = ')';
    dst[j] = '\0';
}

static int host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap_bytes(unsigned char *p, size_t esize, size_t count)
{
    for (size_t k = 0; k < count; k++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* ---- header dict parser ---------------------------------------------------------------------------- */

enum { KEY_DESCR, KEY_FORTRAN, KEY_SHAPE, KEY_COUNT_ };
static const char *const k_keys[KEY_COUNT_] = {"descr", "fortran_order", "shape"};

typedef struct hdr {
    const npy_msg *m;
    const unsigned char *p; /* header text, not NUL-terminated */
    size_t n, i;
    int major;
    int have[KEY_COUNT_];
    pecs_dtype dtype;
    int swap;
    char descr[4]; /* as written, for messages */
    int ndim;
    int64_t shape[PECS_MAX_DIMS];
} hdr;

static int is_ws(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_delim(unsigned c)
{
    return is_ws(c) || c == ',' || c == '}' || c == ')' || c == ':';
}

static void skip_ws(hdr *h)
{
    while (h->i < h->n && is_ws(h->p[h->i]))
        h->i++;
}

static int slice_eq(const unsigned char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Length of the bare token (number, identifier, junk) at h->i. */
static size_t token_len(const hdr *h)
{
    size_t j = h->i;
    while (j < h->n && !is_delim(h->p[j]))
        j++;
    return j - h->i;
}

static pecs_status expected(const hdr *h, const char *what)
{
    char q[QUOTE_BUF];
    if (h->i >= h->n) {
        set_why(h->m, "%s: malformed header: expected %s at header offset %zu, found end of header", h->m->path,
                what, h->i);
    } else {
        size_t left = h->n - h->i;
        quote(q, h->p + h->i, left < 16 ? left : 16);
        set_why(h->m, "%s: malformed header: expected %s at header offset %zu, found '%s'", h->m->path, what,
                h->i, q);
    }
    return PECS_PARSE;
}

static pecs_status parse_string(hdr *h, const char *what, const unsigned char **s, size_t *len)
{
    char q[QUOTE_BUF];
    if (h->i >= h->n || (h->p[h->i] != '\'' && h->p[h->i] != '"'))
        return expected(h, what);
    unsigned char open = h->p[h->i];
    size_t start = h->i + 1, j = start;
    for (; j < h->n && h->p[j] != open; j++) {
        unsigned c = h->p[j];
        if (c == '\\' || c < 0x20 || c == 0x7f) { /* escapes and control bytes never occur in real headers */
            quote(q, h->p + j, 1);
            set_why(h->m, "%s: malformed header: unsupported character '%s' in string at header offset %zu",
                    h->m->path, q, j);
            return PECS_PARSE;
        }
    }
    if (j >= h->n) {
        quote(q, h->p + h->i, h->n - h->i);
        set_why(h->m, "%s: malformed header: unterminated string at header offset %zu: %s", h->m->path, h->i, q);
        return PECS_PARSE;
    }
    *s = h->p + start;
    *len = j - start;
    h->i = j + 1;
    return PECS_OK;
}

static pecs_status parse_descr(hdr *h)
{
    const unsigned char *s;
    size_t len;
    char q[QUOTE_BUF];
    pecs_status st = parse_string(h, "a quoted string as the value of 'descr'", &s, &len);
    if (st != PECS_OK)
        return st;
    if (len == 3 && (s[0] == '<' || s[0] == '>' || s[0] == '=' || s[0] == '|')) {
        for (size_t k = 0; k < sizeof k_descr / sizeof k_descr[0]; k++) {
            if (memcmp(s + 1, k_descr[k].code, 2) != 0)
                continue;
            h->dtype = k_descr[k].dtype;
            /* '=' and '|' mean native order; only an explicit foreign order needs a swap */
            h->swap = (s[0] == '<' && !host_is_le()) || (s[0] == '>' && host_is_le());
            memcpy(h->descr, s, 3);
            h->descr[3] = '\0';
            return PECS_OK;
        }
    }
    quote(q, s, len);
    set_why(h->m, "%s: unsupported dtype '%s' (supported: %s)", h->m->path, q, k_supported);
    return PECS_UNSUPPORTED;
}

static pecs_status parse_fortran(hdr *h)
{
    char q[QUOTE_BUF];
    size_t len = token_len(h);
    const unsigned char *s = h->p + h->i;
    if (len == 0)
        return expected(h, "True or False as the value of 'fortran_order'");
    h->i += len;
    if (slice_eq(s, len, "False"))
        return PECS_OK;
    if (slice_eq(s, len, "True")) {
        set_why(h->m, "%s: fortran_order True is not supported", h->m->path);
        return PECS_UNSUPPORTED;
    }
    quote(q, s, len);
    set_why(h->m, "%s: invalid fortran_order value '%s' (expected True or False)", h->m->path, q);
    return PECS_PARSE;
}

/* The shape text as written, from '(' through the first ')', for messages. */
static void shape_text(const hdr *h, size_t open, char q[QUOTE_BUF])
{
    size_t j = open;
    while (j < h->n && h->p[j] != ')')
        j++;
    quote(q, h->p + open, (j < h->n ? j + 1 : j) - open);
}

/* One dimension token: a Python int literal without sign or leading zeros (and the Python 2 'L' suffix
 * in format 1.0/2.0). */
static pecs_status parse_dim(hdr *h, size_t open, int64_t *v)
{
    char q[QUOTE_BUF], sq[QUOTE_BUF];
    size_t len = token_len(h);
    const unsigned char *s = h->p + h->i;
    if (len == 0)
        return expected(h, "a dimension in 'shape'");
    h->i += len;
    size_t nd = len;
    if (h->major < 3 && nd > 1 && (s[nd - 1] == 'L' || s[nd - 1] == 'l'))
        nd--;
    size_t first = s[0] == '-' ? 1 : 0;
    int ok = nd > first && !(s[first] == '0' && nd - first > 1);
    for (size_t k = first; ok && k < nd; k++)
        ok = s[k] >= '0' && s[k] <= '9';
    quote(q, s, len);
    shape_text(h, open, sq);
    if (!ok) {
        set_why(h->m, "%s: invalid dimension '%s' in shape %s (expected a non-negative integer)", h->m->path, q,
                sq);
        return PECS_PARSE;
    }
    if (first) {
        set_why(h->m, "%s: negative dimension '%s' in shape %s", h->m->path, q, sq);
        return PECS_PARSE;
    }
    int64_t x = 0;
    for (size_t k = 0; k < nd; k++) {
        int digit = s[k] - '0';
        if (x > (INT64_MAX - digit) / 10) {
            set_why(h->m, "%s: dimension '%s' in shape %s is too large (over INT64_MAX)", h->m->path, q, sq);
            return PECS_LIMIT;
        }
        x = x * 10 + digit;
    }
    *v = x;
    return PECS_OK;
}

static pecs_status parse_shape(hdr *h)
{
    char sq[QUOTE_BUF];
    pecs_status st;
    size_t count = 0;
    int64_t v = 0;
    if (h->i >= h->n || h->p[h->i] != '(')
        return expected(h, "a tuple '(...)' as the value of 'shape'");
    size_t open = h->i++;
    skip_ws(h);
    if (h->i < h->n && h->p[h->i] == ')') {
        h->i++;
        h->ndim = 0;
        return PECS_OK;
    }
    for (;;) {
        skip_ws(h);
        if ((st = parse_dim(h, open, &v)) != PECS_OK)
            return st;
        if (count < PECS_MAX_DIMS)
            h->shape[count] = v;
        count++;
        skip_ws(h);
        if (h->i < h->n && h->p[h->i] == ',') {
            h->i++;
            skip_ws(h);
            if (h->i < h->n && h->p[h->i] == ')') {
                h->i++;
                break;
            }
            continue;
        }
        if (h->i < h->n && h->p[h->i] == ')') {
            h->i++;
            if (count == 1) { /* "(5)" is the int 5 in Python, not a tuple */
                shape_text(h, open, sq);
                set_why(h->m, "%s: shape %s is not a tuple (a 1-D shape needs a trailing comma, like (5,))",
                        h->m->path, sq);
                return PECS_PARSE;
            }
            break;
        }
        return expected(h, "',' or ')' in 'shape'");
    }
    if (count > PECS_MAX_DIMS) {
        shape_text(h, open, sq);
        set_why(h->m, "%s: shape %s has %zu dimensions, at most %d are supported", h->m->path, sq, count,
                PECS_MAX_DIMS);
        return PECS_UNSUPPORTED;
    }
    h->ndim = (int)count;
    return PECS_OK;
}

/* The whole header: a dict literal with exactly the three keys, then only whitespace. */
static pecs_status parse_header(hdr *h)
{
    char q[QUOTE_BUF];
    pecs_status st;
    skip_ws(h);
    if (h->i >= h->n || h->p[h->i] != '{')
        return expected(h, "'{'");
    h->i++;
    for (;;) {
        skip_ws(h);
        if (h->i < h->n && h->p[h->i] == '}') {
            h->i++;
            break;
        }
        const unsigned char *key;
        size_t klen;
        if ((st = parse_string(h, "a quoted key or '}'", &key, &klen)) != PECS_OK)
            return st;
        int which = -1;
        for (int k = 0; k < KEY_COUNT_; k++)
            if (slice_eq(key, klen, k_keys[k]))
                which = k;
        if (which < 0) {
            quote(q, key, klen);
            set_why(h->m, "%s: header has unexpected key '%s' (expected 'descr', 'fortran_order', 'shape')",
                    h->m->path, q);
            return PECS_PARSE;
        }
        if (h->have[which]) {
            set_why(h->m, "%s: header has duplicate key '%s'", h->m->path, k_keys[which]);
            return PECS_PARSE;
        }
        skip_ws(h);
        if (h->i >= h->n || h->p[h->i] != ':')
            return expected(h, "':'");
        h->i++;
        skip_ws(h);
        st = which == KEY_DESCR ? parse_descr(h) : which == KEY_FORTRAN ? parse_fortran(h) : parse_shape(h);
        if (st != PECS_OK)
            return st;
        h->have[which] = 1;
        skip_ws(h);
        if (h->i < h->n && h->p[h->i] == ',') {
            h->i++;
            continue;
        }
        if (h->i < h->n && h->p[h->i] == '}') {
            h->i++;
            break;
        }
        return expected(h, "',' or '}'");
    }
    skip_ws(h);
    if (h->i < h->n) {
        quote(q, h->p + h->i, h->n - h->i);
        set_why(h->m, "%s: malformed header: unexpected text after the dict at header offset %zu: '%s'",
                h->m->path, h->i, q);
        return PECS_PARSE;
    }
    for (int k = 0; k < KEY_COUNT_; k++)
        if (!h->have[k]) {
            set_why(h->m, "%s: header is missing key '%s'", h->m->path, k_keys[k]);
            return PECS_PARSE;
        }
    return PECS_OK;
}

/* ---- reader ------------------------------------------------------------------------------------------ */

/* A file or a memory buffer of known size, read front to back. */
typedef struct npy_src {
    FILE *fp;
    const unsigned char *mem;
    int is_mem;
    uint64_t size, pos;
} npy_src;

/* Callers check sizes against src->size first, so a failure here is an I/O error (or a file that shrank). */
static pecs_status src_read(npy_src *s, void *dst, size_t n, const npy_msg *m)
{
    if (n > s->size - s->pos) {
        set_why(m, "%s: read failed: file ended early (did it change while being read?)", m->path);
        return PECS_IO;
    }
    if (s->is_mem) {
        if (n)
            memcpy(dst, s->mem + s->pos, n);
    } else if ((errno = 0, fread(dst, 1, n, s->fp)) != n) {
        int e = errno;
        set_why(m, "%s: read failed: %s", m->path, ferror(s->fp) && e ? strerror(e) : "file ended early");
        return PECS_IO;
    }
    s->pos += n;
    return PECS_OK;
}

static pecs_status npy_load(npy_src *src, size_t max_bytes, pecs_npy *out, const npy_msg *m)
{
    pecs_status st = PECS_OK;
    unsigned char pre[12], *hbuf = NULL, *data = NULL;
    char q[QUOTE_BUF], shp[SHAPE_BUF];
    hdr h;
    memset(&h, 0, sizeof h);

    if (src->size < 10) {
        set_why(m, "%s: truncated: file is %" PRIu64 " bytes, shorter than the 10-byte .npy preamble", m->path,
                src->size);
        st = PECS_PARSE;
        goto cleanup;
    }
    if ((st = src_read(src, pre, 8, m)) != PECS_OK)
        goto cleanup;
    if (memcmp(pre, k_magic, sizeof k_magic) != 0) {
        quote(q, pre, sizeof k_magic);
        set_why(m, "%s: not a .npy file: bad magic '%s' (expected '\\x93NUMPY')", m->path, q);
        st = PECS_PARSE;
        goto cleanup;
    }
    h.major = pre[6];
    if (h.major < 1 || h.major > 3 || pre[7] != 0) {
        set_why(m, "%s: unsupported .npy format version %u.%u (supported: 1.0 2.0 3.0)", m->path, pre[6], pre[7]);
        st = PECS_UNSUPPORTED;
        goto cleanup;
    }
    size_t lenbytes = h.major == 1 ? 2 : 4;
    if (src->size < 8 + lenbytes) {
        set_why(m, "%s: truncated: file is %" PRIu64 " bytes, shorter than the %zu-byte version %d.0 preamble",
                m->path, src->size, 8 + lenbytes, h.major);
        st = PECS_PARSE;
        goto cleanup;
    }
    if ((st = src_read(src, pre + 8, lenbytes, m)) != PECS_OK)
        goto cleanup;
    uint64_t hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
    if (lenbytes == 4)
        hlen |= (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
    if (hlen > src->size - src->pos) {
        set_why(m, "%s: truncated: header length %" PRIu64 " goes past the end of the file (%" PRIu64
                   " bytes left after the %zu-byte preamble)",
                m->path, hlen, src->size - src->pos, 8 + lenbytes);
        st = PECS_PARSE;
        goto cleanup;
    }
    if (hlen > PECS_NPY_MAX_HEADER) {
        set_why(m, "%s: header length %" PRIu64 " is over the %u-byte limit", m->path, hlen,
                (unsigned)PECS_NPY_MAX_HEADER);
        st = PECS_LIMIT;
        goto cleanup;
    }
    hbuf = malloc(hlen ? (size_t)hlen : 1);
    if (!hbuf) {
        set_why(m, "%s: out of memory for a %" PRIu64 "-byte header", m->path, hlen);
        st = PECS_NOMEM;
        goto cleanup;
    }
    if ((st = src_read(src, hbuf, (size_t)hlen, m)) != PECS_OK)
        goto cleanup;
    h.m = m;
    h.p = hbuf;
    h.n = (size_t)hlen;
    if ((st = parse_header(&h)) != PECS_OK)
        goto cleanup;

    format_shape(shp, h.ndim, h.shape);
    int64_t count = 1;
    for (int d = 0; d < h.ndim; d++)
        if (h.shape[d] == 0)
            count = 0;
    for (int d = 0; d < h.ndim && count != 0; d++) {
        if (count > INT64_MAX / h.shape[d]) {
            set_why(m, "%s: shape %s has more elements than fit in int64", m->path, shp);
            st = PECS_LIMIT;
            goto cleanup;
        }
        count *= h.shape[d];
    }
    size_t esize = pecs_dtype_size(h.dtype);
    if ((uint64_t)count > SIZE_MAX / esize) {
        set_why(m, "%s: shape %s of %s needs more bytes than fit in size_t", m->path, shp, h.descr);
        st = PECS_LIMIT;
        goto cleanup;
    }
    size_t nbytes = (size_t)count * esize;
    if (max_bytes && nbytes > max_bytes) {
        set_why(m, "%s: data of shape %s %s is %zu bytes, over the limit of %zu bytes", m->path, shp, h.descr,
                nbytes, max_bytes);
        st = PECS_LIMIT;
        goto cleanup;
    }
    uint64_t avail = src->size - src->pos;
    if (avail != (uint64_t)nbytes) {
        if (avail < (uint64_t)nbytes)
            set_why(m, "%s: data is %" PRIu64 " bytes, header shape %s of %s needs %zu", m->path, avail, shp,
                    h.descr, nbytes);
        else
            set_why(m, "%s: data is %" PRIu64 " bytes, header shape %s of %s needs %zu (%" PRIu64
                       " trailing bytes)",
                    m->path, avail, shp, h.descr, nbytes, avail - (uint64_t)nbytes);
        st = PECS_PARSE;
        goto cleanup;
    }
    data = malloc(nbytes ? nbytes : 1);
    if (!data) {
        set_why(m, "%s: out of memory for %zu bytes of data", m->path, nbytes);
        st = PECS_NOMEM;
        goto cleanup;
    }
    if ((st = src_read(src, data, nbytes, m)) != PECS_OK)
        goto cleanup;
    if (h.swap)
        swap_bytes(data, esize, (size_t)count);

    out->dtype = h.dtype;
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    out->data = data;
    out->nbytes = nbytes;
    data = NULL;

cleanup:
    free(hbuf);
    free(data);
    return st;
}

static void reset_out(pecs_npy *out, char *why, size_t why_len)
{
    if (why && why_len)
        why[0] = '\0';
    if (out)
        memset(out, 0, sizeof *out);
}

pecs_status pecs_npy_read(const char *path, size_t max_bytes, pecs_npy *out, char *why, size_t why_len)
{
    pecs_status st = PECS_OK;
    npy_msg m = {path ? path : "(null)", why, why_len};
    FILE *fp = NULL;
    struct stat sb;

    reset_out(out, why, why_len);
    if (!path || !out) {
        set_why(&m, "%s: invalid argument: %s is NULL", m.path, path ? "out" : "path");
        st = PECS_INVALID;
        goto cleanup;
    }
    fp = fopen(path, "rb");
    if (!fp) {
        set_why(&m, "%s: cannot open: %s", path, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    if (fstat(fileno(fp), &sb) != 0) {
        set_why(&m, "%s: cannot stat: %s", path, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) { /* its size would be meaningless */
        set_why(&m, "%s: not a regular file", path);
        st = PECS_IO;
        goto cleanup;
    }
    npy_src src = {fp, NULL, 0, (uint64_t)sb.st_size, 0};
    st = npy_load(&src, max_bytes, out, &m);

cleanup:
    if (fp)
        fclose(fp);
    return st;
}

pecs_status pecs_npy_read_mem(const char *name, const void *buf, size_t len, size_t max_bytes, pecs_npy *out,
                              char *why, size_t why_len)
{
    pecs_status st = PECS_OK;
    npy_msg m = {name ? name : "(memory)", why, why_len};

    reset_out(out, why, why_len);
    if (!out || (!buf && len)) {
        set_why(&m, "%s: invalid argument: %s is NULL", m.path, out ? "buf" : "out");
        st = PECS_INVALID;
        goto cleanup;
    }
    npy_src src = {NULL, buf, 1, (uint64_t)len, 0};
    st = npy_load(&src, max_bytes, out, &m);

cleanup:
    return st;
}

/* ---- writer ------------------------------------------------------------------------------------------ */

pecs_status pecs_npy_write(const char *path, pecs_dtype dtype, int ndim, const int64_t *shape, const void *data,
                           char *why, size_t why_len)
{
    pecs_status st = PECS_OK;
    npy_msg m = {path ? path : "(null)", why, why_len};
    char *tmp = NULL;
    FILE *fp = NULL;
    int tmp_exists = 0;
    const char *code = NULL;
    char shp[SHAPE_BUF], dict[256];
    unsigned char head[10 + sizeof dict + ALIGN];

    if (why && why_len)
        why[0] = '\0';
    if (!path) {
        set_why(&m, "%s: invalid argument: path is NULL", m.path);
        st = PECS_INVALID;
        goto cleanup;
    }
    if ((unsigned)dtype >= PECS_DT_COUNT_) {
        set_why(&m, "%s: invalid dtype %d", path, (int)dtype);
        st = PECS_INVALID;
        goto cleanup;
    }
    for (size_t k = 0; k < sizeof k_descr / sizeof k_descr[0]; k++)
        if (k_descr[k].dtype == dtype)
            code = k_descr[k].code;
    if (!code) {
        set_why(&m, "%s: dtype %s has no numpy descr, cannot write it as .npy", path, pecs_dtype_name(dtype));
        st = PECS_UNSUPPORTED;
        goto cleanup;
    }
    if (ndim < 0 || ndim > PECS_MAX_DIMS || (ndim > 0 && !shape)) {
        set_why(&m, "%s: invalid shape: ndim %d%s (0..%d allowed)", path, ndim, shape ? "" : " with NULL shape",
                PECS_MAX_DIMS);
        st = PECS_INVALID;
        goto cleanup;
    }
    int64_t count = 1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0) {
            set_why(&m, "%s: invalid shape: dimension %d is %" PRId64, path, d, shape[d]);
            st = PECS_INVALID;
            goto cleanup;
        } else if (shape[d] == 0) {
            count = 0;
        }
    format_shape(shp, ndim, shape);
    for (int d = 0; d < ndim && count != 0; d++) {
        if (count > INT64_MAX / shape[d]) {
            set_why(&m, "%s: shape %s has more elements than fit in int64", path, shp);
            st = PECS_LIMIT;
            goto cleanup;
        }
        count *= shape[d];
    }
    size_t esize = pecs_dtype_size(dtype);
    if ((uint64_t)count > SIZE_MAX / esize) {
        set_why(&m, "%s: shape %s of %s needs more bytes than fit in size_t", path, shp, pecs_dtype_name(dtype));
        st = PECS_LIMIT;
        goto cleanup;
    }
    size_t nbytes = (size_t)count * esize;
    if (nbytes && !data) {
        set_why(&m, "%s: invalid argument: data is NULL for %zu bytes", path, nbytes);
        st = PECS_INVALID;
        goto cleanup;
    }

    /* numpy's layout: dict, then 1..64 spaces and '\n' so that 10 + header length is a multiple of 64 */
    int dn = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                      host_is_le() ? '<' : '>', code, shp);
    if (dn < 0 || (size_t)dn >= sizeof dict) {
        set_why(&m, "%s: internal error: header does not fit", path);
        st = PECS_INTERNAL;
        goto cleanup;
    }
    size_t dlen = (size_t)dn;
    size_t pad = ALIGN - (10 + dlen + 1) % ALIGN;
    size_t hlen = dlen + pad + 1;
    memcpy(head, k_magic, sizeof k_magic);
    head[6] = 1;
    head[7] = 0;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, dlen);
    memset(head + 10 + dlen, ' ', pad);
    head[10 + hlen - 1] = '\n';

    size_t tlen = strlen(path) + 32;
    tmp = malloc(tlen);
    if (!tmp) {
        set_why(&m, "%s: out of memory", path);
        st = PECS_NOMEM;
        goto cleanup;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    fp = fopen(tmp, "wb");
    if (!fp) {
        set_why(&m, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    tmp_exists = 1;
    errno = 0;
    if (fwrite(head, 1, 10 + hlen, fp) != 10 + hlen || (nbytes && fwrite(data, 1, nbytes, fp) != nbytes)) {
        int e = errno;
        set_why(&m, "%s: writing %s failed: %s", path, tmp, e ? strerror(e) : "short write");
        st = PECS_IO;
        goto cleanup;
    }
    int rc = fclose(fp); /* reports delayed write errors, e.g. a full disk */
    fp = NULL;
    if (rc != 0) {
        set_why(&m, "%s: writing %s failed: %s", path, tmp, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        set_why(&m, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    tmp_exists = 0;

cleanup:
    if (fp)
        fclose(fp);
    if (tmp_exists)
        remove(tmp);
    free(tmp);
    return st;
}

void pecs_npy_free(pecs_npy *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int64_t pecs_npy_count(const pecs_npy *a)
{
    if (!a)
        return 0;
    int64_t n = 1;
    for (int d = 0; d < a->ndim && d < PECS_MAX_DIMS; d++)
        n *= a->shape[d];
    return n;
}

pecs_status pecs_npy_check_positions(const pecs_npy *a, const char *path, int integers, char *why, size_t why_len)
{
    const npy_msg m = {path ? path : "?", why, why_len};
    set_why(&m, "%s", "");
    if (!a || (a->dtype != PECS_DT_F64 && a->dtype != PECS_DT_F32 && a->dtype != PECS_DT_F16 && a->dtype != PECS_DT_I64 &&
               a->dtype != PECS_DT_I32)) {
        set_why(&m, "%s: positions must be i32, i64 or f64", m.path);
        return PECS_INVALID;
    }
    int64_t n = pecs_npy_count(a);
    for (int64_t i = 0; i < n; i++) {
        double v = pecs_load_f64(a->data, a->dtype, i);
        int64_t big = a->dtype == PECS_DT_I64 ? ((const int64_t *)a->data)[i] : 0;
        const char *problem = NULL;
        if (!isfinite(v))
            problem = "positions must be finite numbers";
        else if (fabs(v) > 0x1p53 || big > (INT64_C(1) << 53) || big < -(INT64_C(1) << 53))
            problem = "beyond 2^53 in magnitude, where doubles no longer hold every integer";
        else if (integers && v != floor(v))
            problem = "this encoding needs integer positions";
        if (!problem)
            continue;
        char idx[SHAPE_BUF] = "", val[40];
        int64_t rest = i, coord[PECS_MAX_DIMS];
        for (int d = a->ndim - 1; d >= 0; d--) {
            coord[d] = a->shape[d] ? rest % a->shape[d] : 0;
            rest = a->shape[d] ? rest / a->shape[d] : 0;
        }
        size_t j = 0;
        for (int d = 0; d < a->ndim && j < sizeof idx; d++) {
            int w = snprintf(idx + j, sizeof idx - j, "%s%" PRId64, d ? ", " : "", coord[d]);
            j += w > 0 ? (size_t)w : 0;
        }
        if (a->dtype == PECS_DT_I64)
            snprintf(val, sizeof val, "%" PRId64, big);
        else
            snprintf(val, sizeof val, "%.17g", v);
        set_why(&m, "%s: position [%s] (element %" PRId64 ") is %s: %s", m.path, idx, i, val, problem);
        return PECS_INVALID;
    }
    return PECS_OK;
}
