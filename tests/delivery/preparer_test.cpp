// The record preparer alone: client-wide defaults, the userId policy and serialization, as a
// pure function of the options; and the PII detection and hashing it relies on.
#include "delivery/preparer.hpp"

#include <gtest/gtest.h>

#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"

namespace opsmeter::detail {
namespace {

LlmCallRecord record_with_user(std::optional<std::string> user_id) {
  LlmCallRecord r;
  r.external_request_id = "ext_preparer";
  r.provider = "openai";
  r.model = "gpt-4o-mini";
  r.endpoint_tag = "checkout.ai_summary";
  r.prompt_version = "summary_v3";
  r.user_id = std::move(user_id);
  return r;
}

struct Outcome {
  LlmCallRecord record;
  std::string body;
  Prepared result;
};

Outcome prepare(const Options& options, LlmCallRecord record) {
  Outcome p{std::move(record), {}, {}};
  p.result = RecordPreparer(options).prepare(p.record, p.body);
  return p;
}

TEST(Pii, DetectionAndHashing) {
  for (const char* pii :
       {"jane.doe@example.com", "a@b.io", "+1 (415) 555-0132", "4155550132", "020 7946 0958"}) {
    EXPECT_TRUE(looks_like_pii(pii)) << pii;
  }
  for (const char* ok :
       {"u_5f2a", "user-42", "12345", "a@b", "@example.com", "order 123456789", "ext_abc"}) {
    EXPECT_FALSE(looks_like_pii(ok)) << ok;
  }
  // HMAC-SHA256 keyed with the salt (vectors from Python's hmac module).
  EXPECT_EQ(hash_user_id("jane@example.com", "salt"),
            "a100ddb709a49d478230dc673238267a10448f7583d81fd97775cd71c9ee3a76");
  EXPECT_EQ(hash_user_id("jane@example.com", ""),
            "07f7fa094ff47bc238e79922dd8ef88c40f76e4dbb0af809c7f7f2d2c193ccbb");
  EXPECT_NE(hash_user_id("jane@example.com", "salt"), sha256_hex("saltjane@example.com"));
}

TEST(RecordPreparer, FillsEmptyTagsFromOptionsAndSerializesWithTheirDefaults) {
  Options o;
  o.endpoint_tag = "default.tag";
  o.prompt_version = "default_v1";
  o.data_mode = DataMode::kTest;
  o.environment = Environment::kStaging;
  LlmCallRecord r = record_with_user(std::nullopt);
  r.endpoint_tag.clear();
  r.prompt_version = "own_v2";
  const Outcome p = prepare(o, r);
  ASSERT_TRUE(p.result.ok);
  EXPECT_FALSE(p.result.user_id_hashed_as_pii);
  EXPECT_EQ(p.record.endpoint_tag, "default.tag");
  EXPECT_EQ(p.record.prompt_version, "own_v2");  // a record's own value wins
  EXPECT_EQ(p.body, to_json(p.record, SerializeDefaults{DataMode::kTest, Environment::kStaging}));
}

struct UserIdRow {
  UserIdPolicy policy;
  const char* salt;
  const char* user_id;
  enum Sent { kAsIs, kHashed, kNull } sent;
  bool flagged_as_pii;
};

class UserIdPolicyTable : public ::testing::TestWithParam<UserIdRow> {};

TEST_P(UserIdPolicyTable, Applies) {
  const UserIdRow& row = GetParam();
  Options o;
  o.user_id_policy = row.policy;
  o.user_id_salt = row.salt;
  const Outcome p = prepare(o, record_with_user(std::string(row.user_id)));
  ASSERT_TRUE(p.result.ok);
  switch (row.sent) {
    case UserIdRow::kAsIs:
      EXPECT_EQ(p.record.user_id, std::string(row.user_id));
      break;
    case UserIdRow::kHashed:
      EXPECT_EQ(p.record.user_id, hash_user_id(row.user_id, row.salt));
      break;
    case UserIdRow::kNull:
      EXPECT_EQ(p.record.user_id, std::nullopt);
      break;
  }
  EXPECT_EQ(p.result.user_id_hashed_as_pii, row.flagged_as_pii);
  EXPECT_EQ(p.result.user_id_dropped, row.sent == UserIdRow::kNull);
  // Only an as-is userId is ever on the wire in clear.
  EXPECT_EQ(p.body.find(row.user_id) != std::string::npos, row.sent == UserIdRow::kAsIs);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, UserIdPolicyTable,
    ::testing::Values(
        UserIdRow{UserIdPolicy::kHashIfPii, "pepper", "jane@example.com", UserIdRow::kHashed, true},
        UserIdRow{UserIdPolicy::kHashIfPii, "pepper", "+1 (415) 555-0132", UserIdRow::kHashed,
                  true},
        UserIdRow{UserIdPolicy::kHashIfPii, "pepper", "u_5f2a", UserIdRow::kAsIs, false},
        UserIdRow{UserIdPolicy::kHashIfPii, "", "jane@example.com", UserIdRow::kNull, false},
        UserIdRow{UserIdPolicy::kHashIfPii, "", "u_5f2a", UserIdRow::kAsIs, false},
        UserIdRow{UserIdPolicy::kHashAll, "pepper", "u_5f2a", UserIdRow::kHashed, false},
        UserIdRow{UserIdPolicy::kHashAll, "pepper", "jane@example.com", UserIdRow::kHashed, false},
        UserIdRow{UserIdPolicy::kHashAll, "", "u_5f2a", UserIdRow::kNull, false},
        UserIdRow{UserIdPolicy::kSendAsIs, "", "jane@example.com", UserIdRow::kAsIs, false}));

TEST(RecordPreparer, NoUserIdStaysAbsent) {
  Options o;
  o.user_id_policy = UserIdPolicy::kHashAll;
  const Outcome p = prepare(o, record_with_user(std::nullopt));
  ASSERT_TRUE(p.result.ok);
  EXPECT_FALSE(p.record.user_id.has_value());
  EXPECT_NE(p.body.find("\"userId\":null"), std::string::npos);  // the contract sends null
}

TEST(RecordedAt, Rfc3339InUtcWithMilliseconds) {
  const WallClock::time_point t = WallClock::from_time_t(784111777) + std::chrono::milliseconds(45);
  EXPECT_EQ(rfc3339_ms(t), "1994-11-06T08:49:37.045Z");
  EXPECT_EQ(rfc3339_ms(WallClock::from_time_t(0)), "1970-01-01T00:00:00.000Z");
}

TEST(RecordedAt, StampIsTheLastMetadataKeyOfAnOtherwiseEqualBody) {
  Outcome p = prepare(Options{}, record_with_user(std::nullopt));
  const std::string on_time = p.body;
  const WallClock::time_point t = WallClock::from_time_t(1764450000) + std::chrono::milliseconds(7);
  ASSERT_TRUE(stamp_recorded_at(p.body, t));
  const std::string stamp = ",\"recordedAt\":\"2025-11-29T21:00:00.007Z\"}}";
  ASSERT_GT(p.body.size(), stamp.size());
  EXPECT_EQ(p.body.substr(p.body.size() - stamp.size()), stamp);
  EXPECT_EQ(p.body.substr(0, on_time.size() - 2), on_time.substr(0, on_time.size() - 2));
  std::string not_ours = "{\"a\":1}";
  EXPECT_FALSE(stamp_recorded_at(not_ours, t));
  EXPECT_EQ(not_ours, "{\"a\":1}");
}

}  // namespace
}  // namespace opsmeter::detail
