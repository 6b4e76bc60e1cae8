# find_package(socketcore <request>) against the installed package: which requests it accepts
# and which it refuses (CMake's SameMajorVersion rules, README "Install and use"), and that the
# CMake and pkg-config files carry the installed header's SOCKETCORE_VERSION (the header's is
# Cargo.toml's: tests/header.rs). CTest cmake.version_requests runs
#   cmake -DPACKAGE_DIR=<dir of socketcoreConfig.cmake> -DWORK=<scratch dir> -P this file
# Each request is one configure of an empty project (no compiler, a fraction of a second).
cmake_minimum_required(VERSION 3.19)

file(STRINGS "${PACKAGE_DIR}/../../../include/socketcore.h" _define
     REGEX "^#define SOCKETCORE_VERSION \"")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" version "${_define}")
if(NOT version MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
  message(FATAL_ERROR "no SOCKETCORE_VERSION in the installed header: '${_define}'")
endif()
set(M ${CMAKE_MATCH_1})
set(m ${CMAKE_MATCH_2})
set(p ${CMAKE_MATCH_3})
math(EXPR M1 "${M} + 1")
math(EXPR M2 "${M} + 2")
math(EXPR m1 "${m} + 1")
math(EXPR p1 "${p} + 1")

set(failures "")
foreach(pc socketcore socketcore-static)
  file(STRINGS "${PACKAGE_DIR}/../../pkgconfig/${pc}.pc" _line REGEX "^Version: ")
  if(NOT _line STREQUAL "Version: ${version}")
    list(APPEND failures "${pc}.pc says '${_line}', the header ${version}")
  endif()
endforeach()

# request|extra -D arguments  -> accepted (1) or refused (0)
set(cases
  "${M}||1"
  "${M}.${m}||1"
  "${M}.0||1"
  "${version}||1"
  "${version} EXACT||1"
  "${M}.0...<${M1}||1"
  "${M}.${m}...${version}||1"
  "${M}.${m1}||0"
  "${M}.${m}.${p1}||0"
  "${M1}.0||0"
  "${M}.${m1} EXACT||0"
  "${M}.0...<${M2}||0"
  "${M1}.0...${M2}.0||0"
  "${M}.0...<${version}||0"
  "${version}|-DCMAKE_SIZEOF_VOID_P=2|0")

set(i 0)
foreach(case IN LISTS cases)
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 request)
  list(GET parts 1 extra)
  list(GET parts 2 expected)
  math(EXPR i "${i} + 1")
  set(dir "${WORK}/${i}")
  file(REMOVE_RECURSE "${dir}")
  file(WRITE "${dir}/CMakeLists.txt"
    "cmake_minimum_required(VERSION 3.19)\nproject(request NONE)\n"
    "find_package(socketcore ${request} CONFIG REQUIRED PATHS \"${PACKAGE_DIR}\" NO_DEFAULT_PATH)\n"
    "if(NOT socketcore_VERSION STREQUAL \"${version}\")\n"
    "  message(FATAL_ERROR \"socketcore_VERSION \${socketcore_VERSION}\")\nendif()\n")
  separate_arguments(extra UNIX_COMMAND "${extra}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${dir}" -B "${dir}/build" ${extra}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    set(accepted 1)
  elseif(out MATCHES "considered but not accepted")
    set(accepted 0) # refused for its version (or pointer size), not for another error
  else()
    list(APPEND failures "find_package(socketcore ${request}) ${extra} failed:\n${out}")
    continue()
  endif()
  set(verdict "refused")
  if(accepted)
    set(verdict "accepted")
  endif()
  message(STATUS "find_package(socketcore ${request}) ${extra}: ${verdict}")
  if(NOT accepted EQUAL expected)
    list(APPEND failures "find_package(socketcore ${request}) ${extra}: ${verdict}\n${out}")
  endif()
endforeach()

if(failures)
  string(REPLACE ";" "\n" failures "${failures}")
  message(FATAL_ERROR "installed version ${version}:\n${failures}")
endif()
message(STATUS "installed version ${version}: every request answered as SameMajorVersion says")
