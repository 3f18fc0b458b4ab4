# llhttp, the HTTP/1 parser used by Node.js: Debian's node-llhttp ships its generated C sources
# (/usr/share/llhttp) and header (/usr/share/include/llhttp) but no library, so build a small
# static one from them.
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp NO_DEFAULT_PATH)
find_path(LLHTTP_SOURCE_DIR llhttp.c PATHS /usr/share/llhttp NO_DEFAULT_PATH)
if(NOT LLHTTP_INCLUDE_DIR OR NOT LLHTTP_SOURCE_DIR)
  message(FATAL_ERROR "llhttp sources not found: run scripts/setup.sh (Debian package node-llhttp)")
endif()
add_library(llhttp STATIC ${LLHTTP_SOURCE_DIR}/llhttp.c ${LLHTTP_SOURCE_DIR}/api.c
                          ${LLHTTP_SOURCE_DIR}/http.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
set_target_properties(llhttp PROPERTIES C_STANDARD 99)
# Strict mode: CRLF line endings only, no lenient whitespace; the proxy must not guess framing.
target_compile_definitions(llhttp PRIVATE LLHTTP_STRICT_MODE=1)
