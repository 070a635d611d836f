/* impls/opencl/kernels.cl.h — the OpenCL C source of the opencl backend, as one string (built at init() once
 * per storage type: -DF16 for half storage through vload_half/vstore_half_rte, else float).
 *
 * rope: one work-item per (token t, k < R/2 + D - R), looping over the heads: k < R/2 is pair k (interleaved:
 * lanes 2k, 2k+1; half: k, k + R/2), the others copy lane R + (k - R/2) (partial rotary). The angle
 * (pos[row][t] + off) * inv_freq[k] * hs[h], shared by consecutive heads of one row and scale, is computed in double (the reference's precision for the angle: the backend needs a
 * device with cl_khr_fp64, and declines every case on one without). Every tensor is addressed by its byte offset in its buffer and its element
 * strides, so padded and transposed views work as on the host. In place (out == x) is safe: the work-item of
 * a pair is the only one that reads or writes its two lanes.
 *
 * bias: one work-item per (query i, key j), looping over the heads; out [H, Lq, Lk]. ALiBi's slopes and KERPLE's
 * r1, r2 per head come from the host (ca, cb: constants, computed once in double); T5's bucket and FIRE's
 * normalised distance are computed on the device in double from the positions, their tables and MLP read from
 * "w" in storage precision, the MLP in float as the scalar backend does. */
#ifndef PECS_OPENCL_KERNELS_H
#define PECS_OPENCL_KERNELS_H

