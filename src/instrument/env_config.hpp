// The one registry of OPSMETER_* environment variables. Options::from_environment() reads
// exactly these, and a test checks the README's table against this list.
#pragma once

#include <string_view>
#include <vector>

namespace opsmeter::detail {

struct EnvVariable {
  std::string_view name;
  std::string_view option;  // the Options field it fills
};

const std::vector<EnvVariable>& env_registry();

}  // namespace opsmeter::detail
