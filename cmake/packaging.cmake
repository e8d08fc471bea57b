# `cpack -G DEB` in a build directory makes two Debian packages from a static build:
#   libopsmeter-dev  headers, libopsmeter.a (and libopsmeter_testing.a), CMake and pkg-config
#                    files, docs; depends on the -dev packages a static link needs
#   opsmeter-tools   the opsmeter and opsmeter-mock-server programs; their library
#                    dependencies are computed by dpkg-shlibdeps
# A shared build is not packaged (it would need a runtime library package of its own).
# Each package carries what Debian asks of it: a DEP-5 copyright file and changelog.gz in
# /usr/share/doc/<package>, man pages for its programs (help2man, from --help), stripped
# programs and the multiarch library directory (lintian: no errors; tests/consumer).
if(BUILD_SHARED_LIBS OR NOT PROJECT_IS_TOP_LEVEL)
  return()
endif()

set(CPACK_PACKAGE_NAME opsmeter)
set(CPACK_PACKAGE_VENDOR "Opsmeter")
set(CPACK_PACKAGE_CONTACT "Opsmeter <support@opsmeter.io>")
# Each package's first description line is its own summary (CPACK_DEBIAN_<C>_DESCRIPTION).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY IGNORE)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL dev tools)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libopsmeter-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "C++ client SDK for the Opsmeter.io LLM telemetry ingest API - development files\n\
Headers, the static library, CMake package files (find_package(opsmeter))\n\
and a pkg-config module. The optional `testing` component (the mock ingest\n\
server as a library) also needs libcpp-httplib-dev.")
# What a consumer's static link of libopsmeter needs: libcurl (7.87 or newer, for
# CURLOPT_QUICK_EXIT) and libcrypto.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libcurl4-openssl-dev (>= 7.87) | libcurl-dev, libssl-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "libcpp-httplib-dev, pkg-config, opsmeter-tools")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME opsmeter-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
  "Opsmeter.io command line tools\n\
opsmeter: doctor (the first-ingest checklist), status, send and validate.\n\
opsmeter-mock-server: a local mock of the ingest API for tests and demos.")
# Depends: dpkg-shlibdeps on the two programs, run by cpack (packaging/cpack_config.cmake.in),
# with libcurl4's bound raised to the 7.87 the SDK needs: libcurl4 named once.
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS OFF)
set(opsmeter_packaged_programs "")
foreach(program IN ITEMS opsmeter-cli opsmeter-mock-server)
  if(TARGET ${program})
    list(APPEND opsmeter_packaged_programs "$<TARGET_FILE:${program}>")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/packaging/cpack_config.cmake.in
  ${PROJECT_BINARY_DIR}/cpack_config.cmake.stage @ONLY)
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/cpack_config.cmake
  INPUT ${PROJECT_BINARY_DIR}/cpack_config.cmake.stage)
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/cpack_config.cmake)
# Installed programs are stripped in the packages (the build keeps its debug information).
set(CPACK_STRIP_FILES ON)

include(CPack)
