# Test helpers: gtest executables registered with CTest, one CTest test per gtest case named
# <executable>.<Suite>.<Test> and labelled unit, integration or e2e; fuzz targets (label fuzz).
include(GoogleTest)

# meshd_gtest(NAME KIND SOURCES ... [LIBS ...] [TIMEOUT s])
function(meshd_gtest name kind)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} meshd_test_support GTest::gtest_main
                                        GTest::gmock)
  meshd_warnings(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    TEST_PREFIX "${name}."
    PROPERTIES LABELS ${kind} TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "MESHD_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
endfunction()

function(meshd_unit_test name)
  meshd_gtest(${name} unit ${ARGN})
endfunction()

function(meshd_integration_test name)
  meshd_gtest(${name} integration ${ARGN})
endfunction()

# meshd_e2e_test(NAME SOURCES ... [LIBS ...] [DEPENDS targets...] [TIMEOUT s]): end-to-end tests
# that run whole meshes (docs/e2e.md). Each gtest suite starts one mesh for all its cases, so CTest
# runs one test per suite (NAME.<Suite>, the suites read from the sources' TEST/TEST_F lines), labelled
# e2e and RUN_SERIAL (they load the machine and measure latencies). A suite that skips as a whole
# prints "meshd e2e: skipped" and is reported as skipped.
function(meshd_e2e_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;DEPENDS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} meshd_test_support GTest::gtest_main
                                        GTest::gmock)
  meshd_warnings(${name})
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(suites "")
  foreach(source ${ARG_SOURCES})
    get_filename_component(source_path ${source} ABSOLUTE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_path})
    file(STRINGS ${source_path} test_lines REGEX "^TEST(_F)?\\(")
    foreach(line ${test_lines})
      string(REGEX REPLACE "^TEST(_F)?\\(([A-Za-z0-9_]+),.*" "\\2" suite "${line}")
      list(APPEND suites ${suite})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  foreach(suite ${suites})
    add_test(NAME ${name}.${suite} COMMAND ${name} --gtest_filter=${suite}.*)
    set_tests_properties(${name}.${suite} PROPERTIES
      LABELS e2e TIMEOUT ${ARG_TIMEOUT} RUN_SERIAL TRUE
      SKIP_REGULAR_EXPRESSION "meshd e2e: skipped"
      ENVIRONMENT "MESHD_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
  endforeach()
endfunction()

# meshd_fuzz_target(NAME SOURCE [LIBS ...]): with MESHD_FUZZ a libFuzzer binary run briefly by CTest
# (seeded from test/fuzz/corpus/NAME); otherwise the same target replays the corpus, so it is
# compiled and exercised by every build.
set(MESHD_FUZZ_SECONDS 20 CACHE STRING "How long CTest runs each fuzz target")
function(meshd_fuzz_target name source)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/test/fuzz/corpus/${name})
  if(MESHD_FUZZ)
    add_executable(${name} ${source})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set(scratch ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME fuzz.${name}
             COMMAND ${name} -max_total_time=${MESHD_FUZZ_SECONDS} -rss_limit_mb=2048
                     -print_final_stats=1 ${scratch} ${corpus})
  else()
    add_executable(${name} ${source} ${PROJECT_SOURCE_DIR}/test/fuzz/replay_main.cc)
    add_test(NAME fuzz.${name} COMMAND ${name} ${corpus})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  meshd_warnings(${name})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()
