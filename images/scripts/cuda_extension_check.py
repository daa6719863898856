"""A torch.utils.cpp_extension CUDA extension built with load_inline by the image's nvcc against
torch's CUDA runtime (minor-version compatibility: nvcc 12.4, runtime 12.6). It must build and load,
its CPU path must give the right numbers, and the process must map one libcudart: the wheel's.
Runs without a GPU: the CUDA kernel is compiled, never launched. The last line printed is the
extension's path, for the ldd check of devel_check.sh."""
import os
import pathlib
import sys
import tempfile

# No GPU to ask for its architecture: Ampere and Hopper cubins, and Hopper's PTX.
os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX")

import torch  # noqa: E402
from torch.utils import cpp_extension  # noqa: E402

CUDA_SOURCE = r"""
__global__ void scale_kernel(const float* input, float* output, float factor, int64_t count) {
  const int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (index < count) output[index] = input[index] * factor;
}

torch::Tensor scale_cuda(torch::Tensor input, double factor) {
  auto output = torch::empty_like(input);
  const int64_t count = input.numel();
  scale_kernel<<<(count + 255) / 256, 256>>>(input.data_ptr<float>(), output.data_ptr<float>(), float(factor), count);
  return output;
}

int64_t compiled_cuda_version() { return CUDART_VERSION; }

int64_t loaded_cuda_version() {
  int version = 0;
  return cudaRuntimeGetVersion(&version) == cudaSuccess ? version : -1;
}
"""

CPP_SOURCE = r"""
torch::Tensor scale_cuda(torch::Tensor input, double factor);
int64_t compiled_cuda_version();
int64_t loaded_cuda_version();

torch::Tensor scale(torch::Tensor input, double factor) {
  TORCH_CHECK(input.scalar_type() == torch::kFloat, "scale: float32 only");
  if (input.is_cuda()) return scale_cuda(input.contiguous(), factor);
  return input * factor;
}
"""


def cuda_version_text(version):
    return f"{version // 1000}.{version % 1000 // 10}"


build_directory = pathlib.Path(tempfile.mkdtemp(prefix="cuda-extension-"))
extension = cpp_extension.load_inline(
    name="launcher_scale",
    cpp_sources=CPP_SOURCE,
    cuda_sources=CUDA_SOURCE,
    functions=["scale", "compiled_cuda_version", "loaded_cuda_version"],
    build_directory=str(build_directory),
    with_cuda=True,
)
failures = []
result = extension.scale(torch.arange(4, dtype=torch.float32), 2.5)
if result.tolist() != [0.0, 2.5, 5.0, 7.5]:
    failures.append(f"scale's CPU path gave {result.tolist()}, expected [0.0, 2.5, 5.0, 7.5]")
compiled, loaded = extension.compiled_cuda_version(), extension.loaded_cuda_version()
print(f"cuda extension: compiled against CUDA {cuda_version_text(compiled)}, runs on CUDA {cuda_version_text(loaded)}"
      f" (torch.version.cuda {torch.version.cuda})")
if cuda_version_text(loaded) != torch.version.cuda:
    failures.append(f"the extension runs on CUDA {cuda_version_text(loaded)}, not torch's {torch.version.cuda}")

mapped = sorted({os.path.realpath(line.split()[-1]) for line in open("/proc/self/maps")
                 if "/libcudart.so" in line})
print(f"libcudart mapped in this process: {', '.join(mapped)}")
if len(mapped) != 1 or "/nvidia/cuda_runtime/lib/" not in mapped[0]:
    failures.append(f"the process maps {mapped}, expected the wheel's libcudart.so.12 alone")

if failures:
    sys.exit("cuda_extension_check failed:\n  " + "\n  ".join(failures))
print(build_directory / "launcher_scale.so")
