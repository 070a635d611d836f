/* impls/opencl/kernels.cl.h — the OpenCL C source of the opencl backend, as one string (built at init() once
 * per storage type: -DF16 for half storage through vload_half/vstore_half_rte, else float).
 *
 * rope: one work-item per (token t, k < R/2 + D - R), looping over the heads: k < R/2 is pair k (interleaved:
 * lanes 2k, 2k+1; half: k, k + R/2), the others copy lane R + (k - R/2) (partial rotary). The angle
 * (pos[row][t] + off) * inv_freq[k] * hs[h], shared by consecutive heads of one row and scale, is computed in double (the reference's precision for the angle: the backend needs a
 * device with cl_khr_fp64, and declines every case on one without). Every tensor is addressed by its byte offset in its buffer and its element
 * strides, so padded and transposed views work as on the host. In place (out == x) is safe: the work-item of
 * a pair is the only one that reads or writes its two lanes. */
#ifndef PECS_OPENCL_KERNELS_H
#define PECS_OPENCL_KERNELS_H

static const char pecs_opencl_source[] =
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
    "}\n";

#endif
