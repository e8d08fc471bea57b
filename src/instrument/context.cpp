// Thread-local attribution context with field-by-field merging.
#include "opsmeter/context.hpp"

#include "instrument/call_scope_access.hpp"

#include <algorithm>

namespace opsmeter {
namespace {

thread_local Context t_current;

template <typename T>
void take_if_set(std::optional<T>& into, const std::optional<T>& from) {
  if (from) into = from;
}

// Overlays `inner` on `base`: set fields win, unset ones leave the base value alone.
void merge_into(Context& base, const Context& inner) {
  take_if_set(base.endpoint_tag, inner.endpoint_tag);
  take_if_set(base.prompt_version, inner.prompt_version);
  take_if_set(base.user_id, inner.user_id);
  take_if_set(base.tenant_id, inner.tenant_id);
  take_if_set(base.data_mode, inner.data_mode);
  take_if_set(base.environment, inner.environment);
  for (const auto& item : inner.metadata) {
    auto it = std::find_if(base.metadata.begin(), base.metadata.end(),
                           [&](const auto& entry) { return entry.first == item.first; });
    if (it == base.metadata.end()) {
      base.metadata.push_back(item);
    } else {
      it->second = item.second;
    }
  }
}

}  // namespace

namespace detail {
const Context& current_context_ref() noexcept { return t_current; }
}  // namespace detail

Context current_context() noexcept {
  try {
    return t_current;
  } catch (...) {
    return Context{};
  }
}

ContextGuard::ContextGuard(const Context& context) noexcept {
  try {
    Context merged = t_current;
    merge_into(merged, context);
    previous_ = std::move(t_current);
    t_current = std::move(merged);
    applied_ = true;
  } catch (...) {
    applied_ = false;
  }
}

ContextGuard::~ContextGuard() {
  if (applied_) t_current = std::move(previous_);
}

}  // namespace opsmeter
