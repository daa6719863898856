# CTest helper: runs a command and passes when it exits with EXPECTED_EXIT and its stdout and
# stderr together match the regular expression EXPECTED_OUTPUT. CTest alone can only test for
# exit code 0 or a regex, not for a documented non-zero code such as "3: no GPU".
#
#   cmake -D EXPECTED_EXIT=3 -D EXPECTED_OUTPUT=regex -P expect_exit.cmake -- program args...

set(command)
set(after_separator FALSE)
foreach(index RANGE 1 ${CMAKE_ARGC})
  if(index EQUAL CMAKE_ARGC)
    break()
  endif()
  if(after_separator)
    list(APPEND command "${CMAKE_ARGV${index}}")
  elseif(CMAKE_ARGV${index} STREQUAL "--")
    set(after_separator TRUE)
  endif()
endforeach()
if(NOT command)
  message(FATAL_ERROR "expect_exit.cmake: no command after --")
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE exit_code OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(NOT exit_code STREQUAL "${EXPECTED_EXIT}")
  message(FATAL_ERROR "expected exit code ${EXPECTED_EXIT}, got ${exit_code}")
endif()
if(NOT output MATCHES "${EXPECTED_OUTPUT}")
  message(FATAL_ERROR "output does not match: ${EXPECTED_OUTPUT}")
endif()
