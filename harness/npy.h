/* harness/npy.h — reading and writing NumPy .npy files (reference data, dumps of failing cases).
 *
 * Only plain numeric arrays in C order are handled: the dtypes pecs stores as tensors, minus BF16 (numpy
 * has no descr for it). The reader is meant to face hostile files (it is fuzzed): it parses the header
 * dict itself, checks every size before allocating, never reads past the file and never trusts the
 * header's lengths.
 *
 * Errors: every function returns a pecs_status; on failure a one-line message is written into `why`
 * (NUL-terminated, truncated to why_len; why may be NULL or why_len 0). It starts with the file path,
 * then names the offending field and its exact text, non-printable bytes shown as \xNN, e.g.
 *     x.npy: unsupported dtype '<c16' (supported: <f8 <f4 <f2 <i4 <i8)
 *     x.npy: fortran_order True is not supported
 *     x.npy: data is 40 bytes, header shape (3, 4) of <f8 needs 96
 * On success why is set to "".
 */
#ifndef PECS_NPY_H
#define PECS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "pecs/backend.h"
#include "pecs/dtype.h"
#include "pecs/status.h"

/* Largest header (the dict text) the reader accepts; real ones are ~100 bytes. Larger is PECS_LIMIT. */
#define PECS_NPY_MAX_HEADER (1u << 20)

typedef struct pecs_npy {
    pecs_dtype dtype;
    int ndim;                       /* 0..PECS_MAX_DIMS */
    int64_t shape[PECS_MAX_DIMS];
    void *data;                     /* C-order, contiguous, native byte order, malloc'd (never NULL after a
                                       successful read, even for 0 elements) */
    size_t nbytes;                  /* pecs_npy_count() * pecs_dtype_size(dtype) */
} pecs_npy;

/* Read a .npy file, format versions 1.0, 2.0 and 3.0.
 *
 * Accepted header: a Python dict literal with exactly the keys 'descr', 'fortran_order' and 'shape', in
 * any order, '- or "-quoted, optional whitespace and trailing commas, padded with whitespace.
 *   descr          '<f8' '<f4' '<f2' '<i4' '<i8' (F64 F32 F16 I32 I64), the same with '>' (big-endian,
 *                  byte-swapped on load), '=' (native) or '|' (no order given: taken as native).
 *   fortran_order  False (True is PECS_UNSUPPORTED).
 *   shape          a tuple of non-negative integers, at most PECS_MAX_DIMS of them: (), (5,), (3, 4).
 *                  Python 2 long suffixes (3L) are accepted in 1.0/2.0 headers, as numpy does.
 * The data must be exactly count * itemsize bytes: a short file and trailing bytes are both errors.
 * max_bytes caps the data size (0 = no cap).
 *
 * Returns PECS_OK; PECS_INVALID (NULL path/out); PECS_IO (cannot open or read); PECS_PARSE (not a .npy
 * file, malformed or truncated header, missing/duplicate/unknown key, bad shape, data size mismatch);
 * PECS_UNSUPPORTED (format version, dtype, fortran_order True, too many dimensions); PECS_LIMIT (over
 * max_bytes, header over PECS_NPY_MAX_HEADER, element count or byte size overflowing int64/size_t);
 * PECS_NOMEM. On any error *out is left zeroed and nothing is leaked. */
pecs_status pecs_npy_read(const char *path, size_t max_bytes, pecs_npy *out, char *why, size_t why_len);

/* Same as pecs_npy_read, from the len bytes at buf (e.g. a fuzzer's input); `name` stands for the path
 * in messages. Never reads outside buf[0 .. len-1]. */
pecs_status pecs_npy_read_mem(const char *name, const void *buf, size_t len, size_t max_bytes, pecs_npy *out,
                              char *why, size_t why_len);

/* Write a .npy, format version 1.0, exactly as numpy 1.x/2.x write it: header
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a final '\n' so the data starts at a multiple of 64 bytes; data in C order,
 * native byte order (the descr says which). data may be NULL when the array has no elements.
 * Atomic: writes `path.tmp.<pid>` and rename(2)s it over path; on any error the temporary is removed and
 * an existing file at path is untouched. (Two threads of one process must not write the same path at
 * once.) The data is not fsync'ed: atomic against interruption, not against power loss.
 *
 * Returns PECS_OK; PECS_INVALID (NULL path, bad dtype, ndim outside 0..PECS_MAX_DIMS, negative dim, NULL
 * shape or data where needed); PECS_UNSUPPORTED (BF16); PECS_LIMIT (byte size overflows size_t);
 * PECS_IO (create, write or rename failed); PECS_NOMEM. */
pecs_status pecs_npy_write(const char *path, pecs_dtype dtype, int ndim, const int64_t *shape, const void *data,
                           char *why, size_t why_len);

/* Check an array of positions (`pecs eval` inputs pos, qpos, kpos): every element finite, at most 2^53 in
 * magnitude (doubles hold every integer up to there; the reference computes in double), and an integer
 * when `integers` is set (encodings that index by position: T5 buckets, learned tables). i32, i64, f64 (and
 * f32/f16) arrays. PECS_INVALID names the file, the element's index and its value, e.g.
 *     pos.npy: position [2] (element 2) is nan: positions must be finite numbers
 * PECS_OK otherwise. */
pecs_status pecs_npy_check_positions(const pecs_npy *a, const char *path, int integers, char *why, size_t why_len);

/* Free a->data and zero *a. NULL and zeroed structs are fine. */
void pecs_npy_free(pecs_npy *a);

/* Number of elements: product of shape, 1 for ndim 0 (0 for NULL). */
int64_t pecs_npy_count(const pecs_npy *a);

#endif
