/* tests/test_npy.c — .npy reader/writer: round trips, byte-exact numpy layouts, every rejection. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#endif

#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/pecs-npy-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

/* Removes the files (and empty subdirectories) the tests made, then the directory. */
static void teardown(void)
{
    DIR *d = opendir(g_dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (remove(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(g_dir);
}

TestSuite(npy, .init = setup, .fini = teardown);

/* ---- helpers --------------------------------------------------------------------------------------- */

static void tpath(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* Reads a whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap);
    cr_assert_not_null(b);
    size_t r;
    while ((r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            b = realloc(b, cap);
            cr_assert_not_null(b);
        }
    }
    fclose(f);
    *n = len;
    return b;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* A file laid out as numpy writes it: magic, version major.0, little-endian header length (2 bytes for
 * 1.0, 4 for 2.0/3.0), the dict, spaces and '\n' up to a multiple of 64, then the data. */
static size_t build_npy(unsigned char *buf, size_t cap, int major, const char *dict, const void *data,
                        size_t nbytes)
{
    size_t lb = major == 1 ? 2 : 4, pre = 8 + lb, dlen = strlen(dict);
    size_t pad = 64 - (pre + dlen + 1) % 64;
    size_t hlen = dlen + pad + 1, total = pre + hlen + nbytes;
    cr_assert_leq(total, cap);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t k = 0; k < lb; k++)
        buf[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(buf + pre, dict, dlen);
    memset(buf + pre + dlen, ' ', pad);
    buf[pre + hlen - 1] = '\n';
    if (nbytes)
        memcpy(buf + pre + hlen, data, nbytes);
    return total;
}

static int is_zeroed(const pecs_npy *a)
{
    pecs_npy z;
    memset(&z, 0, sizeof z);
    return a->dtype == z.dtype && a->ndim == 0 && a->data == NULL && a->nbytes == 0 &&
           memcmp(a->shape, z.shape, sizeof z.shape) == 0;
}

/* Reads `path`, expecting status `want`, a message starting with "path:" and containing `needle`. */
static void expect_read_err(const char *path, size_t max_bytes, pecs_status want, const char *needle)
{
    pecs_npy a;
    memset(&a, 0xab, sizeof a);
    char why[512];
    pecs_status st = pecs_npy_read(path, max_bytes, &a, why, sizeof why);
    cr_assert_eq(st, want, "status '%s', want '%s': %s", pecs_status_str(st), pecs_status_str(want), why);
    size_t pl = strlen(path);
    cr_assert(strncmp(why, path, pl) == 0 && why[pl] == ':', "message does not start with the path: %s", why);
    cr_assert_not_null(strstr(why, needle), "'%s' not in: %s", needle, why);
    cr_assert(is_zeroed(&a), "out not zeroed on error");
}

static void expect_bytes_err(const void *bytes, size_t n, pecs_status want, const char *needle)
{
    char p[256];
    tpath(p, sizeof p, "bad.npy");
    write_bytes(p, bytes, n);
    expect_read_err(p, 0, want, needle);
}

/* A version 1.0 file with this dict and nbytes of zero data. */
static void expect_dict_err(const char *dict, size_t nbytes, pecs_status want, const char *needle)
{
    static unsigned char buf[1 << 14];
    static const unsigned char zeros[1024];
    cr_assert_leq(nbytes, sizeof zeros);
    size_t n = build_npy(buf, sizeof buf, 1, dict, zeros, nbytes);
    expect_bytes_err(buf, n, want, needle);
}

static void read_ok(const char *path, pecs_npy *a)
{
    char why[512];
    pecs_status st = pecs_npy_read(path, 0, a, why, sizeof why);
    cr_assert_eq(st, PECS_OK, "read failed (%s): %s", pecs_status_str(st), why);
    cr_assert_str_empty(why);
}

static void read_bytes_ok(const void *bytes, size_t n, pecs_npy *a)
{
    char p[256];
    tpath(p, sizeof p, "in.npy");
    write_bytes(p, bytes, n);
    read_ok(p, a);
}

/* ---- writer and round trips ------------------------------------------------------------------------- */

Test(npy, round_trip_every_dtype_and_rank)
{
    static const pecs_dtype dts[] = {PECS_DT_F64, PECS_DT_F32, PECS_DT_F16, PECS_DT_I32, PECS_DT_I64};
    static const struct {
        int ndim;
        int64_t shape[PECS_MAX_DIMS];
    } shapes[] = {{0, {0}}, {1, {5}}, {3, {2, 3, 4}}, {1, {0}}, {3, {3, 0, 2}}, {4, {2, 1, 3, 2}}};
    char p[256], why[512];
    tpath(p, sizeof p, "rt.npy");
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int64_t count = 1;
            for (int d = 0; d < shapes[s].ndim; d++)
                count *= shapes[s].shape[d];
            size_t nbytes = (size_t)count * pecs_dtype_size(dts[t]);
            unsigned char *src = malloc(nbytes + 1);
            cr_assert_not_null(src);
            for (size_t k = 0; k < nbytes; k++) /* arbitrary bit patterns, NaNs included: stored verbatim */
                src[k] = (unsigned char)(k * 37u + t * 11u + 1u);
            pecs_status st = pecs_npy_write(p, dts[t], shapes[s].ndim, shapes[s].shape, src, why, sizeof why);
            cr_assert_eq(st, PECS_OK, "write %s: %s", pecs_dtype_name(dts[t]), why);

            size_t flen;
            unsigned char *raw = slurp(p, &flen);
            size_t hlen = (size_t)raw[8] | (size_t)raw[9] << 8;
            cr_assert_eq(memcmp(raw, "\x93NUMPY\x01\x00", 8), 0);
            cr_assert_eq((10 + hlen) % 64, 0, "data starts at %zu", 10 + hlen);
            cr_assert_eq(raw[10 + hlen - 1], '\n');
            cr_assert_eq(flen, 10 + hlen + nbytes);
            free(raw);

            pecs_npy a;
            read_ok(p, &a);
            cr_assert_eq(a.dtype, dts[t]);
            cr_assert_eq(a.ndim, shapes[s].ndim);
            for (int d = 0; d < a.ndim; d++)
                cr_assert_eq(a.shape[d], shapes[s].shape[d]);
            cr_assert_eq(pecs_npy_count(&a), count);
            cr_assert_eq(a.nbytes, nbytes);
            cr_assert_not_null(a.data);
            cr_assert_eq(memcmp(a.data, src, nbytes), 0, "%s data differs", pecs_dtype_name(dts[t]));
            pecs_npy_free(&a);
            cr_assert(is_zeroed(&a));
            free(src);
        }
    }
    cr_assert_eq(count_entries(g_dir), 1, "temporary files left behind");
}

Test(npy, write_is_byte_exact_numpy_v1)
{
    /* numpy.save(np.zeros((2, 3), np.float32)): 59-byte dict, 58 spaces and '\n' -> header length 118 */
    static const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    unsigned char want[128 + 24];
    memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(want + 10, dict, 59);
    memset(want + 69, ' ', 58);
    want[127] = '\n';
    const float v[6] = {1, 2, 3, 4, 5, 6};
    memcpy(want + 128, v, sizeof v);

    char p[256], why[512];
    tpath(p, sizeof p, "exact.npy");
    const int64_t shape[2] = {2, 3};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F32, 2, shape, v, why, sizeof why), PECS_OK, "%s", why);
    size_t n;
    unsigned char *got = slurp(p, &n);
    cr_assert_eq(n, sizeof want);
    cr_assert_eq(memcmp(got, want, sizeof want), 0, "header: %.118s", (const char *)got + 10);
    free(got);

    /* 0-D and 1-D shape reprs */
    const double x = 2.5;
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 0, NULL, &x, why, sizeof why), PECS_OK, "%s", why);
    got = slurp(p, &n);
    cr_assert_eq(memcmp(got + 10, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 55), 0);
    free(got);
    const int64_t s1[1] = {1};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_I64, 1, s1, &shape[0], why, sizeof why), PECS_OK, "%s", why);
    got = slurp(p, &n);
    cr_assert_eq(memcmp(got + 10, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", 57), 0);
    free(got);
}

Test(npy, write_replaces_existing_file)
{
    char p[256], why[512];
    tpath(p, sizeof p, "over.npy");
    const int32_t a[3] = {1, 2, 3}, b[2] = {7, 8};
    const int64_t s3[1] = {3}, s2[1] = {2};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_I32, 1, s3, a, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_I32, 1, s2, b, why, sizeof why), PECS_OK, "%s", why);
    pecs_npy r;
    read_ok(p, &r);
    cr_assert_eq(r.shape[0], 2);
    cr_assert_eq(memcmp(r.data, b, sizeof b), 0);
    pecs_npy_free(&r);
    cr_assert_eq(count_entries(g_dir), 1);
}

