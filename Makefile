# pecs — Positional Encoding Conformance Suite.  GNU make.
#
#   make run        install missing Debian packages, build, run the main job (smoke suite, built-in backends)
#   make test       install missing Debian packages, build, run every test (what .ci/run calls)
#   make check      the fast tier: unit tests only
#   make sanitize   ASan+UBSan build of everything, running the tests
#   make valgrind   memcheck over the smoke suite on the built-in backends
#   make plugins    the in-tree backends as .so plugins (build/plugins/libpecs-<name>.so), and the C++
#                   libtorch backend (impls/torch) when libtorch is installed
#   make install    PREFIX=/usr/local [DESTDIR=]: pecs, its worker, the public headers, pecs.pc, the plugins,
#                   suites, configs and mutants under $(PREFIX) (the layout: see the install target)
#   make uninstall  PREFIX=/usr/local [DESTDIR=]: removes exactly what make install put there
#   make showconfig what the probes found
#   make deps       apt-get install of the Debian packages pecs needs (root, or sudo)

BUILD      ?= build
PREFIX     ?= /usr/local
CC         ?= cc
CXX        ?= g++
PKG_CONFIG ?= pkg-config
OPT        ?= -O2 -g
SAN        ?=
VERSION    := 0.1.0

# Debian packages: hard build deps, test deps, optional features. chromium renders `pecs report --format html`
# headless in tests/test_html.c (skipped without it); libxml2-utils' xmllint checks the page and JUnit XML;
# jq reads the results files in bench/loaded-spread.
DEBIAN_PKGS := build-essential pkg-config git libyaml-dev libjansson-dev nettle-dev libcriterion-dev \
               libmpfr-dev libpapi-dev libsleef-dev clang libclang-rt-14-dev libomp-dev procps libtorch-dev libxml2-utils \
               ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd chromium jq

WARN   := -Wall -Wextra -Wpedantic -Werror
CSTD   := -std=c11 -D_XOPEN_SOURCE=700
# The oracle and the checks are compiled strictly: no contraction into fma, no fast-math.
STRICT := -ffp-contract=off -fno-fast-math

.DEFAULT_GOAL := all
# Objects reached through pattern chains (plugins, fixtures) are not intermediates to delete.
.SECONDARY:

# libtorch's C++ API headers (Debian libtorch-dev); ATen and c10 live in /usr/include.
TORCH_INC  ?= /usr/include/torch/csrc/api/include

# ---- probes (cached in $(BUILD)/config.mk; delete it or run `make reconfigure` to probe again) -------
$(BUILD)/config.mk: Makefile
	@mkdir -p $(BUILD)
	@{ \
	  probe() { if $(PKG_CONFIG) --exists $$2 2>/dev/null; then \
	      echo "HAVE_$$1 := 1"; echo "$$1_CFLAGS := $$($(PKG_CONFIG) --cflags $$2)"; \
	      echo "$$1_LIBS := $$($(PKG_CONFIG) --libs $$2)"; echo "$$1_VERSION := $$($(PKG_CONFIG) --modversion $$2)"; \
	    else echo "HAVE_$$1 := 0"; fi; }; \
	  probe YAML yaml-0.1; probe JANSSON jansson; probe NETTLE nettle; probe CRITERION criterion; \
	  probe MPFR mpfr; probe PAPI papi; probe SLEEF sleef; probe OPENCL OpenCL; \
	  if echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o $(BUILD)/.omp-probe 2>/dev/null; \
	    then echo "HAVE_OPENMP := 1"; else echo "HAVE_OPENMP := 0"; fi; rm -f $(BUILD)/.omp-probe; \
	  torchlib=$$($(CXX) -print-file-name=libtorch_cpu.so 2>/dev/null); \
	  if [ -f $(TORCH_INC)/torch/torch.h ] && [ "$${torchlib#/}" != "$$torchlib" ]; then \
	    v=$$(dpkg-query -W -f='$${Version}' libtorch-dev 2>/dev/null | sed 's/[+~-].*//'); \
	    [ -n "$$v" ] || v=$$(sed -n 's/^ *"\([0-9][0-9.]*\)".*/\1/p' $(TORCH_INC)/torch/version.h); \
	    echo "HAVE_TORCH := 1"; echo "TORCH_VERSION := $${v:-unknown}"; \
	  else echo "HAVE_TORCH := 0"; fi; \
	} > $@.tmp && mv $@.tmp $@

