# Envoy v3 API protos: stages the files listed in src/xds/protos.txt and their import closure from
# the pinned npm package @grpc/grpc-js-xds (never committed), fixes the package's known problems
# (docs/development.md, "Envoy protos"), and defines the generated sources for src/xds.
#
# Staging happens at configure time and rewrites a staged file only when its content changes, so
# protoc and the compiler run again only when the pin (package-lock.json) or protos.txt changes.
set(ENVOY_PROTO_PACKAGE_DIR ${PROJECT_SOURCE_DIR}/node_modules/@grpc/grpc-js-xds/deps)
set(ENVOY_PROTO_ROOTS_FILE ${PROJECT_SOURCE_DIR}/src/xds/protos.txt)
set(ENVOY_PROTO_STAGE_DIR ${CMAKE_BINARY_DIR}/envoy_protos/src)
set(ENVOY_PROTO_GEN_DIR ${CMAKE_BINARY_DIR}/envoy_protos/gen)
set(_envoy_proto_search_dirs envoy-api xds googleapis protoc-gen-validate)

if(NOT EXISTS ${ENVOY_PROTO_PACKAGE_DIR}/envoy-api)
  message(FATAL_ERROR "Envoy protos not found in ${ENVOY_PROTO_PACKAGE_DIR}: run scripts/setup.sh")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/package-lock.json ${ENVOY_PROTO_ROOTS_FILE})

