/* harness/machine.c */
#include "machine.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Flags worth recording for positional-encoding kernels, in /proc/cpuinfo spelling. */
static const char *const ISA_FLAGS[] = {"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
                                        "avx512dq", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "asimd",
                                        "sve", "fphp", "asimdhp", "bf16", NULL};

static int has_word(const char *line, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = line; (p = strstr(p, w)) != NULL; p += n)
        if ((p == line || p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

void pecs_machine_probe(pecs_machine *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->cpu_model, sizeof m->cpu_model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int got_model = 0, got_flags = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        if (!got_model && (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5))) {
            char *v = colon + 1 + (colon[1] == ' ');
            v[strcspn(v, "\n")] = '\0';
            snprintf(m->cpu_model, sizeof m->cpu_model, "%s", v);
            got_model = 1;
        }
        if (!got_flags && (!strncmp(line, "flags", 5) || !strncmp(line, "Features", 8))) {
            size_t off = 0;
            for (int i = 0; ISA_FLAGS[i]; i++)
                if (has_word(colon + 1, ISA_FLAGS[i]) && off < sizeof m->isa)
                    off += (size_t)snprintf(m->isa + off, sizeof m->isa - off, "%s%s", off ? " " : "", ISA_FLAGS[i]);
            m->hypervisor = has_word(colon + 1, "hypervisor");
            got_flags = 1;
        }
    }
    if (f)
        fclose(f);
    m->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    m->memory_bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->os, sizeof m->os, "%s %s %s", u.sysname, u.release, u.machine);
}
