# Writes the CMake package and pkg-config files of an install prefix; scripts/install.sh runs
#   cmake -DLIBDIR=PREFIX/lib -DVERSION=X.Y.Z -DSTATIC_LIBS="..." -DSIZEOF_VOID_P=8 -P this
# socketcoreConfigVersion.cmake is CMake's own: write_basic_package_version_file with
# SameMajorVersion, so an installed 0.1.0 satisfies find_package(socketcore 0), 0.0, 0.1 and
# 0.1.0 EXACT, not 0.2, 0.1.1 or 1.0; a range must lie within major 0; a project built for
# another pointer size does not find it (c-tests/version_requests.cmake checks these). The other
# files are cmake/*.in with their @VARIABLES@ filled in.
cmake_minimum_required(VERSION 3.18)
include(CMakePackageConfigHelpers)

foreach(var LIBDIR VERSION STATIC_LIBS SIZEOF_VOID_P)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "package-files.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REGEX MATCH "^[0-9]+" MAJOR "${VERSION}")
set(dir "${LIBDIR}/cmake/socketcore")

# Script mode has no compiler: the pointer size the library was built for is given.
set(CMAKE_SIZEOF_VOID_P "${SIZEOF_VOID_P}")
write_basic_package_version_file("${dir}/socketcoreConfigVersion.cmake"
  VERSION "${VERSION}" COMPATIBILITY SameMajorVersion)

configure_file("${CMAKE_CURRENT_LIST_DIR}/socketcoreConfig.cmake.in"
               "${dir}/socketcoreConfig.cmake" @ONLY)
configure_file("${CMAKE_CURRENT_LIST_DIR}/socketcore.pc.in"
               "${LIBDIR}/pkgconfig/socketcore.pc" @ONLY)
configure_file("${CMAKE_CURRENT_LIST_DIR}/socketcore-static.pc.in"
               "${LIBDIR}/pkgconfig/socketcore-static.pc" @ONLY)