# Where an imported file lives: a package directory, or "" for protobuf's own well-known types.
function(_envoy_proto_locate relpath out_var)
  foreach(dir ${_envoy_proto_search_dirs})
    if(EXISTS ${ENVOY_PROTO_PACKAGE_DIR}/${dir}/${relpath})
      set(${out_var} ${ENVOY_PROTO_PACKAGE_DIR}/${dir}/${relpath} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  if(relpath MATCHES "^google/protobuf/")
    set(${out_var} "" PARENT_SCOPE)
    return()
  endif()
  message(FATAL_ERROR "Envoy proto import not found in the npm package: ${relpath}")
endfunction()

# Trap 1: the package's validate.proto predates the `ignore_empty` rules newer Envoy files use.
# The field numbers are upstream's.
function(_envoy_proto_fix_validate content_var)
  set(content "${${content_var}}")
  if(content MATCHES "ignore_empty")
    return()
  endif()
  set(numeric Float Double Int32 Int64 UInt32 UInt64 SInt32 SInt64 Fixed32 Fixed64 SFixed32 SFixed64)
  foreach(kind ${numeric})
    list(APPEND rules "${kind}:8")
  endforeach()
  list(APPEND rules String:26 Bytes:14 Repeated:5 Map:6)
  foreach(rule ${rules})
    string(REPLACE ":" ";" parts ${rule})
    list(GET parts 0 kind)
    list(GET parts 1 number)
    string(REPLACE "message ${kind}Rules {"
                   "message ${kind}Rules {\n    optional bool ignore_empty = ${number};" content "${content}")
  endforeach()
  set(${content_var} "${content}" PARENT_SCOPE)
endfunction()

# Trap 2: a field named `requires` (a C++20 keyword protoc 3.21 does not escape). Same number and
# JSON name, so wire and JSON formats are unchanged.
function(_envoy_proto_fix_requires content_var)
  string(REGEX REPLACE "([ \n])requires = ([0-9]+);" "\\1requires_field = \\2 [json_name = \"requires\"];"
                       content "${${content_var}}")
  set(${content_var} "${content}" PARENT_SCOPE)
endfunction()

file(STRINGS ${ENVOY_PROTO_ROOTS_FILE} _envoy_proto_queue REGEX "^[^#]")
set(ENVOY_PROTO_FILES "")
set(ENVOY_PROTO_SERVICE_FILES "")
set(_envoy_proto_seen "")
while(_envoy_proto_queue)
  list(POP_FRONT _envoy_proto_queue relpath)
  string(STRIP "${relpath}" relpath)
  if(relpath STREQUAL "" OR relpath IN_LIST _envoy_proto_seen)
    continue()
  endif()
  list(APPEND _envoy_proto_seen ${relpath})
  _envoy_proto_locate(${relpath} source)
  if(source STREQUAL "")
    continue()
  endif()
  file(READ ${source} content)
  string(REPLACE "\r" "" content "${content}") # Trap 3: CRLF line endings.
  if(relpath STREQUAL "validate/validate.proto")
    _envoy_proto_fix_validate(content)
  elseif(relpath MATCHES "jwt_authn/")
    _envoy_proto_fix_requires(content)
  endif()
  string(REGEX MATCHALL "\nimport (public |weak )?\"[^\"]+\"" imports "${content}")
  foreach(import ${imports})
    string(REGEX REPLACE ".*\"([^\"]+)\"" "\\1" imported "${import}")
    list(APPEND _envoy_proto_queue ${imported})
  endforeach()
  set(staged ${ENVOY_PROTO_STAGE_DIR}/${relpath})
  file(WRITE ${staged}.tmp "${content}")
  file(COPY_FILE ${staged}.tmp ${staged} ONLY_IF_DIFFERENT)
  file(REMOVE ${staged}.tmp)
  list(APPEND ENVOY_PROTO_FILES ${relpath})
  if(content MATCHES "\nservice ")
    list(APPEND ENVOY_PROTO_SERVICE_FILES ${relpath})
  endif()
endwhile()
list(LENGTH ENVOY_PROTO_FILES _envoy_proto_count)
message(STATUS "Envoy protos: ${_envoy_proto_count} files in the import closure of src/xds/protos.txt")

# Generated C++ sources, listed so the build knows every output.
set(ENVOY_PROTO_SOURCES "")
set(ENVOY_PROTO_STAGED "")
foreach(relpath ${ENVOY_PROTO_FILES})
  string(REGEX REPLACE "\\.proto$" "" stem ${relpath})
  list(APPEND ENVOY_PROTO_SOURCES ${ENVOY_PROTO_GEN_DIR}/${stem}.pb.cc)
  list(APPEND ENVOY_PROTO_HEADERS ${ENVOY_PROTO_GEN_DIR}/${stem}.pb.h)
  list(APPEND ENVOY_PROTO_STAGED ${ENVOY_PROTO_STAGE_DIR}/${relpath})
endforeach()
foreach(relpath ${ENVOY_PROTO_SERVICE_FILES})
  string(REGEX REPLACE "\\.proto$" "" stem ${relpath})
  list(APPEND ENVOY_PROTO_SOURCES ${ENVOY_PROTO_GEN_DIR}/${stem}.grpc.pb.cc)
  list(APPEND ENVOY_PROTO_HEADERS ${ENVOY_PROTO_GEN_DIR}/${stem}.grpc.pb.h)
endforeach()

add_custom_command(
  OUTPUT ${ENVOY_PROTO_SOURCES} ${ENVOY_PROTO_HEADERS}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${ENVOY_PROTO_GEN_DIR}
  COMMAND protobuf::protoc -I${ENVOY_PROTO_STAGE_DIR} -I${Protobuf_INCLUDE_DIR}
          --cpp_out=${ENVOY_PROTO_GEN_DIR} ${ENVOY_PROTO_FILES}
  COMMAND protobuf::protoc -I${ENVOY_PROTO_STAGE_DIR} -I${Protobuf_INCLUDE_DIR}
          --grpc_out=${ENVOY_PROTO_GEN_DIR}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin> ${ENVOY_PROTO_SERVICE_FILES}
  WORKING_DIRECTORY ${ENVOY_PROTO_STAGE_DIR}
  DEPENDS ${ENVOY_PROTO_STAGED}
  COMMENT "Generating C++ for ${_envoy_proto_count} Envoy v3 protos"
  VERBATIM)
