// The mock ingest server's route handlers: the ingest endpoint with its faults and contract
// checks, and the workspace status (see mock_server_impl.hpp). The fake provider is in
// mock_provider.cpp.
#include "testing/mock_server_impl.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace opsmeter::testing {

using namespace mock;

void MockIngestServer::Impl::ingest(const httplib::Request& req, httplib::Response& res) {
  const json doc = json::parse(req.body, nullptr, false);
  std::string id;
  if (doc.is_object() && doc.contains("externalRequestId") && doc["externalRequestId"].is_string()) {
    id = doc["externalRequestId"].get<std::string>();
  }
  const std::size_t index = log_request(req, id);
  if (!authorized(req, res)) return answered(index, res.status);

  if (!take_rate_token()) {  // the per-key rate limit: 429, Retry-After: 1
    res.status = 429;
    res.set_header("Retry-After", "1");
    res.set_content(error_body("rate_limited"), kJson);
    return answered(index, 429);
  }
  const std::optional<Fault> fault = draw_fault();
  if (fault && apply_fault(*fault, req, res, index)) return;

  const std::string problem = validate_payload(doc);
  if (!problem.empty()) {
    res.status = 400;
    res.set_content(error_body("invalid_payload", problem), kJson);
    return answered(index, 400);
  }
  store(doc, req.body, res, index, fault && fault->kind == Fault::Kind::kGarbageBody);
}

bool MockIngestServer::Impl::apply_fault(const Fault& fault, const httplib::Request& req, httplib::Response& res,
                 std::size_t index) {
  switch (fault.kind) {
    case Fault::Kind::kStatus:
      res.status = fault.status;
      if (!fault.location.empty()) res.set_header("Location", fault.location);
      res.set_content(error_body("injected_fault"), kJson);
      answered(index, fault.status);
      return true;
    case Fault::Kind::kThrottle:
      res.status = 429;
      if (!fault.retry_after.empty()) res.set_header("Retry-After", fault.retry_after);
      res.set_content(error_body("rate_limited"), kJson);
      answered(index, 429);
      return true;
    case Fault::Kind::kDelay:
      hold(std::chrono::steady_clock::now() + fault.delay);
      return false;  // then answer normally
    case Fault::Kind::kReset:
      reset_connection(port_, req.remote_port);
      answered(index, 0);
      return true;
    case Fault::Kind::kNeverAnswer:
      answered(index, 0);
      hold(std::chrono::steady_clock::now() + std::chrono::hours(24));
      reset_connection(port_, req.remote_port);  // released: drop the connection, say nothing
      return true;
    case Fault::Kind::kGarbageBody:
      return false;  // stored normally, answered with a non-JSON body
  }
  return false;
}

void MockIngestServer::Impl::store(const json& doc, const std::string& body, httplib::Response& res, std::size_t index,
           bool garbage) {
  const std::string id = doc["externalRequestId"].get<std::string>();
  bool duplicate = false;
  bool over_limit = false;
  json answer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    duplicate = stored_ids_.count(id) == 1;
    over_limit = !duplicate && plan_limit_ >= 0 &&
                 static_cast<std::int64_t>(stored_.size()) >= plan_limit_;
    if (!duplicate && !over_limit) {
      stored_ids_.insert(id);
      stored_.push_back(body);
    }
    if (duplicate) ++duplicates_;
    answer = posture_locked(over_limit);
  }
  if (over_limit) {
    res.status = 402;
    res.set_content(answer.dump(), kJson);
    return answered(index, 402);
  }
  res.status = 200;
  if (garbage) {
    res.set_content("<html>upstream proxy says hello</html>", "text/html");
  } else {
    answer["duplicate"] = duplicate;
    res.set_content(answer.dump(), kJson);
  }
  answered(index, 200, duplicate);
}

json MockIngestServer::Impl::posture_locked(bool over_limit) const {
  if (over_limit) {
    return {{"ok", false},
            {"reason", "plan_limit_reached"},
            {"telemetryPaused", true},
            {"providerCallsContinue", true},
            {"isPlanLimitReached", true},
            {"planTier", options_.plan_tier}};
  }
  json body = {{"ok", true},
               {"planTier", options_.plan_tier},
               {"warnings", json::array()},
               {"telemetryPaused", false},
               {"providerCallsContinue", true},
               {"isPlanLimitReached", false},
               {"budgetWarning", budget_warning_},
               {"budgetExceeded", budget_exceeded_}};
  if (plan_limit_ >= 0) {
    body["planLimitRequests"] = plan_limit_;
    body["freeLimitRemainingRequests"] =
        std::max<std::int64_t>(0, plan_limit_ - static_cast<std::int64_t>(stored_.size()));
  }
  return body;
}

void MockIngestServer::Impl::workspace(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  std::lock_guard<std::mutex> lock(mu_);
  const auto used = static_cast<std::int64_t>(stored_.size());
  const bool limited = plan_limit_ >= 0 && used >= plan_limit_;
  const json body = {
      {"workspaceId", "ws_mock"},
      {"isPlanLimitReached", limited},
      {"telemetryPaused", limited},
      {"providerCallsContinue", true},
      {"isBudgetWarning", budget_warning_},
      {"isBudgetExceeded", budget_exceeded_},
      {"severity", budget_exceeded_ || limited ? "critical" : budget_warning_ ? "warning" : "normal"},
      {"plan",
       {{"planTier", options_.plan_tier},
        {"currentRequestCount", used},
        {"planRequestLimit", plan_limit_ >= 0 ? json(plan_limit_) : json(nullptr)},
        {"remainingRequestCount",
         plan_limit_ >= 0 ? json(std::max<std::int64_t>(0, plan_limit_ - used)) : json(nullptr)},
        {"isPlanLimitReached", limited},
        {"telemetryPaused", limited}}}};
  res.set_content(body.dump(), kJson);
}

}  // namespace opsmeter::testing