Test(npy, write_unsupported_dtype_leaves_existing_file)
{
    char p[256], why[512];
    tpath(p, sizeof p, "keep.npy");
    const double v[2] = {1.0, -1.0};
    const int64_t s[1] = {2};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 1, s, v, why, sizeof why), PECS_OK, "%s", why);
    size_t n0, n1;
    unsigned char *before = slurp(p, &n0);

    const uint16_t h[2] = {0x3f80, 0xbf80};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_BF16, 1, s, h, why, sizeof why), PECS_UNSUPPORTED);
    cr_assert(strncmp(why, p, strlen(p)) == 0);
    cr_assert_not_null(strstr(why, "bf16 has no numpy descr"), "%s", why);

    unsigned char *after = slurp(p, &n1);
    cr_assert_eq(n0, n1);
    cr_assert_eq(memcmp(before, after, n0), 0);
    cr_assert_eq(count_entries(g_dir), 1);
    free(before);
    free(after);
}

Test(npy, write_into_missing_directory_is_io_error)
{
    char p[256], why[512];
    tpath(p, sizeof p, "no/such/dir/x.npy");
    const float v = 1.0f;
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F32, 0, NULL, &v, why, sizeof why), PECS_IO);
    cr_assert(strncmp(why, p, strlen(p)) == 0, "%s", why);
    cr_assert_not_null(strstr(why, "cannot create"), "%s", why);
    cr_assert_eq(count_entries(g_dir), 0);
}