/* Two strings (C caps a literal at 4095 characters): one program, given to clCreateProgramWithSource whole. */
static const char *const pecs_opencl_source[] = {
    "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
    "typedef double real;\n"
    "#ifdef F16\n"
    "#define LD(p, i) vload_half((i), (__global const half *)(p))\n"
    "#define ST(p, i, v) vstore_half_rte((v), (i), (__global half *)(p))\n"
    "#else\n"
    "#define LD(p, i) (((__global const float *)(p))[i])\n"
    "#define ST(p, i, v) (((__global float *)(p))[i] = (v))\n"
    "#endif\n"
    "real pos_at(__global const char *pos, int pdt, long i)\n"
    "{\n"
    "    if (pdt == 0) return (real)((__global const int *)pos)[i];\n"
    "    if (pdt == 1) return (real)((__global const long *)pos)[i];\n"
    "    return ((__global const double *)pos)[i];\n"
    "}\n"
    "__kernel void rope(__global const char *xb, ulong xo, __global char *ob, ulong oo, __global const char *pb,\n"
    "                   ulong po, int pdt, long ps0, long ps1, long xs0, long xs1, long xs2, long os0, long os1,\n"
    "                   long os2, long H, long D, long R, int half_pairing, __global const double *inv,\n"
    "                   __global const int *axis, __global const double *hs, __global const int *haxis, float attn,\n"
    "                   double off)\n"
    "{\n"
    "    long W = R / 2 + (D - R), g = get_global_id(0);\n"
    "    long k = g % W, t = g / W;\n"
    "    __global const char *x = xb + xo;\n"
    "    __global char *o = ob + oo;\n"
    "    if (k >= R / 2) {\n"
    "        long d = R + (k - R / 2);\n"
    "        for (long h = 0; h < H; h++) { float v = LD(x, t * xs0 + h * xs1 + d * xs2); ST(o, t * os0 + h * os1 + d * os2, v); }\n"
    "        return;\n"
    "    }\n"
    "    long a = half_pairing ? k : 2 * k, b = half_pairing ? k + R / 2 : 2 * k + 1;\n"
    "    int prow = -1; double pscale = 0.0; float c = 1.0f, s = 0.0f;\n"
    "    for (long h = 0; h < H; h++) {\n"
    "        int row = haxis[h] >= 0 ? haxis[h] : axis[k];\n"
    "        if (row != prow || hs[h] != pscale) { /* heads of one schedule share the angle */\n"
    "            real ang = (pos_at(pb + po, pdt, row * ps0 + t * ps1) + (real)off) * (real)inv[k] * (real)hs[h];\n"
    "            c = (float)cos(ang), s = (float)sin(ang), prow = row, pscale = hs[h];\n"
    "        }\n"
    "        long xi = t * xs0 + h * xs1, oi = t * os0 + h * os1;\n"
    "        float xa = LD(x, xi + a * xs2), xv = LD(x, xi + b * xs2);\n"
    "        ST(o, oi + a * os2, attn * (xa * c - xv * s));\n"
    "        ST(o, oi + b * os2, attn * (xa * s + xv * c));\n"
    "    }\n"
    "}\n",
    "long t5_bucket(long rel, int bidir, long nb, long maxd)\n"
    "{\n"
    "    long bucket = 0, r;\n"
    "    if (bidir) { nb /= 2; bucket = rel > 0 ? nb : 0; r = rel < 0 ? -rel : rel; }\n"
    "    else r = rel < 0 ? -rel : 0;\n"
    "    long exact = nb / 2;\n"
    "    if (r < exact) return bucket + r;\n"
    "    long large = exact + (long)(log((double)r / (double)exact) / log((double)maxd / (double)exact) * (double)(nb - exact));\n"
    "    return bucket + (large < nb - 1 ? large : nb - 1);\n"
    "}\n"
    "__kernel void bias(__global const char *qb, ulong qo, __global const char *kb, ulong ko, int pdt,\n"
    "                   long qs, long ks, __global char *ob, ulong oo, long os0, long os1, long os2, long H, long Lk,\n"
    "                   int mode, __global const double *ca, __global const double *cb, __global const char *wb,\n"
    "                   ulong wo, long ws0, long ws1, long i0, long i1, long i2, double r0, double r1, double r2)\n"
    "{\n"
    "    long g = get_global_id(0), i = g / Lk, j = g % Lk;\n"
    "    real q = pos_at(qb + qo, pdt, i * qs), k = pos_at(kb + ko, pdt, j * ks);\n"
    "    __global char *o = ob + oo;\n"
    "    __global const char *w = wb + wo;\n"
    "    long oi = i * os1 + j * os2;\n"
    "    if (mode == 2) { /* t5: i0 bidirectional, i1 num_buckets, i2 max_distance; w [nb, H] */\n"
    "        long b = t5_bucket((long)(k - q), (int)i0, i1, i2);\n"
    "        for (long h = 0; h < H; h++) { float v = LD(w, b * ws0 + h * ws1); ST(o, oi + h * os0, v); }\n"
    "        return;\n"
    "    }\n"
    "    if (mode == 5) { /* fire: i0 hidden; r0 c, r1 eps, r2 L; w [H + 2, hidden + 1] */\n"
    "        double norm = log(fabs(r0 * (q > r2 ? q : r2)) + 1.0) + r1;\n"
    "        float u = (float)(log(fabs(r0 * (q - k)) + 1.0) / norm);\n"
    "        for (long h = 0; h < H; h++) {\n"
    "            float acc = LD(w, (2 + h) * ws0 + i0 * ws1);\n"
    "            for (long m = 0; m < i0; m++) {\n"
    "                float a = LD(w, m * ws1) * u + LD(w, ws0 + m * ws1);\n"
    "                acc += LD(w, (2 + h) * ws0 + m * ws1) * (a > 0.0f ? a : 0.0f);\n"
    "            }\n"
    "            ST(o, oi + h * os0, acc);\n"
    "        }\n"
    "        return;\n"
    "    }\n"
    "    for (long h = 0; h < H; h++) {\n"
    "        float a = (float)ca[h], b = (float)cb[h], v, d = q - k > 0 ? (float)(q - k) : 0.0f;\n"
    "        if (mode == 0) v = -a * (float)(q - k);          /* alibi: slope a */\n"
    "        else if (mode == 1) v = a * (float)k;            /* alibi, variant key_index */\n"
    "        else if (mode == 3) v = -a * log1p(b * d);       /* kerple_log: r1 a, r2 b */\n"
    "        else v = -a * pow(d, b);                         /* kerple_power */\n"
    "        ST(o, oi + h * os0, v);\n"
    "    }\n"
    "}\n"};

#endif
