// Response parsing: any field may be missing or of another type, and none of that is an error.
//
// Read with nlohmann's SAX interface rather than into a document: every answer is read (a free
// plan's freeLimitRemainingRequests changes with each one, so the bodies never repeat), and a
// document costs an allocation per member and per string, most of them for members the posture
// does not keep. The result is what reading the document would give, member by member: the
// last of duplicate members wins, a wrongly typed or null value leaves its field empty, and
// only members of the top-level object count.
#include "delivery/posture.hpp"

#include <nlohmann/json.hpp>

namespace opsmeter::detail {
namespace {

using nlohmann::json;

class PostureReader {
 public:
  IngestPosture posture;
  bool object = false;  // the body is a JSON object

  bool null() { return true; }  // a null member leaves its field empty (see member())
  bool boolean(bool value) {
    if (at_member() && bool_field_) *bool_field_ = value;
    return true;
  }
  bool number_integer(json::number_integer_t value) {
    if (at_member() && int_field_) *int_field_ = value;
    return true;
  }
  bool number_unsigned(json::number_unsigned_t value) {
    // As a document's get<std::int64_t>() gives it.
    if (at_member() && int_field_) *int_field_ = static_cast<std::int64_t>(value);
    return true;
  }
  bool number_float(json::number_float_t value, const json::string_t&) {
    // A float where an integer is expected is taken when it fits.
    if (at_member() && int_field_ && value >= -9.2e18 && value <= 9.2e18) {
      *int_field_ = static_cast<std::int64_t>(value);
    }
    return true;
  }
  bool string(json::string_t& value) {
    if (at_member() && text_field_) *text_field_ = std::move(value);
    if (depth_ == 2 && in_warnings_) posture.warnings.push_back(std::move(value));
    return true;
  }
  bool binary(json::binary_t&) { return true; }

  bool start_object(std::size_t) {
    if (depth_ == 0) object = true;
    ++depth_;
    return true;
  }
  bool end_object() { return leave(); }
  bool start_array(std::size_t) {
    if (at_member() && warnings_member_) in_warnings_ = true;
    ++depth_;
    return true;
  }
  bool end_array() { return leave(); }

  bool key(json::string_t& name) {
    if (depth_ != 1) return true;
    member(name);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  // A value of a top-level member is next.
  bool at_member() const noexcept { return depth_ == 1; }

  // A new top-level member: its field starts empty again (the last duplicate wins, and a value
  // of the wrong type leaves it empty), and the next value is read into it if its type fits.
  void member(const std::string& name) {
    warnings_member_ = name == "warnings";
    bool_field_ = nullptr;
    int_field_ = nullptr;
    text_field_ = nullptr;
    if (name == "ok") {
      bool_field_ = &posture.ok;
    } else if (name == "reason") {
      text_field_ = &posture.reason;
    } else if (name == "telemetryPaused") {
      bool_field_ = &posture.telemetry_paused;
    } else if (name == "providerCallsContinue") {
      bool_field_ = &posture.provider_calls_continue;
    } else if (name == "isPlanLimitReached") {
      bool_field_ = &posture.is_plan_limit_reached;
    } else if (name == "budgetWarning") {
      bool_field_ = &posture.budget_warning;
    } else if (name == "budgetExceeded") {
      bool_field_ = &posture.budget_exceeded;
    } else if (name == "planTier") {
      text_field_ = &posture.plan_tier;
    } else if (name == "planLimitRequests") {
      int_field_ = &posture.plan_limit_requests;
    } else if (name == "freeLimitRemainingRequests") {
      int_field_ = &posture.free_limit_remaining_requests;
    } else if (warnings_member_) {
      posture.warnings.clear();
    }
    if (bool_field_) bool_field_->reset();
    if (int_field_) int_field_->reset();
    if (text_field_) text_field_->clear();
  }

  bool leave() noexcept {
    --depth_;
    if (depth_ <= 1) in_warnings_ = false;
    return true;
  }

  int depth_ = 0;  // 1 inside the top-level object
  bool warnings_member_ = false;  // the current top-level member is "warnings"
  std::optional<bool>* bool_field_ = nullptr;
  std::optional<std::int64_t>* int_field_ = nullptr;
  std::string* text_field_ = nullptr;
  bool in_warnings_ = false;  // inside the top-level "warnings" array
};

}  // namespace

std::optional<IngestPosture> parse_posture(std::string_view body) noexcept {
  try {
    PostureReader reader;
    if (!json::sax_parse(body.begin(), body.end(), &reader) || !reader.object) return std::nullopt;
    return std::move(reader.posture);
  } catch (...) {  // allocation failure; a malformed body makes sax_parse return false
    return std::nullopt;
  }
}

}  // namespace opsmeter::detail
