# Embeds images/matrix.json into launcher_pure (matrix/) as a raw string literal, so `doctor` knows the
# version matrix without finding the file at run time. Include after launcher_pure is defined.
set(LAUNCHER_MATRIX_JSON "${CMAKE_CURRENT_LIST_DIR}/../images/matrix.json")
set(LAUNCHER_MATRIX_SOURCE "${CMAKE_CURRENT_BINARY_DIR}/generated/matrix/embedded_json.cpp")

file(READ "${LAUNCHER_MATRIX_JSON}" MATRIX_JSON)
string(FIND "${MATRIX_JSON}" ")matrix_json\"" matrix_delimiter_at)
if(NOT matrix_delimiter_at EQUAL -1)
  message(FATAL_ERROR "${LAUNCHER_MATRIX_JSON} contains the raw string delimiter )matrix_json\"")
endif()
# @ONLY: the JSON's own ${...} text must pass through untouched.
configure_file("${CMAKE_CURRENT_LIST_DIR}/src/matrix/embedded_json.cpp.in" "${LAUNCHER_MATRIX_SOURCE}" @ONLY)
# configure_file re-runs CMake when the template changes; the JSON is read with file(READ), so say it too.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${LAUNCHER_MATRIX_JSON}")
target_sources(launcher_pure PRIVATE "${LAUNCHER_MATRIX_SOURCE}")
