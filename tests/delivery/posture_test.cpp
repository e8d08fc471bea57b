// Lenient response parsing: absent and wrongly typed fields are ignored, non-JSON is nullopt.
#include <gtest/gtest.h>

#include "delivery/posture.hpp"

namespace opsmeter::detail {
namespace {

TEST(Posture, FullSuccessBody) {
  const auto p = parse_posture(
      R"({"ok":true,"planTier":"Starter","warnings":["near limit",3],"budgetWarning":true,)"
      R"("budgetExceeded":false,"telemetryPaused":false,"providerCallsContinue":true,)"
      R"("isPlanLimitReached":false,"planLimitRequests":100000,"freeLimitRemainingRequests":1769.0,)"
      R"("somethingNew":{"x":1}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ok, true);
  EXPECT_EQ(p->plan_tier, "Starter");
  EXPECT_EQ(p->warnings, std::vector<std::string>{"near limit"});
  EXPECT_EQ(p->budget_warning, true);
  EXPECT_EQ(p->budget_exceeded, false);
  EXPECT_EQ(p->plan_limit_requests, 100000);
  EXPECT_EQ(p->free_limit_remaining_requests, 1769);
}

TEST(Posture, PlanLimitBody) {
  const auto p = parse_posture(
      R"({"ok":false,"reason":"plan_limit_reached","telemetryPaused":true,)"
      R"("providerCallsContinue":true,"isPlanLimitReached":true})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->reason, "plan_limit_reached");
  EXPECT_EQ(p->telemetry_paused, true);
  EXPECT_EQ(p->is_plan_limit_reached, true);
}

TEST(Posture, WrongTypesAreIgnored) {
  const auto p = parse_posture(R"({"ok":"yes","planTier":7,"warnings":"x","planLimitRequests":"1"})");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->ok.has_value());
  EXPECT_TRUE(p->plan_tier.empty());
  EXPECT_TRUE(p->warnings.empty());
  EXPECT_FALSE(p->plan_limit_requests.has_value());
}

TEST(Posture, NonObjectsGiveNothing) {
  for (const char* body : {"", "<html>", "[1,2]", "\"ok\"", "{\"ok\":tru", "null"}) {
    EXPECT_FALSE(parse_posture(body).has_value()) << body;
  }
}

}  // namespace
}  // namespace opsmeter::detail
