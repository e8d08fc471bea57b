// Lenient reads of one member of a JSON object from the ingest API (a response's posture, the
// workspace status): absent, null or wrongly typed members leave `out` as it was.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>

namespace opsmeter::detail {

// T is bool, std::string, double or std::int64_t; a float where an integer is expected is
// taken when it fits.
template <typename T>
void read_field(const nlohmann::json& object, const char* key, std::optional<T>& out) {
  if (!object.is_object()) return;
  const auto it = object.find(key);
  if (it == object.end()) return;
  if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) out = it->template get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) out = it->template get<std::string>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (it->is_number()) out = it->template get<double>();
  } else {
    static_assert(std::is_same_v<T, std::int64_t>, "bool, std::string, double or std::int64_t");
    if (it->is_number_integer()) {
      out = it->template get<std::int64_t>();
    } else if (it->is_number_float()) {
      const double value = it->template get<double>();
      if (value >= -9.2e18 && value <= 9.2e18) out = static_cast<std::int64_t>(value);
    }
  }
}

// The same for a string member kept as a plain string ("" when absent).
inline void read_field(const nlohmann::json& object, const char* key, std::string& out) {
  std::optional<std::string> value;
  read_field(object, key, value);
  if (value) out = std::move(*value);
}

}  // namespace opsmeter::detail