Test(npy, write_failed_rename_removes_temporary)
{
    /* the target is a non-empty directory: the temporary is written, rename(2) fails */
    char p[256], inner[300], why[512];
    tpath(p, sizeof p, "adir.npy");
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", p);
    write_bytes(inner, "x", 1);
    const float v = 1.0f;
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F32, 0, NULL, &v, why, sizeof why), PECS_IO);
    cr_assert_not_null(strstr(why, "cannot rename"), "%s", why);
    cr_assert_eq(count_entries(g_dir), 1, "temporary left behind");
    cr_assert_eq(count_entries(p), 1);
    cr_assert_eq(remove(inner), 0);
}

Test(npy, write_rejects_bad_arguments)
{
    char p[256], why[512];
    tpath(p, sizeof p, "args.npy");
    const int64_t s5[5] = {1, 1, 1, 1, 1}, neg[2] = {2, -1}, s2[2] = {2, 2};
    const int64_t huge_count[2] = {INT64_C(1) << 62, 4}, huge_bytes[1] = {INT64_C(1) << 61};
    const double v[4] = {0};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 5, s5, v, why, sizeof why), PECS_INVALID);
    cr_assert_not_null(strstr(why, "ndim 5"), "%s", why);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, -1, s5, v, why, sizeof why), PECS_INVALID);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 2, NULL, v, why, sizeof why), PECS_INVALID);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 2, neg, v, why, sizeof why), PECS_INVALID);
    cr_assert_not_null(strstr(why, "dimension 1 is -1"), "%s", why);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 2, s2, NULL, why, sizeof why), PECS_INVALID);
    cr_assert_eq(pecs_npy_write(p, (pecs_dtype)99, 2, s2, v, why, sizeof why), PECS_INVALID);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_I64, 2, huge_count, v, why, sizeof why), PECS_LIMIT);
    cr_assert_not_null(strstr(why, "int64"), "%s", why);
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 1, huge_bytes, v, why, sizeof why), PECS_LIMIT);
    cr_assert_not_null(strstr(why, "size_t"), "%s", why);
    cr_assert_eq(pecs_npy_write(NULL, PECS_DT_F64, 2, s2, v, why, sizeof why), PECS_INVALID);
    cr_assert_eq(count_entries(g_dir), 0);
    /* no elements: data may be NULL */
    const int64_t empty[2] = {0, 3};
    cr_assert_eq(pecs_npy_write(p, PECS_DT_F64, 2, empty, NULL, why, sizeof why), PECS_OK, "%s", why);
}

/* ---- reading numpy's layouts ------------------------------------------------------------------------ */

Test(npy, read_numpy_v1_f4)
{
    unsigned char buf[256];
    const float v[6] = {0.5f, -1.0f, 2.0f, 3.25f, -0.0f, 1e30f};
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v,
                         sizeof v);
    cr_assert_eq(n, 128 + sizeof v); /* the 64-byte boundary numpy pads to */
    pecs_npy a;
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(a.dtype, PECS_DT_F32);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(a.nbytes, sizeof v);
    cr_assert_eq(memcmp(a.data, v, sizeof v), 0);
    pecs_npy_free(&a);

    /* numpy >= 1.24 adds spare spaces after the dict (room to grow the shape in place) */
    n = build_npy(buf, sizeof buf, 1,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                    ", v, sizeof v);
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(a.ndim, 2);
    pecs_npy_free(&a);
}

Test(npy, read_v2_and_v3_headers)
{
    unsigned char buf[256];
    const int64_t v[4] = {1, -2, INT64_MAX, INT64_MIN};
    for (int major = 2; major <= 3; major++) {
        size_t n = build_npy(buf, sizeof buf, major, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }",
                             v, sizeof v);
        cr_assert_eq(buf[8] | buf[9] << 8, 116, "4-byte length field: 12 + 116 = 128");
        cr_assert_eq(buf[10] | buf[11], 0);
        pecs_npy a;
        read_bytes_ok(buf, n, &a);
        cr_assert_eq(a.dtype, PECS_DT_I64);
        cr_assert_eq(a.ndim, 1);
        cr_assert_eq(a.shape[0], 4);
        cr_assert_eq(memcmp(a.data, v, sizeof v), 0);
        pecs_npy_free(&a);
    }
}

