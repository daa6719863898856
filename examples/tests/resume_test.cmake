# Trains once without interruption, and once stopped after STOP_AFTER steps and resumed from
# its checkpoint; passes when both runs print the same final loss (to 9 significant digits,
# which is bit-identical for a float).
#
#   cmake -D TRAIN=path/to/libtorch-train -D WORK_DIR=dir -D STEPS=60 -D STOP_AFTER=25 -P resume_test.cmake

function(train_run name)
  execute_process(COMMAND ${TRAIN} --steps ${STEPS} --checkpoint-dir ${WORK_DIR}/${name} ${ARGN}
                  RESULT_VARIABLE exit_code OUTPUT_VARIABLE output ERROR_VARIABLE output)
  message("[${name}] ${output}")
  if(NOT exit_code EQUAL 0)
    message(FATAL_ERROR "${name}: libtorch-train exited with ${exit_code}")
  endif()
  set(output "${output}" PARENT_SCOPE)
endfunction()

function(final_loss output result)
  if(NOT output MATCHES "final loss ([^ ]+) after ${STEPS} steps")
    message(FATAL_ERROR "no 'final loss' line in the output")
  endif()
  set(${result} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})

train_run(uninterrupted)
final_loss("${output}" uninterrupted_loss)

train_run(interrupted --stop-after ${STOP_AFTER})
if(NOT output MATCHES "stopped after step ${STOP_AFTER}; checkpoint saved")
  message(FATAL_ERROR "the interrupted run did not stop after ${STOP_AFTER} steps")
endif()
train_run(interrupted)
if(NOT output MATCHES "resumed from step ${STOP_AFTER}")
  message(FATAL_ERROR "the second run did not resume from step ${STOP_AFTER}")
endif()
final_loss("${output}" resumed_loss)

if(NOT uninterrupted_loss STREQUAL resumed_loss)
  message(FATAL_ERROR "final loss differs: uninterrupted ${uninterrupted_loss}, resumed ${resumed_loss}")
endif()
message("same final loss: ${resumed_loss}")
