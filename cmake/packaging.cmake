# `cpack -G DEB` in a build directory makes two Debian packages from a static build:
#   libopsmeter-dev  headers, libopsmeter.a (and libopsmeter_testing.a), CMake and pkg-config
#                    files, docs; depends on the -dev packages a static link needs
#   opsmeter-tools   the opsmeter and opsmeter-mock-server programs; their library
#                    dependencies are computed by dpkg-shlibdeps
# A shared build is not packaged (it would need a runtime library package of its own).
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
Headers, the static library, CMake package files (find_package(opsmeter)) and a pkg-config\n\
module. The optional `testing` component also needs libcpp-httplib-dev.")
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
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps sees the symbols used; the SDK also needs libcurl's behaviour since 7.87.
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libcurl4 (>= 7.87)")

include(CPack)
