# Applies MESHD_SANITIZE (and libFuzzer instrumentation) to every target of the build, generated
# code included, so that instrumented and uninstrumented code never mix.
if(MESHD_SANITIZE)
  add_compile_options(-fsanitize=${MESHD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${MESHD_SANITIZE})
endif()

if(MESHD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MESHD_FUZZ needs clang (libFuzzer); configure with the 'debug' preset")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