ifeq ($(filter deps showconfig-raw clean,$(MAKECMDGOALS)),)
-include $(BUILD)/config.mk
endif

.PHONY: reconfigure
reconfigure:
	rm -f $(BUILD)/config.mk
	$(MAKE) showconfig

# In-tree backends compiled into pecs (each impls/<name>/ directory is also built as a plugin). Listed by
# name, never a wildcard over impls/: impls/vendor-example/ is an out-of-tree plugin with its own Makefile,
# built against an installed pecs only (tests/test_install.c), and impls/mutants, impls/torch have their rules. The SIMD
# and OpenMP backends need SLEEF (vector sincos) and, for openmp, OpenMP; without them they are left out.
BUILTINS    := scalar $(if $(filter 1,$(HAVE_SLEEF)),simd) $(if $(filter 11,$(HAVE_SLEEF)$(HAVE_OPENMP)),openmp)

# ---- sources -----------------------------------------------------------------------------------------
REF_SRC     := $(wildcard reference/*.c)
HARNESS_SRC := $(filter-out harness/main.c harness/worker_main.c,$(wildcard harness/*.c harness/cli/*.c))
# impls/common/ (the shared frequency schedules) goes into every in-tree backend.
BUILTIN_SRC := $(wildcard impls/common/*.c) $(foreach b,$(BUILTINS),$(wildcard impls/$(b)/*.c))
TEST_SRC    := $(wildcard tests/*.c)
PLUGINS     := $(foreach b,$(BUILTINS),$(BUILD)/plugins/libpecs-$(b).so)

GIT_COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DIRTY   := $(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

INC        := -Iinclude -Iharness -Ireference -I$(BUILD)/gen
DEP_CFLAGS  = $(YAML_CFLAGS) $(JANSSON_CFLAGS) $(NETTLE_CFLAGS) $(if $(filter 1,$(HAVE_PAPI)),-DPECS_HAVE_PAPI $(PAPI_CFLAGS))
DEP_LIBS    = $(YAML_LIBS) $(JANSSON_LIBS) $(NETTLE_LIBS) $(if $(filter 1,$(HAVE_PAPI)),$(PAPI_LIBS) -lsde) \
              $(if $(filter simd,$(BUILTINS)),$(SLEEF_LIBS)) \
              $(if $(filter 1,$(HAVE_OPENMP)),-fopenmp) -ldl -lm
CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) $(SAN) $(INC) -MMD -MP
# What the results record as "compiler flags".
RECORDED_FLAGS = $(CSTD) $(OPT) $(SAN) $(STRICT)

OBJ_REF     := $(REF_SRC:%.c=$(BUILD)/obj/%.o)
OBJ_HARNESS := $(HARNESS_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/version.o
OBJ_BUILTIN := $(BUILTIN_SRC:%.c=$(BUILD)/obj/builtin/%.o)
OBJ_TESTS   := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
LIBPECS     := $(BUILD)/libpecs.a

.PHONY: all run test check sanitize plugins install showconfig deps clean require valgrind
all: require $(BUILD)/pecs $(BUILD)/pecs-worker $(BUILD)/pecs-hog plugins mutants

require:
	@if [ "$(HAVE_YAML)$(HAVE_JANSSON)$(HAVE_NETTLE)" != "111" ]; then \
	  echo "pecs needs libyaml, jansson and nettle (pkg-config yaml-0.1, jansson, nettle)."; \
	  echo "Install them with: make deps   (Debian: libyaml-dev libjansson-dev nettle-dev)"; exit 1; fi

$(BUILD)/obj/reference/%.o: reference/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(STRICT) -c $< -o $@

OMPFLAGS := $(if $(filter 1,$(HAVE_OPENMP)),-fopenmp)
# Only the bandwidth calibration (the table and the paired kernels) uses OpenMP inside the harness (threads 1..N).
$(BUILD)/obj/harness/calibrate.o: EXTRA_CFLAGS := $(OMPFLAGS)
$(BUILD)/obj/harness/pairbw.o: EXTRA_CFLAGS := $(OMPFLAGS)
# The data search path's last resort (harness/datapath.h): the PREFIX pecs is compiled with. Not a dependency:
# `make install PREFIX=elsewhere` copies what is built (the installed pecs finds its data relative to itself).
$(BUILD)/obj/harness/datapath.o: EXTRA_CFLAGS := -DPECS_PREFIX='"$(PREFIX)"'
$(BUILD)/obj/harness/%.o: harness/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(STRICT) $(DEP_CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@

# Instruction-set flags for the kernel files only: the rest of pecs runs on any x86-64, and the ISA is
# chosen at run time (impls/simd/isa.c).
ISA_AVX2   := -mavx2 -mfma -mf16c
ISA_AVX512 := $(ISA_AVX2) -mavx512f -mavx512bw -mavx512vl -mavx512bf16
%/impls/simd/avx2.o: ISA_CFLAGS := $(ISA_AVX2) $(SLEEF_CFLAGS)
%/impls/simd/avx512.o: ISA_CFLAGS := $(ISA_AVX512) $(SLEEF_CFLAGS)
%/impls/openmp/openmp.o: ISA_CFLAGS := $(OMPFLAGS)

$(BUILD)/obj/builtin/impls/%.o: impls/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(ISA_CFLAGS) -DPECS_BUILTIN -c $< -o $@

# Plugins see include/ only, as a vendor's would.
$(BUILD)/obj/plugin/impls/%.o: impls/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) $(ISA_CFLAGS) -Iinclude -MMD -MP -fPIC -fvisibility=hidden -c $< -o $@

# Every in-tree backend directory is also a plugin: build/plugins/libpecs-<dir>.so (with impls/common;
# openmp composes the simd kernels; each links what it calls).
.SECONDEXPANSION:
PLUGIN_EXTRA_openmp := impls/simd/avx2.c impls/simd/avx512.c impls/simd/isa.c impls/simd/job.c
PLUGIN_LIBS_simd    := $(SLEEF_LIBS)
PLUGIN_LIBS_openmp  := $(SLEEF_LIBS) $(OMPFLAGS)
plugin_objs = $(patsubst %.c,$(BUILD)/obj/plugin/%.o,$(wildcard impls/common/*.c impls/$(1)/*.c) $(PLUGIN_EXTRA_$(1)))
$(BUILD)/plugins/libpecs-%.so: $$(call plugin_objs,$$*)
	@mkdir -p $(@D)
	$(CC) -shared $(SAN) -o $@ $^ $(PLUGIN_LIBS_$*) -lm

# The libtorch backend (impls/torch/*.cpp, C++17): a plugin only, never in BUILTINS (pecs itself stays C
# and never links libtorch), built when the probe found libtorch. Explicit rules, so the generic .c plugin
# rules above never see it. libtorch's headers are -isystem: -Werror judges our code, not theirs.
TORCH_SRC    := $(wildcard impls/torch/*.cpp)
TORCH_PLUGIN := $(BUILD)/plugins/libpecs-torch.so
TORCH_CXXFLAGS = -std=c++17 $(WARN) $(OPT) $(SAN) -Iinclude -isystem $(TORCH_INC) \
                 -DPECS_TORCH_VERSION='"$(TORCH_VERSION)"' -MMD -MP -fPIC -fvisibility=hidden
TORCH_LIBS   := -ltorch -ltorch_cpu -lc10
$(BUILD)/obj/plugin/impls/torch/%.o: impls/torch/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(TORCH_CXXFLAGS) -c $< -o $@
$(TORCH_PLUGIN): $(TORCH_SRC:%.cpp=$(BUILD)/obj/plugin/%.o)
	@mkdir -p $(@D)
	$(CXX) -shared $(SAN) -Wl,--no-undefined -o $@ $^ $(TORCH_LIBS)

.PHONY: torch-plugin
ifeq ($(HAVE_TORCH),1)
torch-plugin: $(TORCH_PLUGIN)
else
torch-plugin:
	@echo "torch backend skipped: libtorch not found ($(TORCH_INC)/torch/torch.h and libtorch_cpu.so; Debian: libtorch-dev, make deps)"
endif

# The OpenCL backend (impls/opencl): a plugin only, like torch (pecs itself never links an OpenCL loader), built
# when the probe found the loader's pkg-config file (Debian: ocl-icd-opencl-dev, with opencl-c-headers; a
# runtime is a separate ICD: pocl-opencl-icd runs it on the CPU).
OPENCL_PLUGIN := $(BUILD)/plugins/libpecs-opencl.so
PLUGIN_LIBS_opencl := $(OPENCL_LIBS)
.PHONY: opencl-plugin
ifeq ($(HAVE_OPENCL),1)
opencl-plugin: $(OPENCL_PLUGIN)
else
opencl-plugin:
	@echo "opencl backend skipped: no OpenCL loader found (pkg-config OpenCL; Debian: ocl-icd-opencl-dev, make deps)"
endif

plugins: $(PLUGINS) torch-plugin opencl-plugin

# Mutants: one realistic bug each (impls/mutants/mutants.def), built like vendor plugins.
MUTANTS     := $(shell grep -o '^MUTANT.[a-z0-9_]*' impls/mutants/mutants.def | cut -c8-)
MUTANT_SOS  := $(MUTANTS:%=$(BUILD)/mutants/libpecs-mutant-%.so)
# The kernel compiles once (base.o); each mutant links it with select.c, which names its row.
$(BUILD)/mutants/base.o: impls/mutants/base.c impls/mutants/mutants.def
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) $(OMPFLAGS) -Iinclude -fPIC -fvisibility=hidden -c -o $@ $<
$(BUILD)/mutants/libpecs-mutant-%.so: impls/mutants/select.c $(BUILD)/mutants/base.o
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) $(OMPFLAGS) -Iinclude -fPIC -fvisibility=hidden -shared \
	  -DMUTANT_BUG=BUG_$* -o $@ $^ -lm
.PHONY: mutants mutate
mutants: $(MUTANT_SOS)

# Build identity, regenerated when the commit changes.
$(BUILD)/version.c: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' '/* generated by the Makefile */' \
	  'const char *const pecs_version = "$(VERSION)";' \
	  'const char *const pecs_git_commit = "$(GIT_COMMIT)$(GIT_DIRTY)";' \
	  'const char *const pecs_build_flags = "$(RECORDED_FLAGS)";' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/gen/builtins.h: Makefile
	@mkdir -p $(@D)
	@printf '%s\n' '/* generated by the Makefile from BUILTINS */' \
	  '#define PECS_BUILTINS(X) $(foreach b,$(BUILTINS),X($(b)))' > $@
$(BUILD)/obj/harness/backends.o: $(BUILD)/gen/builtins.h
$(BUILD)/obj/version.o: $(BUILD)/version.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@
.PHONY: FORCE
FORCE:

$(LIBPECS): $(OBJ_REF) $(OBJ_HARNESS) $(OBJ_BUILTIN)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/pecs: $(BUILD)/obj/harness/main.o $(LIBPECS)
	$(CC) $(SAN) -o $@ $^ $(DEP_LIBS)

# The process an isolated backend runs in (harness/backends.h); found next to pecs, or through PECS_WORKER.
$(BUILD)/pecs-worker: $(BUILD)/obj/harness/worker_main.o $(LIBPECS)
	$(CC) $(SAN) -o $@ $^ $(DEP_LIBS)

# The loaded-machine experiment's synthetic neighbour (bench/loaded-spread): a bounded memory-bandwidth hog.
$(BUILD)/pecs-hog: bench/hog.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) $< -o $@

