# ctest changelog_version: the newest section of CHANGELOG.md and of packaging/changelog (the
# Debian changelog the packages carry) is the project's version, and CHANGELOG.md's is dated.
# Usage: cmake -DSOURCE_DIR=... -DVERSION=... -P check_changelog.cmake

# The first line of `file` matching `line_regex`, whose first group must be the version.
function(expect_newest_version file line_regex shape)
  file(STRINGS "${SOURCE_DIR}/${file}" lines REGEX "${line_regex}" LIMIT_COUNT 1)
  if(NOT lines MATCHES "${line_regex}")
    message(FATAL_ERROR "${file}: no entry of the shape ${shape}")
  endif()
  if(NOT CMAKE_MATCH_1 STREQUAL VERSION)
    message(FATAL_ERROR "${file}: the newest entry is ${CMAKE_MATCH_1}, the project is ${VERSION}")
  endif()
endfunction()

file(STRINGS "${SOURCE_DIR}/CHANGELOG.md" headings REGEX "^## ")
list(GET headings 0 newest)
if(NOT newest MATCHES "^## [0-9]+\\.[0-9]+\\.[0-9]+ \\([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\\)$")
  message(FATAL_ERROR "CHANGELOG.md: the newest section is \"${newest}\", not \"## X.Y.Z (YYYY-MM-DD)\"")
endif()
expect_newest_version(CHANGELOG.md "^## ([0-9]+\\.[0-9]+\\.[0-9]+) " "## X.Y.Z (YYYY-MM-DD)")
expect_newest_version(packaging/changelog "^opsmeter \\(([^)]+)\\) " "opsmeter (X.Y.Z) ...")
message(STATUS "CHANGELOG.md and packaging/changelog are at ${VERSION}")