Test(npy, read_big_endian_is_swapped)
{
    unsigned char buf[256], be[64];
    pecs_npy a;

    const double d[3] = {1.5, -2.25, 1e300};
    for (size_t k = 0; k < 3; k++) {
        uint64_t u;
        memcpy(&u, &d[k], 8);
        for (int b = 0; b < 8; b++)
            be[8 * k + (size_t)b] = (unsigned char)(u >> (56 - 8 * b));
    }
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", be, 24);
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(a.dtype, PECS_DT_F64);
    cr_assert_eq(((double *)a.data)[0], 1.5);
    cr_assert_eq(((double *)a.data)[1], -2.25);
    cr_assert_eq(((double *)a.data)[2], 1e300);
    pecs_npy_free(&a);

    const unsigned char i4[8] = {0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe};
    n = build_npy(buf, sizeof buf, 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", i4, 8);
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(a.dtype, PECS_DT_I32);
    cr_assert_eq(((int32_t *)a.data)[0], 0x01020304);
    cr_assert_eq(((int32_t *)a.data)[1], -2);
    pecs_npy_free(&a);

    const unsigned char f2[4] = {0x3c, 0x00, 0xc0, 0x00}; /* 1.0, -2.0 */
    n = build_npy(buf, sizeof buf, 1, "{'descr': '>f2', 'fortran_order': False, 'shape': (2,), }", f2, 4);
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(a.dtype, PECS_DT_F16);
    cr_assert_eq(((uint16_t *)a.data)[0], 0x3c00);
    cr_assert_eq(((uint16_t *)a.data)[1], 0xc000);
    pecs_npy_free(&a);

    const unsigned char f4[4] = {0x3f, 0x80, 0x00, 0x00};
    n = build_npy(buf, sizeof buf, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (), }", f4, 4);
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(((float *)a.data)[0], 1.0f);
    pecs_npy_free(&a);

    const unsigned char i8[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd};
    n = build_npy(buf, sizeof buf, 1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", i8, 8);
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(((int64_t *)a.data)[0], -3);
    pecs_npy_free(&a);
}

Test(npy, read_accepts_dict_variations)
{
    static const struct {
        const char *dict;
        pecs_dtype dt;
        int ndim;
        int64_t s0, s1;
    } ok[] = {
        {"{'shape': (3,), 'fortran_order': False, 'descr': '<i8'}", PECS_DT_I64, 1, 3, 0},
        {"{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(2,2)}", PECS_DT_F64, 2, 2, 2},
        {"{\n  'descr' : '=f4' ,\n\t'fortran_order' : False ,\n  'shape' : ( 2 , 2 , ) ,\n}", PECS_DT_F32, 2, 2, 2},
        {"{'descr': '|i4', 'fortran_order': False, 'shape': (1, 4), }", PECS_DT_I32, 2, 1, 4},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2L, 2L), }", PECS_DT_F16, 2, 2, 2}, /* Python 2 */
        {"  {'descr': '<f8', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", PECS_DT_F64, 2, 0,
         INT64_MAX},
    };
    static const unsigned char zeros[64];
    unsigned char buf[512];
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int64_t cnt = ok[k].ndim == 1 ? ok[k].s0 : ok[k].s0 * ok[k].s1; /* s0 == 0 where s1 is huge */
        size_t nb = pecs_dtype_size(ok[k].dt) * (size_t)cnt;
        size_t n = build_npy(buf, sizeof buf, 1, ok[k].dict, zeros, nb);
        pecs_npy a;
        char p[256], why[512];
        tpath(p, sizeof p, "var.npy");
        write_bytes(p, buf, n);
        pecs_status st = pecs_npy_read(p, 0, &a, why, sizeof why);
        cr_assert_eq(st, PECS_OK, "%s: %s", ok[k].dict, why);
        cr_assert_eq(a.dtype, ok[k].dt, "%s", ok[k].dict);
        cr_assert_eq(a.ndim, ok[k].ndim, "%s", ok[k].dict);
        cr_assert_eq(a.shape[0], ok[k].s0);
        cr_assert_eq(a.shape[1], ok[k].s1);
        cr_assert_eq(a.nbytes, nb);
        cr_assert_not_null(a.data);
        pecs_npy_free(&a);
    }
}

Test(npy, read_0d_scalar)
{
    unsigned char buf[256];
    const int32_t v = -7;
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", &v, 4);
    pecs_npy a;
    read_bytes_ok(buf, n, &a);
    cr_assert_eq(a.ndim, 0);
    cr_assert_eq(pecs_npy_count(&a), 1);
    cr_assert_eq(*(int32_t *)a.data, -7);
    pecs_npy_free(&a);
}

/* ---- rejections ------------------------------------------------------------------------------------- */

