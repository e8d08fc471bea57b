# ctest changelog_version: the newest section of CHANGELOG.md and of packaging/changelog (the
# Debian changelog the packages carry) is the project's version, and CHANGELOG.md's is dated.
# Usage: cmake -DSOURCE_DIR=... -DVERSION=... -P check_changelog.cmake
file(STRINGS "${SOURCE_DIR}/CHANGELOG.md" headings REGEX "^## ")
list(GET headings 0 newest)
if(NOT newest MATCHES "^## ([0-9]+\\.[0-9]+\\.[0-9]+) \\(([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9])\\)$")
  message(FATAL_ERROR "CHANGELOG.md: the newest section is \"${newest}\", not \"## X.Y.Z (YYYY-MM-DD)\"")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "CHANGELOG.md: the newest section is ${CMAKE_MATCH_1}, the project is ${VERSION}")
endif()
file(STRINGS "${SOURCE_DIR}/packaging/changelog" debian LIMIT_COUNT 1)
if(NOT debian MATCHES "^opsmeter \\(([^)]+)\\) ")
  message(FATAL_ERROR "packaging/changelog: \"${debian}\" is not a Debian changelog entry")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
  message(FATAL_ERROR "packaging/changelog: the newest entry is ${CMAKE_MATCH_1}, the project is ${VERSION}")
endif()
message(STATUS "CHANGELOG.md and packaging/changelog are at ${VERSION}")
