/* impls/simd/pairwise_body.h — bias and mask rows (alibi, t5, mask.causal, mask.window), included by
 * avx2.c and avx512.c after rotate_body.h (which defines load_dt/store_dt and the vector macros; FN_PAIR
 * names the exported function). Each output row (h, i) is formed in f32 by a plain loop the compiler
 * vectorizes for this file's ISA (distances computed in double first, as the scalar kernel does, so
 * positions past 2^24 stay exact), then stored with the vector dtype conversions. Rows are flat indices
 * r = i * H + h (head fastest), so a T5 row of buckets is computed once per query and reused by every head.
 */

static inline __attribute__((always_inline)) void store_row(void *orow, const float *v, int64_t n, pecs_dtype dt)
{
    int64_t j = 0;
    for (; j + VW <= n; j += VW)
        store_dt(orow, j, LOADU(v + j), dt);
    for (; j < n; j++)
        pecs_store_f32(orow, dt, j, v[j]);
}

static inline __attribute__((always_inline)) void pairwise_dt(const pecs_problem *p, int64_t r0, int64_t r1,
                                                              float *scratch, pecs_dtype dt)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    int64_t H = out->shape[0], K = out->shape[2];
    size_t esz = pecs_dtype_size(dt);
    int alibi = !strcmp(p->encoding, "alibi"), t5 = !strcmp(p->encoding, "t5");
    int key_index = alibi && pecs_param_is(p, "variant", "key_index");
    double max_bias = pecs_param_real(p, "max_bias", 8.0);
    int64_t window = !strcmp(p->encoding, "mask.window") ? pecs_param_int(p, "window", 4096) : 0;
    int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int bidir = (int)pecs_param_int(p, "bidirectional", 1);
    float *row = scratch;
    double *kd = (double *)(void *)(scratch + K + (K & 1));
    int64_t *bucket = (int64_t *)(void *)(kd + K), cached_i = -1;
    for (int64_t j = 0; j < K; j++)
        kd[j] = pecs_pos_at(kp, 0, j);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i = r / H, h = r % H;
        double qi = pecs_pos_at(qp, 0, i);
        if (alibi) {
            float slope = (float)impl_alibi_slope(H, h, max_bias);
            if (key_index)
                for (int64_t j = 0; j < K; j++)
                    row[j] = slope * (float)kd[j];
            else
                for (int64_t j = 0; j < K; j++)
                    row[j] = -slope * (float)(qi - kd[j]);
        } else if (t5) {
            if (cached_i != i) {
                for (int64_t j = 0; j < K; j++)
                    bucket[j] = impl_t5_bucket((int64_t)(kd[j] - qi), bidir, nb, maxd);
                cached_i = i;
            }
            for (int64_t j = 0; j < K; j++)
                row[j] = pecs_load_f32(w->data, w->dtype, bucket[j] * w->stride[0] + h * w->stride[1]);
        } else {
            for (int64_t j = 0; j < K; j++) {
                double d = qi - kd[j];
                row[j] = d >= 0.0 && (window <= 0 || d < (double)window) ? 0.0f : -INFINITY;
            }
        }
        store_row((char *)out->data + (size_t)(h * out->stride[0] + i * out->stride[1]) * esz, row, K, dt);
    }
}

void FN_PAIR(const pecs_problem *p, int64_t r0, int64_t r1, float *scratch)
{
    switch (p->dtype) {
    case PECS_DT_F16: pairwise_dt(p, r0, r1, scratch, PECS_DT_F16); break;
    case PECS_DT_BF16: pairwise_dt(p, r0, r1, scratch, PECS_DT_BF16); break;
    default: pairwise_dt(p, r0, r1, scratch, PECS_DT_F32); break;
    }
}
