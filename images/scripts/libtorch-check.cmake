# Builds the SimpleNet example against the image's own LibTorch: find_package(Torch) must work
# with nothing but the image's CMAKE_PREFIX_PATH.
cmake_minimum_required(VERSION 3.18)
project(image_libtorch_check CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(Torch REQUIRED)
add_executable(libtorch-simplenet /src/examples/libtorch-simplenet/main.cpp)
target_link_libraries(libtorch-simplenet PRIVATE ${TORCH_LIBRARIES})
