#!/usr/bin/env bash
# The devel variant of the real image (`make devel-image`), checked from outside without a GPU:
# its labels name both CUDA versions (the runtime the wheels load, and nvcc's), it shares the
# runtime variant's layers up to the toolkit, and nvcc builds a CUDA program in it that runs on
# the wheels' runtime: the only libcudart on the system. (Its test stage checked LibTorch C++, a
# CUDA extension and gpu-probe while it was built.)
#   tests/image/test_devel_image.sh BUILD_DIR
set -euo pipefail
# 77 is CTest's "skipped"; under LAUNCHER_E2E_REQUIRED=1 (CI) a skip is a failure.
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$(dirname "$0")/../support/verdicts.sh"
build="$(cd "${1:?usage: test_devel_image.sh BUILD_DIR}" && pwd)"
docker="${LAUNCHER_DOCKER:-docker}"
for tag_file in devel-image-tag real-image-tag; do
  [ -s "$build/$tag_file" ] || skip "no $build/$tag_file (make devel-image and make real-image build the images)"
done
image="$(cat "$build/devel-image-tag")"
runtime_image="$(cat "$build/real-image-tag")"
failures=0
label() { "$docker" image inspect --format "{{index .Config.Labels \"io.launcher.$2\"}}" "$1"; }
in_image() { "$docker" run --rm --entrypoint sh "$image" -c "$1"; }

check "label cuda is 12.6 (the wheels' runtime)" test "$(label "$image" cuda)" = 12.6
check "label nvcc is 12.4 (Debian's toolkit)" test "$(label "$image" nvcc)" = 12.4
check "label torch is the runtime variant's" test "$(label "$image" torch)" = "$(label "$runtime_image" torch)"
layers() { "$docker" image inspect --format '{{join .RootFS.Layers "\n"}}' "$1"; }
shared_layers=$(grep -cxFf <(layers "$runtime_image") <(layers "$image") || true)
check "the devel variant shares the runtime variant's layers up to the services ($shared_layers shared)" \
  test "$shared_layers" -ge 5

# nvcc 12.4 compiles, the program runs on the wheels' 12.6 runtime without a GPU, and every
# libcudart.so.12 on the system is the wheel's file.
# shellcheck disable=SC2016 # expanded in the image
versions=$(in_image 'cd /tmp && printf "%s\n" "#include <cstdio>" "#include <cuda_runtime.h>" \
  "int main() { int loaded = 0; cudaRuntimeGetVersion(&loaded); std::printf(\"%d %d\\n\", CUDART_VERSION, loaded); }" \
  > version.cu && nvcc -o version version.cu -cudart shared && ./version')
check "nvcc 12.4 builds a program that runs on CUDA runtime 12.6 ($versions)" test "$versions" = "12040 12060"
# shellcheck disable=SC2016 # expanded in the image
copies=$(in_image 'find / -xdev -name "libcudart.so.12*" ! -name "*.a" -exec realpath {} + | sort -u')
check "one libcudart.so.12 in the image, the wheel's ($copies)" \
  grep -qx '/opt/venv/lib/python3.11/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12' <<<"$copies"
check "... and no other" test "$(wc -l <<<"$copies")" -eq 1

size() { "$docker" image inspect --format '{{.Size}}' "$1"; }
echo "sizes: devel $(($(size "$image") / 1000000)) MB, runtime $(($(size "$runtime_image") / 1000000)) MB"
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "devel image checks passed"
