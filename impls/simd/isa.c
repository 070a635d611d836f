/* impls/simd/isa.c — run-time ISA choice and the checks shared by the simd and openmp backends. Built
 * without ISA flags: it must run on any x86-64 to say what the CPU lacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "simd.h"

/* CPU features from CPUID and XGETBV (portable across gcc and clang, whose __builtin_cpu_supports know
 * different feature names): the instructions must exist and the OS must save the vector state. */
static int cpu_has_probe(const char *isa)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    int fma = !!(c & (1u << 12)), f16c = !!(c & (1u << 29)), avx_os = (xlo & 0x6u) == 0x6u;
    int zmm_os = (xlo & 0xe6u) == 0xe6u;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    int avx2 = !!(b & (1u << 5)), f = !!(b & (1u << 16)), bw = !!(b & (1u << 30)), vl = !!(b & (1u << 31));
    unsigned a1 = 0, b1, c1, d1;
    int bf16 = __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5));
    if (!strcmp(isa, "avx2"))
        return avx_os && avx2 && fma && f16c;
    if (!strcmp(isa, "avx512"))
        return avx_os && zmm_os && avx2 && fma && f16c && f && bw && vl && bf16;
#endif
    return 0;
}

/* CPUID traps to the hypervisor in a VM (tens of microseconds): probe once per process, not per call. The
 * race between threads probing at once is benign (they store the same values). */
static int cpu_has(const char *isa)
{
    static int probed, avx2, avx512;
    if (!strcmp(isa, "scalar"))
        return 1;
    if (!probed) {
        avx2 = cpu_has_probe("avx2");
        avx512 = cpu_has_probe("avx512");
        probed = 1;
    }
    return !strcmp(isa, "avx2") ? avx2 : !strcmp(isa, "avx512") ? avx512 : 0;
}

const char *simd_isa(char *why, size_t why_len)
{
    const char *want = getenv("PECS_ARCH");
    if (want && *want) {
        static const char *const known[] = {"scalar", "avx2", "avx512"};
        for (size_t i = 0; i < 3; i++)
            if (!strcmp(want, known[i])) {
                if (cpu_has(known[i]))
                    return known[i];
                snprintf(why, why_len, "PECS_ARCH=%s: this CPU lacks %s", want,
                         !strcmp(want, "avx2") ? "AVX2, FMA or F16C" : "AVX-512 F/BW/VL/BF16");
                return NULL;
            }
        snprintf(why, why_len, "PECS_ARCH=%s: not one of scalar, avx2, avx512", want);
        return NULL;
    }
    return cpu_has("avx512") ? "avx512" : cpu_has("avx2") ? "avx2" : "scalar";
}

const simd_kernels *simd_kernels_for(const char *isa)
{
    if (isa && !strcmp(isa, "avx512"))
        return &simd_kernels_avx512;
    if (isa && !strcmp(isa, "avx2"))
        return &simd_kernels_avx2;
    return NULL;
}

int simd_takes(const pecs_problem *p, char *reason, size_t reason_size)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out"),
                      *w = pecs_problem_tensor(p, "w");
    char why[160] = "";
    const char *isa = simd_isa(why, sizeof why);
    const char *no = NULL;
    if (!isa)
        no = why;
    else if (!simd_kernels_for(isa))
        no = "no AVX2/AVX-512 on this CPU (or PECS_ARCH=scalar): use the scalar backend";
    else if (simd_kind_of(p) < 0) {
        snprintf(reason, reason_size, "SIMD kernels cover rotate (pair schedules), alibi(.pi), t5, mpnet, kerple, fire, bam, masa, "
                                      "irpe, the masks, the T1 embed tables and ldpe, pia, sigma_gpt, fourier, not %s", p->encoding);
        return 0;
    } else if (p->dtype != PECS_DT_F32 && p->dtype != PECS_DT_F16 && p->dtype != PECS_DT_BF16) {
        snprintf(reason, reason_size, "SIMD kernels store f32, f16 or bf16, not %s", pecs_dtype_name(p->dtype));
        return 0;
    } else if (p->form == PECS_FORM_BIAS || p->form == PECS_FORM_MASK) {
        if (!out || out->ndim != 3 || out->stride[2] != 1)
            no = "SIMD bias kernels need unit stride along the keys";
        else if (simd_needs_w(p) && !w)
            no = "no weight tensor \"w\"";
    } else if (p->form == PECS_FORM_EMBED) {
        if (!x || !out || x->ndim != 2 || x->stride[1] != 1 || out->stride[1] != 1 || (w && w->stride[1] != 1))
            no = "SIMD embed kernels need unit stride along the model dimension";
    } else if (!x || !out || x->ndim != 3 || x->stride[2] != 1 || out->stride[2] != 1)
        no = "SIMD kernels need unit stride along head_dim";
    if (no)
        snprintf(reason, reason_size, "%s", no);
    return !no;
}
