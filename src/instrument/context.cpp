// Thread-local attribution context with field-by-field merging.
#include "opsmeter/context.hpp"

#include <algorithm>

#include "base/text.hpp"
#include "instrument/call_scope_access.hpp"

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
  take_if_set(base.feature, inner.feature);
  take_if_set(base.endpoint, inner.endpoint);
  take_if_set(base.data_mode, inner.data_mode);
  take_if_set(base.environment, inner.environment);
  take_if_set(base.trace, inner.trace);
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

std::optional<TraceIds> parse_traceparent(std::string_view header) noexcept {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  header = detail::trim(header);
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  const std::string_view version = header.substr(0, 2);
  const auto hex = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  };
  if (!hex(version) || version == "ff" || !hex(header.substr(53, 2))) return std::nullopt;
  // Version 00 has exactly these fields; a later one may add more after a '-'.
  if (header.size() > 55 && (version == "00" || header[55] != '-')) return std::nullopt;
  const std::string_view trace_id = header.substr(3, 32);
  const std::string_view span_id = header.substr(36, 16);
  if (!detail::is_trace_hex(trace_id, 32) || !detail::is_trace_hex(span_id, 16)) return std::nullopt;
  try {
    return TraceIds{std::string(trace_id), std::string(span_id)};
  } catch (...) {
    return std::nullopt;
  }
}

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
