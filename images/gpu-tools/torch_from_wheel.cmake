# The PyTorch wheel's CUDA LibTorch for C++ that compiles no CUDA itself (gpu-check), where no
# nvcc exists: Torch's own CMake config enables the CUDA language, and PyPI's CUDA 12 wheels
# carry no nvcc. The lines are torch.utils.cpp_extension's: the wheel's headers and libraries,
# the CUDA headers of the nvidia-* wheels torch loads, and torch's C++ ABI.
# Sets Torch_FOUND, TORCH_LIBRARIES and TORCH_CUDA_LIBRARIES as find_package(Torch) does.
execute_process(
  COMMAND python3 -c [=[
import glob, os, torch
import nvidia
print(os.path.dirname(torch.__file__))
print(int(torch._C._GLIBCXX_USE_CXX11_ABI))
print(";".join(sorted(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "include")))))
]=]
  OUTPUT_VARIABLE wheel_facts OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
string(REPLACE "\n" ";" wheel_facts "${wheel_facts}")
list(GET wheel_facts 0 torch_dir)
list(GET wheel_facts 1 torch_cxx11_abi)
list(SUBLIST wheel_facts 2 -1 cuda_include_dirs)

add_library(torch_from_wheel INTERFACE)
target_include_directories(torch_from_wheel SYSTEM INTERFACE ${torch_dir}/include
                           ${torch_dir}/include/torch/csrc/api/include ${cuda_include_dirs})
target_compile_definitions(torch_from_wheel INTERFACE _GLIBCXX_USE_CXX11_ABI=${torch_cxx11_abi})
# --no-as-needed: nothing in the program names libtorch_cuda's symbols, yet loading it is what
# registers the CUDA backend.
target_link_libraries(torch_from_wheel INTERFACE -Wl,--no-as-needed ${torch_dir}/lib/libtorch.so
                      ${torch_dir}/lib/libtorch_cpu.so ${torch_dir}/lib/libtorch_cuda.so ${torch_dir}/lib/libc10_cuda.so
                      ${torch_dir}/lib/libc10.so -Wl,--as-needed)
set(Torch_FOUND TRUE)
set(TORCH_LIBRARIES torch_from_wheel)
set(TORCH_CUDA_LIBRARIES ${torch_dir}/lib/libc10_cuda.so)
message(STATUS "gpu-tools: LibTorch of the wheel at ${torch_dir} (CUDA, no nvcc: without Torch's CMake config)")