# ---- tests ---------------------------------------------------------------------------------------------
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(STRICT) $(DEP_CFLAGS) $(CRITERION_CFLAGS) $(MPFR_CFLAGS) -c $< -o $@

# Broken plugins that the tests load to prove the harness's defenses (tests/plugins/fixture.c).
FIXTURES    := swapped stray inputwrite crashhang nondet nanout f32angle liar badabi smallstruct noentry nullentry \
               hostdev devstray devclock v10
FIXTURE_SOS := $(FIXTURES:%=$(BUILD)/test-plugins/libfixture-%.so)
OBJ_PICSCALAR := $(wildcard impls/common/*.c impls/scalar/*.c)
OBJ_PICSCALAR := $(OBJ_PICSCALAR:%.c=$(BUILD)/obj/pic-builtin/%.o)
$(BUILD)/obj/pic-builtin/impls/%.o: impls/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -MMD -MP -fPIC -fvisibility=hidden -DPECS_BUILTIN -c $< -o $@
$(BUILD)/test-plugins/libfixture-%.so: tests/plugins/fixture.c $(OBJ_PICSCALAR)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -fPIC -fvisibility=hidden -shared -DFIXTURE_KIND_$* -o $@ $< $(OBJ_PICSCALAR) -lm

# Engine-faithful plugins (tests/plugins/engines/): RoPE as HF transformers/PyTorch and ggml compute it in
# float32, and a double-angle kernel; tests/test_engines.c runs the rotate suites on them. No contraction:
# every operation is rounded, as in the engines' eager code.
ENGINES     := hf ggml double
ENGINE_SOS  := $(ENGINES:%=$(BUILD)/engine-plugins/libengine-%.so)
# hf takes PyTorch's SLEEF pow/cos/sin when SLEEF is here (tests/plugins/engines/hf.c), else libm's.
ENGINE_FLAGS_hf := $(if $(filter 1,$(HAVE_SLEEF)),-DHF_SLEEF)
ENGINE_LIBS_hf  := $(if $(filter 1,$(HAVE_SLEEF)),$(SLEEF_LIBS))
$(BUILD)/engine-plugins/libengine-%.so: tests/plugins/engines/%.c tests/plugins/engines/engine.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -ffp-contract=off $(ENGINE_FLAGS_$*) -Iinclude -fPIC -fvisibility=hidden -shared \
	  -o $@ $< $(ENGINE_LIBS_$*) -lm
.PHONY: engines
engines: $(ENGINE_SOS)

# Hostile plugins, one per attack on the verdict (tests/plugins/attack.c, docs/threat-model.md).
ATTACKS     := $(shell grep -o '^ATTACK.[a-z0-9_]*' tests/plugins/attacks.def | cut -c8-)
ATTACK_SOS  := $(ATTACKS:%=$(BUILD)/attack-plugins/libattack-%.so)
$(BUILD)/attack-plugins/libattack-%.so: tests/plugins/attack.c tests/plugins/attacks.def $(OBJ_PICSCALAR)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -fPIC -fvisibility=hidden -shared -DATTACK_$* -o $@ $< $(OBJ_PICSCALAR) -lm

$(BUILD)/pecs-tests: $(OBJ_TESTS) $(LIBPECS) $(FIXTURE_SOS) $(ATTACK_SOS) $(ENGINE_SOS)
	@if [ "$(HAVE_CRITERION)$(HAVE_MPFR)" != "11" ]; then \
	  echo "tests need Criterion and MPFR: make deps (Debian: libcriterion-dev libmpfr-dev)"; exit 1; fi
	$(CC) $(SAN) -o $@ $(OBJ_TESTS) $(LIBPECS) $(CRITERION_LIBS) $(MPFR_LIBS) $(DEP_LIBS)

# Tests find the binary, plugins and suites through these variables (tests/test_install.c runs
# `make install`/`uninstall` of $(BUILD) into a scratch prefix: the tree must be built first, as test does).
TEST_ENV = PECS_BIN=$(abspath $(BUILD)/pecs) PECS_PLUGIN_DIR=$(abspath $(BUILD)/plugins) PECS_SRC=$(CURDIR) \
           PECS_BUILD=$(abspath $(BUILD)) \
           PECS_WORKER=$(abspath $(BUILD)/pecs-worker) PECS_ATTACK_DIR=$(abspath $(BUILD)/attack-plugins) \
           PECS_FIXTURE_DIR=$(abspath $(BUILD)/test-plugins) PECS_ENGINE_DIR=$(abspath $(BUILD)/engine-plugins) \
           $(TEST_ENV_EXTRA)
CRITERION_JOBS ?= 2

check: deps
	@$(MAKE) --no-print-directory all $(BUILD)/pecs-tests
	$(TEST_ENV) $(BUILD)/pecs-tests --jobs=$(CRITERION_JOBS) --filter='!(conformance|cli|engines|torch|install)/*'

test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/pecs-tests
	$(TEST_ENV) $(BUILD)/pecs-tests --jobs=$(CRITERION_JOBS)

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/results
	$(BUILD)/pecs run suites/smoke.yaml --backend all --mode all --min-time 0.01 --out $(BUILD)/results/smoke.json

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  TEST_ENV_EXTRA="LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0" test

# ---- valgrind: memcheck over the smoke suite on the built-in backends (no errors allowed; ~1.5 min) -----
.PHONY: valgrind
valgrind: all
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	  $(BUILD)/pecs run suites/smoke.yaml --backend all --mode correctness --out $(BUILD)/results/valgrind.json

# ---- fuzzing (libFuzzer, clang) ----------------------------------------------------------------------
# make fuzz: each target runs FUZZ_SECONDS (default 60) from a seed corpus (the suites; .npy files pecs
# writes); findings land in build/fuzz/findings/<target>/ and fail the target.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_TARGETS := suite npy
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
.PHONY: fuzz
fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs clang (Debian: clang libclang-rt-14-dev)"; exit 1; }
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(BUILD)/fuzz OPT="-O1 -g" \
	  SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(BUILD)/fuzz/libpecs.a $(BUILD)/fuzz/pecs
	@mkdir -p $(BUILD)/fuzz/corpus/suite $(BUILD)/fuzz/corpus/npy
	@cp suites/*.yaml tests/data/suites/*.yaml $(BUILD)/fuzz/corpus/suite/
	@$(BUILD)/fuzz/pecs eval rope.yarn --set head_dim=16 --set factor=4 \
	  --out inv_freq=$(BUILD)/fuzz/corpus/npy/inv.npy --out attn=$(BUILD)/fuzz/corpus/npy/attn.npy
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(CSTD) $(WARN) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer $(INC) $(DEP_CFLAGS) fuzz/fuzz_$$t.c \
	    $(BUILD)/fuzz/libpecs.a $(DEP_LIBS) -o $(BUILD)/fuzz/fuzz_$$t || exit 1; \
	  mkdir -p $(BUILD)/fuzz/findings/$$t $(BUILD)/fuzz/work/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/findings/$$t/ \
	    $(BUILD)/fuzz/work/$$t $(BUILD)/fuzz/corpus/$$t 2>$(BUILD)/fuzz/$$t.log \
	    || { tail -40 $(BUILD)/fuzz/$$t.log; echo "fuzz: $$t found a problem: $(BUILD)/fuzz/findings/$$t/"; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|Done' $(BUILD)/fuzz/$$t.log | tr '\n' ' '; echo; \
	done

# ---- install / uninstall -------------------------------------------------------------------------------
# make install PREFIX=/usr/local [DESTDIR=staging]: copies what `all` built (nothing is rebuilt for another
# PREFIX: pecs finds its data relative to its own binary, harness/datapath.h) into
#   bin/pecs                                 the command
#   libexec/pecs/pecs-worker                 the process isolated backends run in (harness/backends.c)
#   include/pecs/*.h, encodings.def          the plugin ABI;   lib/pkgconfig/pecs.pc   its Cflags
#   lib/pecs/libpecs-<backend>.so            the in-tree backends as plugins (torch too when built)
#   lib/pecs/mutants/libpecs-mutant-*.so     pecs mutate's mutants
#   share/pecs/configs/**, share/pecs/suites/**   every file of the two trees (configs/certify/ included)
#   share/pecs/install-manifest.txt          every file above (relative to PREFIX), what make uninstall removes
# An install over an earlier one keeps the earlier manifest's entries too, so uninstall still finds them.
INSTALL_MANIFEST := share/pecs/install-manifest.txt
INSTALL_PLUGINS   = $(PLUGINS) $(if $(filter 1,$(HAVE_TORCH)),$(TORCH_PLUGIN))
.PHONY: uninstall
install: all
	@set -e; root='$(DESTDIR)$(PREFIX)'; man=$$(mktemp); pc=$$(mktemp); trap 'rm -f "$$man" "$$pc"' EXIT; \
	put() { install -D -m "$$1" "$$2" "$$root/$$3"; echo "$$3" >> "$$man"; }; \
	put 755 $(BUILD)/pecs bin/pecs; \
	put 755 $(BUILD)/pecs-worker libexec/pecs/pecs-worker; \
	for f in include/pecs/*.h include/pecs/*.def; do put 644 "$$f" "$$f"; done; \
	for f in $(INSTALL_PLUGINS); do put 755 "$$f" "lib/pecs/$${f##*/}"; done; \
	for f in $(MUTANT_SOS); do put 755 "$$f" "lib/pecs/mutants/$${f##*/}"; done; \
	for f in $$(find configs suites -type f ! -name '.*' ! -name '*~' | LC_ALL=C sort); do put 644 "$$f" "share/pecs/$$f"; done; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pecs.pc.in > "$$pc"; \
	put 644 "$$pc" lib/pkgconfig/pecs.pc; \
	if [ -f "$$root/$(INSTALL_MANIFEST)" ]; then cat "$$root/$(INSTALL_MANIFEST)" >> "$$man"; fi; \
	LC_ALL=C sort -u "$$man" -o "$$man"; \
	install -D -m 644 "$$man" "$$root/$(INSTALL_MANIFEST)"; \
	echo "installed pecs under $$root: $$(wc -l < "$$man") files, listed in $$root/$(INSTALL_MANIFEST)"

# make uninstall PREFIX=... [DESTDIR=...]: removes exactly the files the manifest lists (and the manifest),
# then the directories of pecs's own (a path component named pecs: include/pecs, lib/pecs/mutants,
# share/pecs/...) that are left empty; bin/, lib/pkgconfig/ and the like stay, and so does anything else.
uninstall:
	@set -e; root='$(DESTDIR)$(PREFIX)'; man="$$root/$(INSTALL_MANIFEST)"; \
	if [ ! -f "$$man" ]; then \
	  echo "uninstall: no $$man: make install did not install pecs under $$root (nothing removed)"; exit 1; fi; \
	n=0; while IFS= read -r f; do \
	  case "$$f" in ''|/*|../*|*/../*|*/..) echo "uninstall: skipped the manifest entry '$$f'"; continue;; esac; \
	  if [ -f "$$root/$$f" ] || [ -L "$$root/$$f" ]; then rm -f "$$root/$$f"; n=$$((n + 1)); fi; \
	done < "$$man"; \
	dirs=$$(while IFS= read -r f; do d=$$f; while [ "$${d%/*}" != "$$d" ]; do d=$${d%/*}; \
	  case "/$$d/" in */pecs/*) echo "$$d";; esac; done; done < "$$man" | LC_ALL=C sort -ru); \
	rm -f "$$man"; \
	for d in $$dirs; do rmdir "$$root/$$d" 2>/dev/null || true; done; \
	echo "uninstalled pecs from $$root: $$n files removed"

showconfig:
	@echo "pecs $(VERSION) ($(GIT_COMMIT)$(GIT_DIRTY))  CC=$(CC)  BUILD=$(BUILD)"
	@echo "  libyaml   (required) : $(if $(filter 1,$(HAVE_YAML)),yes $(YAML_VERSION),MISSING - make deps)"
	@echo "  jansson   (required) : $(if $(filter 1,$(HAVE_JANSSON)),yes $(JANSSON_VERSION),MISSING - make deps)"
	@echo "  nettle    (required) : $(if $(filter 1,$(HAVE_NETTLE)),yes $(NETTLE_VERSION),MISSING - make deps)"
	@echo "  Criterion (tests)    : $(if $(filter 1,$(HAVE_CRITERION)),yes $(CRITERION_VERSION),no - tests cannot build)"
	@echo "  MPFR      (tests)    : $(if $(filter 1,$(HAVE_MPFR)),yes $(MPFR_VERSION),no - tests cannot build)"
	@echo "  PAPI      (optional) : $(if $(filter 1,$(HAVE_PAPI)),yes $(PAPI_VERSION) (hardware counters where the machine has them; SDE always),no - counters recorded as unavailable)"
	@echo "  OpenMP    (optional) : $(if $(filter 1,$(HAVE_OPENMP)),yes,no - OpenMP backend skipped)"
	@echo "  SLEEF     (optional) : $(if $(filter 1,$(HAVE_SLEEF)),yes $(SLEEF_VERSION),no - simd and openmp backends skipped)"
	@echo "  libtorch  (optional) : $(if $(filter 1,$(HAVE_TORCH)),yes $(TORCH_VERSION) (plugin $(TORCH_PLUGIN); CXX=$(CXX)),no - torch backend skipped)"
	@echo "  OpenCL    (optional) : $(if $(filter 1,$(HAVE_OPENCL)),yes $(OPENCL_VERSION) (plugin $(OPENCL_PLUGIN)),no - opencl backend skipped)"
	@echo "  built-in backends    : $(BUILTINS)"

deps:
	@missing=""; \
	if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "deps: not a Debian system; install the equivalents of: $(DEBIAN_PKGS)"; exit 0; fi; \
	for p in $(DEBIAN_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	SUDO=""; if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	echo "deps: installing$$missing (apt-get, as $${SUDO:-root})"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing
	@rm -f $(BUILD)/config.mk

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