Test(npy, reject_bad_magic)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", "abcd", 4);
    buf[5] = 'X';
    expect_bytes_err(buf, n, PECS_PARSE, "bad magic '\\x93NUMPX'");
    expect_bytes_err("PK\x03\x04 not numpy", 15, PECS_PARSE, "not a .npy file");
}

Test(npy, reject_truncated_preamble)
{
    expect_bytes_err("\x93NUM", 4, PECS_PARSE, "file is 4 bytes, shorter than the 10-byte .npy preamble");
    expect_bytes_err("", 0, PECS_PARSE, "file is 0 bytes");
    expect_bytes_err("\x93NUMPY\x02\x00\x10\x00", 10, PECS_PARSE, "shorter than the 12-byte version 2.0 preamble");
}

Test(npy, reject_bad_version)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", "abcd", 4);
    buf[6] = 4;
    expect_bytes_err(buf, n, PECS_UNSUPPORTED, "unsupported .npy format version 4.0 (supported: 1.0 2.0 3.0)");
    buf[6] = 1;
    buf[7] = 1;
    expect_bytes_err(buf, n, PECS_UNSUPPORTED, "version 1.1");
    buf[6] = 0;
    buf[7] = 0;
    expect_bytes_err(buf, n, PECS_UNSUPPORTED, "version 0.0");
}

Test(npy, reject_header_length_beyond_file)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", "abcd", 4);
    buf[8] = 200; /* header says 200 bytes, 122 remain */
    expect_bytes_err(buf, n, PECS_PARSE, "header length 200 goes past the end of the file (122 bytes left");
    /* a file cut inside its header */
    n = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", "abcd", 4);
    expect_bytes_err(buf, 60, PECS_PARSE, "header length 118 goes past the end of the file");
    /* a 4 GiB header length in a 2.0 file */
    n = build_npy(buf, sizeof buf, 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", "abcd", 4);
    memset(buf + 8, 0xff, 4);
    expect_bytes_err(buf, n, PECS_PARSE, "header length 4294967295 goes past the end");
}

Test(npy, reject_missing_duplicate_unknown_keys)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, }", 0, PECS_PARSE, "header is missing key 'shape'");
    expect_dict_err("{'fortran_order': False, 'shape': (), }", 8, PECS_PARSE, "header is missing key 'descr'");
    expect_dict_err("{'descr': '<f8', 'shape': (), }", 8, PECS_PARSE, "header is missing key 'fortran_order'");
    expect_dict_err("{}", 0, PECS_PARSE, "missing key 'descr'");
    expect_dict_err("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8, PECS_PARSE,
                    "header has duplicate key 'descr'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (), 'shape': (1,)}", 8, PECS_PARSE,
                    "duplicate key 'shape'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (), 'foo': 1}", 8, PECS_PARSE,
                    "header has unexpected key 'foo'");
}

Test(npy, reject_unsupported_dtype)
{
    char p[256], want[512], why[512];
    unsigned char buf[256];
    tpath(p, sizeof p, "c16.npy");
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                         "0123456789abcdef", 16);
    write_bytes(p, buf, n);
    pecs_npy a;
    cr_assert_eq(pecs_npy_read(p, 0, &a, why, sizeof why), PECS_UNSUPPORTED);
    snprintf(want, sizeof want, "%s: unsupported dtype '<c16' (supported: <f8 <f4 <f2 <i4 <i8)", p);
    cr_assert_str_eq(why, want);
    cr_assert(is_zeroed(&a));

    expect_dict_err("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", 1, PECS_UNSUPPORTED,
                    "unsupported dtype '|u1'");
    expect_dict_err("{'descr': 'f8', 'fortran_order': False, 'shape': (1,), }", 8, PECS_UNSUPPORTED,
                    "unsupported dtype 'f8'");
    expect_dict_err("{'descr': '<bf16', 'fortran_order': False, 'shape': (1,), }", 2, PECS_UNSUPPORTED,
                    "unsupported dtype '<bf16'");
    expect_dict_err("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, PECS_PARSE,
                    "expected a quoted string as the value of 'descr' at header offset 10, found '[('a', '<f4')]");
}

Test(npy, reject_fortran_order)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 32, PECS_UNSUPPORTED,
                    "fortran_order True is not supported");
    expect_dict_err("{'descr': '<f8', 'fortran_order': 1, 'shape': (2, 2), }", 32, PECS_PARSE,
                    "invalid fortran_order value '1' (expected True or False)");
    expect_dict_err("{'descr': '<f8', 'fortran_order': , 'shape': (2, 2), }", 32, PECS_PARSE,
                    "expected True or False as the value of 'fortran_order'");
}

