# Strict warnings for our own code only; generated and third-party code is compiled without them.
function(meshd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast
                                           # designated initializers may leave members at their defaults
                                           -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12's flow analysis reports false positives inside inlined std::string and Asio code at
    # -O2 (GCC bugs 105329, 105651); clang builds keep -Wnull-dereference.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-stringop-overflow
                                             -Wno-restrict)
  else()
    target_compile_options(${target} PRIVATE -Wnull-dereference)
  endif()
endfunction()
