# A discarded start_call() does not compile under -Werror=unused-result, and the same call kept
# in a variable does: the first would record a zero-latency call at once.
# cmake -DCXX=<compiler> -DINCLUDE=<include dir> -DWORK=<scratch dir> -P nodiscard_check.cmake
file(MAKE_DIRECTORY "${WORK}")
set(prelude "#include \"opsmeter/opsmeter.hpp\"\nvoid f(opsmeter::Client& client) {\n")
file(WRITE "${WORK}/kept.cpp" "${prelude}  auto call = client.start_call(\"openai\", \"gpt-4o-mini\");\n  (void)call;\n}\n")
file(WRITE "${WORK}/discarded.cpp" "${prelude}  client.start_call(\"openai\", \"gpt-4o-mini\");\n}\n")
foreach(name kept discarded)
  execute_process(COMMAND "${CXX}" -std=c++17 -fsyntax-only -Werror=unused-result -I "${INCLUDE}" "${WORK}/${name}.cpp"
                  RESULT_VARIABLE rc_${name} OUTPUT_VARIABLE out_${name} ERROR_VARIABLE out_${name})
endforeach()
if(NOT rc_kept EQUAL 0)
  message(FATAL_ERROR "a kept start_call() does not compile:\n${out_kept}")
endif()
if(rc_discarded EQUAL 0)
  message(FATAL_ERROR "a discarded start_call() compiles under -Werror=unused-result")
endif()
if(NOT out_discarded MATCHES "nodiscard|unused-result|unused result")
  message(FATAL_ERROR "a discarded start_call() fails, but not for its discarded result:\n${out_discarded}")
endif()
message(STATUS "a discarded start_call() is refused: ${out_discarded}")