Test(npy, reject_bad_dimensions)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (3, -4), }", 0, PECS_PARSE,
                    "negative dimension '-4' in shape (3, -4)");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }", 0, PECS_PARSE,
                    "invalid dimension '2.5' in shape (2.5,) (expected a non-negative integer)");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (3, x), }", 0, PECS_PARSE,
                    "invalid dimension 'x'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (007,), }", 0, PECS_PARSE,
                    "invalid dimension '007'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (1_0,), }", 0, PECS_PARSE,
                    "invalid dimension '1_0'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (1e3,), }", 0, PECS_PARSE,
                    "invalid dimension '1e3'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (0x10,), }", 0, PECS_PARSE,
                    "invalid dimension '0x10'");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (L,), }", 0, PECS_PARSE,
                    "invalid dimension 'L'");
}

Test(npy, reject_python2_long_in_v3)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1L,), }", "", 0);
    expect_bytes_err(buf, n, PECS_PARSE, "invalid dimension '1L'");
}

Test(npy, reject_too_many_dims)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", 8, PECS_UNSUPPORTED,
                    "shape (1, 1, 1, 1, 1) has 5 dimensions, at most 4 are supported");
}

Test(npy, reject_size_overflow)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0, PECS_LIMIT,
                    "shape (4294967296, 4294967296) has more elements than fit in int64");
    expect_dict_err("{'descr': '<i4', 'fortran_order': False, 'shape': (3037000500, 3037000500), }", 0,
                    PECS_LIMIT, "more elements than fit in int64");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", 0, PECS_LIMIT,
                    "shape (2305843009213693952,) of <f8 needs more bytes than fit in size_t");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775808,), }", 0, PECS_LIMIT,
                    "dimension '9223372036854775808' in shape (9223372036854775808,) is too large");
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0,
                    PECS_LIMIT, "is too large");
}

Test(npy, reject_short_data)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", 40, PECS_PARSE,
                    "data is 40 bytes, header shape (3, 4) of <f8 needs 96");
    expect_dict_err("{'descr': '>i4', 'fortran_order': False, 'shape': (5,), }", 0, PECS_PARSE,
                    "data is 0 bytes, header shape (5,) of >i4 needs 20");
}

Test(npy, reject_trailing_data)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", 104, PECS_PARSE,
                    "data is 104 bytes, header shape (3, 4) of <f8 needs 96 (8 trailing bytes)");
    expect_dict_err("{'descr': '<f2', 'fortran_order': False, 'shape': (), }", 3, PECS_PARSE,
                    "header shape () of <f2 needs 2 (1 trailing bytes)");
}

Test(npy, reject_over_max_bytes)
{
    char p[256];
    unsigned char buf[512];
    static const unsigned char zeros[96];
    tpath(p, sizeof p, "big.npy");
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", zeros,
                         96);
    write_bytes(p, buf, n);
    expect_read_err(p, 64, PECS_LIMIT, "data of shape (3, 4) <f8 is 96 bytes, over the limit of 64 bytes");
    pecs_npy a;
    char why[256];
    cr_assert_eq(pecs_npy_read(p, 96, &a, why, sizeof why), PECS_OK, "%s", why);
    pecs_npy_free(&a);
}

Test(npy, reject_malformed_syntax)
{
    static const struct {
        const char *dict;
        const char *needle;
    } bad[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5), }", "shape (5) is not a tuple"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': [5], }", "expected a tuple '(...)' as the value of"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,) ", "expected ',' or '}' at header offset"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,), } junk", "unexpected text after the dict"},
        {"{'descr': '<f8' 'fortran_order': False, 'shape': (5,), }", "expected ',' or '}' at header offset 16, found ''fortran_order'"},
        {"{'descr' '<f8', 'fortran_order': False, 'shape': (5,), }", "expected ':'"},
        {"{'de\\scr': '<f8'}", "unsupported character '\\x5c' in string"},
        {"{'descr\x01': '<f8'}", "unsupported character '\\x01'"},
        {"{, 'descr': '<f8'}", "expected a quoted key or '}' at header offset 1, found ', 'descr'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,,), }", "expected a dimension in 'shape'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (,), }", "expected a dimension in 'shape'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5 6), }", "expected ',' or ')' in 'shape'"},
        /* 53-byte dict: numpy pads it with a full 64 spaces, so the header ends at offset 118 */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,",
         "expected a dimension in 'shape' at header offset 118, found end of header"},
        {"['descr', '<f8']", "expected '{' at header offset 0, found '['descr', '<f8']'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,), },", "unexpected text after the dict"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        expect_dict_err(bad[k].dict, 8, PECS_PARSE, bad[k].needle);
}

/* Headers without numpy's padding (which would end a string or fill an empty header). */
Test(npy, reject_unpadded_headers)
{
    expect_bytes_err("\x93NUMPY\x01\x00\x00\x00", 10, PECS_PARSE,
                     "expected '{' at header offset 0, found end of header");
    expect_bytes_err("\x93NUMPY\x01\x00\x0e\x00{'descr': '<f8", 24, PECS_PARSE,
                     "unterminated string at header offset 10: '<f8");
    expect_bytes_err("\x93NUMPY\x01\x00\x0f\x00{'descr': '<f8\n", 25, PECS_PARSE,
                     "unsupported character '\\x0a' in string at header offset 14");
}

