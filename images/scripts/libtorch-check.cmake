# Builds the SimpleNet example against the image's own LibTorch: find_package(Torch) must work
# with nothing but the image's CMAKE_PREFIX_PATH.
cmake_minimum_required(VERSION 3.18)
project(image_libtorch_check CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(Torch REQUIRED)
# A CUDA LibTorch enabled CMake's CUDA language: the devel image's check looks for this line.
if(CMAKE_CUDA_COMPILER)
  message(STATUS "libtorch-check: CUDA on: nvcc ${CMAKE_CUDA_COMPILER_VERSION}, CUDA toolkit ${CUDAToolkit_VERSION}")
endif()
add_executable(libtorch-simplenet /src/examples/libtorch-simplenet/main.cpp)
target_link_libraries(libtorch-simplenet PRIVATE ${TORCH_LIBRARIES})
