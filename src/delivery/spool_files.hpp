// The disk spool's files, for its writer and its reader: names, listings, private directories,
// files created locked (see spool.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opsmeter::detail::spool_files {

inline constexpr std::size_t kMaxListed = 100000;  // names kept from one listing

// A spool file's name, `<w|r>-<unix ms>-<rest>.jsonl`, where a writer's `<rest>` is its
// sequence number (8 digits, so that one writer's files of one millisecond sort in order) and
// 16 random hex digits (so that no two clients make the same name): its state and time.
struct FileName {
  std::string name;
  char state = 0;
  long long ms = 0;
};

std::optional<FileName> parse_name(const char* raw);
// The spool files in the directory `fd`, oldest first (by the time in the name, then name).
std::vector<FileName> list_files(int fd);
// 16 random hex digits.
std::string random_tag();
// A new name for a writer's file: `w-<ms>-<sequence, 8 digits>-<random tag>.jsonl`.
std::string writer_name(long long ms, std::uint64_t sequence);
// Why the directory `fd` is not private to this user, or empty when it is.
std::string not_private(int fd);
// Opens `name` in `dir_fd` for writing as a new file and locks it; -1 when it cannot be made
// (`error` EEXIST when the name is taken, or a reader locked it first: try another name).
int create_locked(int dir_fd, const std::string& name, int& error);
// Creates and locks a new file named by `next_name()`, trying another name while one is taken
// (at most 4 tries); the name used is left in `name`. -1 when none could be made.
template <typename NextName>
int create_new_locked(int dir_fd, NextName next_name, std::string& name, int& error) {
  int fd = -1;
  for (int attempt = 0; attempt < 4 && fd < 0; ++attempt) {
    name = next_name();
    fd = create_locked(dir_fd, name, error);
    if (fd < 0 && error != EEXIST) break;
  }
  return fd;
}
// The name a closed file is renamed to: its w- name as r-.
inline std::string ready_name(std::string name) {
  name[0] = 'r';
  return name;
}
// Writes all of `data`; false with `done` bytes written when a write fails.
bool write_all(int fd, std::string_view data, std::size_t& done);
std::uint64_t count_newlines(std::string_view data);

}  // namespace opsmeter::detail::spool_files