Test(npy, reject_nonprintable_shown_escaped)
{
    expect_dict_err("{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }\x01\xff", 8, PECS_PARSE,
                    "'\\x01\\xff");
}

Test(npy, read_io_errors_and_bad_arguments)
{
    char p[256], why[256];
    pecs_npy a;
    tpath(p, sizeof p, "missing.npy");
    expect_read_err(p, 0, PECS_IO, "cannot open");
    expect_read_err(g_dir, 0, PECS_IO, "not a regular file");
    cr_assert_eq(pecs_npy_read(NULL, 0, &a, why, sizeof why), PECS_INVALID);
    cr_assert(is_zeroed(&a));
    cr_assert_eq(pecs_npy_read(p, 0, NULL, why, sizeof why), PECS_INVALID);
    cr_assert_eq(pecs_npy_read_mem("m", NULL, 5, 0, &a, why, sizeof why), PECS_INVALID);
    cr_assert_eq(pecs_npy_read_mem("m", NULL, 0, 0, &a, why, sizeof why), PECS_PARSE);
}

Test(npy, message_truncated_to_why_len)
{
    char p[256], full[512], small[8];
    tpath(p, sizeof p, "missing.npy");
    pecs_npy a;
    cr_assert_eq(pecs_npy_read(p, 0, &a, full, sizeof full), PECS_IO);
    memset(small, 'z', sizeof small);
    cr_assert_eq(pecs_npy_read(p, 0, &a, small, sizeof small), PECS_IO);
    cr_assert_eq(strlen(small), sizeof small - 1);
    cr_assert_eq(strncmp(small, full, sizeof small - 1), 0);
    cr_assert_eq(pecs_npy_read(p, 0, &a, NULL, 0), PECS_IO);
    cr_assert_eq(pecs_npy_read(p, 0, &a, small, 0), PECS_IO);
}

Test(npy, count_and_free)
{
    pecs_npy a;
    memset(&a, 0, sizeof a);
    cr_assert_eq(pecs_npy_count(&a), 1);
    a.ndim = 3;
    a.shape[0] = 2;
    a.shape[1] = 3;
    a.shape[2] = 4;
    cr_assert_eq(pecs_npy_count(&a), 24);
    cr_assert_eq(pecs_npy_count(NULL), 0);
    a.data = malloc(16);
    pecs_npy_free(&a);
    cr_assert(is_zeroed(&a));
    pecs_npy_free(&a);
    pecs_npy_free(NULL);
}

/* Positions (pecs eval's pos, qpos, kpos) must be exact numbers: finite, within 2^53, and integers where the
 * encoding indexes by them; the message names the file, the element (as an index and flat) and its value. */
