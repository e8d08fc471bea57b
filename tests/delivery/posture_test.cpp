// Lenient response parsing: absent and wrongly typed fields are ignored, non-JSON is nullopt.
#include <gtest/gtest.h>

#include "delivery/posture.hpp"
#include "../fuzz/posture_oracle.hpp"

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

// The reader gives what a whole document of the body gives, on the bodies where the two could
// part: duplicate members (the last wins, even when of the wrong type), members of nested
// objects with the posture's names, nested and mixed warnings, numbers of every kind.
TEST(Posture, ReadsWhatADocumentGives) {
  const char* bodies[] = {
      R"({"ok":true,"ok":false})",
      R"({"ok":true,"ok":"yes"})",
      R"({"ok":true,"ok":null})",
      R"({"reason":"a","reason":7})",
      R"({"planTier":"x","nested":{"planTier":"y","ok":true,"warnings":["no"]}})",
      R"({"warnings":["a",["b"],{"c":"d"},"e",null,1]})",
      R"({"warnings":["a"],"warnings":"b"})",
      R"({"warnings":["a"],"warnings":["b","c"]})",
      R"({"planLimitRequests":1e3,"freeLimitRemainingRequests":-5})",
      R"({"planLimitRequests":1e30,"freeLimitRemainingRequests":18446744073709551615})",
      R"({"planLimitRequests":2.9,"freeLimitRemainingRequests":-0.0})",
      R"({"x":[{"ok":true}],"ok":false,"y":{"z":{"reason":"deep"}},"reason":"top"})",
      R"({})",
      R"([{"ok":true}])",
      R"({"ok":true} trailing)",
      R"({"reason":"\u00e9\ud83d\ude00"})",
      "{\"reason\":\"\xff\"}",
  };
  for (const char* body : bodies) {
    EXPECT_TRUE(same_posture(parse_posture(body), posture_from_document(body))) << body;
  }
  const auto p = parse_posture(R"({"ok":true,"nested":{"ok":false},"warnings":["a",["b"],"c"],"ok":true})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ok, true);
  EXPECT_EQ(p->warnings, (std::vector<std::string>{"a", "c"}));
}

}  // namespace
}  // namespace opsmeter::detail
