# A thin front door: CMake does the building, CTest the testing.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
WERROR ?= OFF
JOBS ?= $(shell nproc)
BENCH_RUNS ?= 7
CMAKE_FLAGS ?=

# ccache keys on paths relative to the clone, so a fresh clone elsewhere hits the same cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

# The Docker CLI of image builds: BUILD_DOCKER=... when given, else what tools/build-docker.sh
# prints when a recipe runs, after the packages are installed (Debian's docker.io client when
# present: it has BuildKit built in).
BUILD_DOCKER ?=
export BUILD_DOCKER

.PHONY: all test test-asan fuzz lint image real-image devel-image bench up clean

CONFIGURE = cmake -S . -B $(BUILD) -DLAUNCHER_WERROR=$(WERROR) $(CMAKE_FLAGS)

all:
	@tools/ensure-packages.sh build
	$(CONFIGURE)
	cmake --build $(BUILD) -j $(JOBS)

# Unit tests, then end-to-end tests against the real Docker engine: on the offline base image,
# and on the CPU image built from it; the lifecycle and security suites again as a rootless Podman
# user (e2e.podman). The images' test stages run as they are built.
test:
	@tools/ensure-packages.sh test
	@# The backup tests' S3 server: its venv installed once here, so that no test waits for pip.
	@tests/support/moto-server.sh start 127.0.0.1:5599 && tests/support/moto-server.sh stop 127.0.0.1:5599
	$(MAKE) image
	$(MAKE) real-image
	$(MAKE) devel-image
	@# e2e.podman's user, packages and images before any test runs: quickstart.bare's apt, beside
	@# it, shares the host's package archive with no other apt. As root only: it adds a user. A
	@# failure here is e2e.podman's to report (it runs the same set-up), not a reason to test nothing.
	@[ "$$(id -u)" -ne 0 ] || tools/ensure-podman.sh -u launcher-podman launcher-base:bookworm 	  "$$(cat $(BUILD)/image-tag)" || echo "make test: the Podman set-up failed; e2e.podman will say why" >&2
	ctest --test-dir $(BUILD) --output-on-failure --no-tests=error -j $(JOBS)

# The CPU image, offline: Debian's PyTorch on a debootstrapped base; its tag goes to $(BUILD)/image-tag.
image: all
	@tools/ensure-docker.sh
	@images/make-base.sh
	$(BUILD)/launcher --docker "$$(tools/build-docker.sh)" build --offline --cuda cpu --test --json > $(BUILD)/image.json
	sed -n 's/.*"tag":"\([^"]*\)".*/\1/p' $(BUILD)/image.json > $(BUILD)/image-tag
	@echo "image: $$(cat $(BUILD)/image-tag)"

# $(call launcher_build,OPTIONS,NAME): `launcher build OPTIONS --test`, its JSON result in
# $(BUILD)/NAME.json and its tag in $(BUILD)/NAME-tag. REAL_IMAGE_REGISTRY prefixes the tags
# (engineers sharing one engine keep theirs apart).
REAL_IMAGE_REGISTRY ?=
define launcher_build
	@tools/ensure-docker.sh
	@images/make-base.sh
	$(BUILD)/launcher --docker "$$(tools/build-docker.sh)" build $(1) --test --json \
	  $(if $(REAL_IMAGE_REGISTRY),--registry $(REAL_IMAGE_REGISTRY)) > $(BUILD)/$(2).json
	sed -n 's/.*"tag":"\([^"]*\)".*/\1/p' $(BUILD)/$(2).json > $(BUILD)/$(2)-tag
	@echo "$(2): $$(cat $(BUILD)/$(2)-tag)"
endef

# The real image: torch 2.7.1 + CUDA 12.6 from PyPI's hash-locked wheels (images/locks/), built
# with no index from the host's wheel cache on the same debootstrapped base; only wheels the cache
# lacks are downloaded. The test stage runs too; the runtime tag goes to $(BUILD)/real-image-tag.
REAL_IMAGE_ROW ?= --torch 2.7.1 --cuda 12.6 --os debian12 --variant runtime --base launcher-base:bookworm
real-image: all
	$(call launcher_build,$(REAL_IMAGE_ROW),real-image)

# Its devel variant: the same layers plus Debian's CUDA 12.4 toolkit (nvcc) on the wheels' CUDA
# 12.6 runtime. Its test stage builds C++, a CUDA extension and gpu-probe with that nvcc; the tag
# goes to $(BUILD)/devel-image-tag. Not part of `make up`.
DEVEL_IMAGE_ROW ?= $(subst --variant runtime,--variant devel,$(REAL_IMAGE_ROW))
devel-image: all
	$(call launcher_build,$(DEVEL_IMAGE_ROW),devel-image)

# The unit tests under AddressSanitizer and UBSan, in a Debug build of their own.
test-asan:
	@tools/ensure-packages.sh build
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLAUNCHER_SANITIZE=ON -DLAUNCHER_WERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -R '^unit:' --no-tests=error

# Every fuzz target of tests/fuzz for FUZZ_SECONDS from its seed corpus, built with clang,
# libFuzzer, ASan and UBSan in a configuration of its own; any crash fails.
fuzz:
	@tools/ensure-packages.sh fuzz
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DLAUNCHER_FUZZ=ON -DLAUNCHER_WERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The repository's habits as checks: clang-format over every C++ file, clang-tidy (.clang-tidy)
# over the launcher's and launcher-init's sources.
lint: all
	@tools/ensure-packages.sh lint
	tools/lint.sh $(BUILD) $(JOBS)

# Timings, printed (not asserted): `render`, then `up` against a polling shell script, the
# exported Compose file and `devcontainer up` (where npm can install it), with the launcher's own
# CPU time and peak RSS and those with its Docker CLIs, and `ps` with 20 environments; then
# `launcher submit` against a hand-written sbatch script on a real two-node Slurm.
bench: image
	@tools/ensure-packages.sh bench
	tools/bench-render.sh $(BUILD)/launcher
	tools/bench-up.sh $(BUILD)/launcher $(BENCH_RUNS) $$(cat $(BUILD)/image-tag)
	tools/bench-slurm.sh $(BUILD)/launcher $$(cat $(BUILD)/image-tag)

# Only the launcher is compiled on the host: the image builds launcher-init and gpu-check itself.
# The real image (REAL_IMAGE_ROW) on every host, recorded as the user's default image; the offline
# flavor (Debian's CPU PyTorch) when pip's index does not answer. FLAVOR=offline or FLAVOR=real
# chooses without asking the index.
FLAVOR ?=
up:
	@tools/ensure-packages.sh up
	$(CONFIGURE)
	cmake --build $(BUILD) -j $(JOBS) --target launcher
	FLAVOR=$(FLAVOR) tools/up.sh $(BUILD)/launcher $(REAL_IMAGE_ROW)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