Test(npy, check_positions)
{
    double f[6] = {0, 1, 2, 3.5, 4, 5};
    int64_t i64[3] = {0, INT64_C(1) << 53, 7};
    int32_t i32[3] = {0, INT32_MAX, INT32_MIN};
    pecs_npy a = {.dtype = PECS_DT_F64, .ndim = 1, .shape = {6}, .data = f};
    char why[256];
    cr_assert_eq(pecs_npy_check_positions(&a, "p.npy", 0, why, sizeof why), PECS_OK, "%s", why); /* reals: fine */
    cr_assert_str_empty(why);
    cr_assert_eq(pecs_npy_check_positions(&a, "p.npy", 1, why, sizeof why), PECS_INVALID);
    cr_assert_str_eq(why, "p.npy: position [3] (element 3) is 3.5: this encoding needs integer positions");
    a.ndim = 2, a.shape[0] = 2, a.shape[1] = 3;
    f[3] = 3;
    f[4] = NAN;
    cr_assert_eq(pecs_npy_check_positions(&a, "p.npy", 0, why, sizeof why), PECS_INVALID);
    cr_assert_str_eq(why, "p.npy: position [1, 1] (element 4) is nan: positions must be finite numbers");
    f[4] = -INFINITY;
    cr_assert_eq(pecs_npy_check_positions(&a, "p.npy", 0, why, sizeof why), PECS_INVALID);
    cr_assert_str_eq(why, "p.npy: position [1, 1] (element 4) is -inf: positions must be finite numbers");
    f[4] = -0x1p53 - 2;
    cr_assert_eq(pecs_npy_check_positions(&a, "p.npy", 0, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "(element 4) is -9007199254740994: beyond 2^53 in magnitude"), "%s", why);
    f[4] = -0x1p53; /* 2^53 itself is exact */
    cr_assert_eq(pecs_npy_check_positions(&a, "p.npy", 1, why, sizeof why), PECS_OK, "%s", why);
    pecs_npy b = {.dtype = PECS_DT_I64, .ndim = 1, .shape = {3}, .data = i64};
    cr_assert_eq(pecs_npy_check_positions(&b, "q.npy", 1, why, sizeof why), PECS_OK, "%s", why);
    i64[1] += 1; /* 2^53 + 1: a double would hold 2^53 */
    cr_assert_eq(pecs_npy_check_positions(&b, "q.npy", 1, why, sizeof why), PECS_INVALID);
    cr_assert_str_eq(why, "q.npy: position [1] (element 1) is 9007199254740993: beyond 2^53 in magnitude, where "
                          "doubles no longer hold every integer");
    i64[1] = INT64_MIN;
    cr_assert_eq(pecs_npy_check_positions(&b, "q.npy", 1, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "is -9223372036854775808: beyond 2^53"), "%s", why);
    pecs_npy c = {.dtype = PECS_DT_I32, .ndim = 1, .shape = {3}, .data = i32};
    cr_assert_eq(pecs_npy_check_positions(&c, "r.npy", 1, why, sizeof why), PECS_OK, "%s", why);
    pecs_npy e = {.dtype = PECS_DT_F64, .ndim = 1, .shape = {0}, .data = f};
    cr_assert_eq(pecs_npy_check_positions(&e, "e.npy", 1, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_npy_check_positions(NULL, "n.npy", 1, why, sizeof why), PECS_INVALID);
}

/* ---- robustness: every truncation and many mutations of a valid file, in memory -------------------------- */

static void check_result(pecs_status st, const pecs_npy *a, const char *why)
{
    if (st == PECS_OK) {
        cr_assert_not_null(a->data);
        cr_assert_eq(a->nbytes, (size_t)pecs_npy_count(a) * pecs_dtype_size(a->dtype));
        cr_assert_str_empty(why);
    } else {
        cr_assert(is_zeroed(a));
        cr_assert(strncmp(why, "mem: ", 5) == 0, "%s", why);
    }
}

Test(npy, every_truncation_fails_cleanly)
{
    unsigned char buf[512];
    const float v[24] = {0};
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", v,
                         sizeof v);
    char why[256];
    pecs_npy a;
    for (size_t len = 0; len < n; len++) {
        pecs_status st = pecs_npy_read_mem("mem", buf, len, 0, &a, why, sizeof why);
        cr_assert_neq(st, PECS_OK, "prefix of %zu bytes accepted", len);
        check_result(st, &a, why);
    }
    cr_assert_eq(pecs_npy_read_mem("mem", buf, n, 0, &a, why, sizeof why), PECS_OK, "%s", why);
    pecs_npy_free(&a);
}

Test(npy, mutations_never_crash)
{
    static const unsigned char vals[] = {0x00, 0xff, '(', ')', ',', '\'', '"', '{', '}', ' ', '-', '9', 'L', ':', '\n'};
    unsigned char buf[512], mut[512];
    const int32_t v[6] = {1, 2, 3, 4, 5, 6};
    size_t n = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", v,
                         sizeof v);
    char why[256];
    pecs_npy a;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof vals; k++) {
            memcpy(mut, buf, n);
            mut[i] = vals[k];
            pecs_status st = pecs_npy_read_mem("mem", mut, n, 0, &a, why, sizeof why);
            check_result(st, &a, why);
            pecs_npy_free(&a);
        }
    }
}

Test(npy, random_headers_never_crash)
{
    static const char *const toks[] = {"{", "}", "(", ")", ",", ":", " ", "'descr'", "'shape'", "'fortran_order'",
                                       "'<f8'", "'>i4'", "False", "True", "3", "-1", "0", "99999999999999999999",
                                       "'", "\"", "L", "\n", "2,", "(1,)", "\x01", "\\"};
    static unsigned char data[64];
    unsigned char buf[1024];
    char dict[512], why[256];
    uint64_t s = 0x9e3779b97f4a7c15u;
    pecs_npy a;
    for (int iter = 0; iter < 20000; iter++) {
        size_t dl = 0;
        int nt = 1 + (int)((s >> 33) % 24);
        for (int t = 0; t < nt; t++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            const char *tok = toks[(s >> 33) % (sizeof toks / sizeof toks[0])];
            size_t tl = strlen(tok);
            if (dl + tl >= sizeof dict)
                break;
            memcpy(dict + dl, tok, tl);
            dl += tl;
        }
        dict[dl] = '\0';
        s = s * 6364136223846793005u + 1442695040888963407u;
        size_t nd = (s >> 33) % sizeof data;
        size_t n = build_npy(buf, sizeof buf, 1 + (int)((s >> 40) % 3), dict, data, nd);
        pecs_status st = pecs_npy_read_mem("mem", buf, n, (s >> 45) % 2 ? 32 : 0, &a, why, sizeof why);
        check_result(st, &a, why);
        pecs_npy_free(&a);
    }
}
