// The IPv4 sockets of this process, found through /proc/self/fd (Linux). The mock server's
// sockets are owned by cpp-httplib, which does not expose them, and tests count the sockets
// their client holds; both look them up here.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>

namespace opsmeter::testing::detail {

enum class PortOf { kLocal, kPeer };

// Calls visit(fd) for each open IPv4 socket of this process whose local or peer port (as
// `which` says) is `port`, until visit returns true.
template <typename Visit>
void for_each_socket_on_port(int port, PortOf which, Visit visit) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    sockaddr_in address{};
    socklen_t length = sizeof address;
    const int found = which == PortOf::kLocal
                          ? getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length)
                          : getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length);
    if (found != 0 || address.sin_family != AF_INET || ntohs(address.sin_port) != port) continue;
    if (visit(fd)) break;
  }
  closedir(dir);
}

inline bool is_listening(int fd) {
  int listening = 0;
  socklen_t length = sizeof listening;
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening != 0;
}

}  // namespace opsmeter::testing::detail
