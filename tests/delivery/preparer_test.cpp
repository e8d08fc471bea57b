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
  EXPECT_EQ(hash_user_id("jane@example.com", ""), sha256_hex("jane@example.com"));
  EXPECT_EQ(hash_user_id("jane@example.com", "salt"), sha256_hex("saltjane@example.com"));
  EXPECT_EQ(hash_user_id("x", "s").size(), 64u);
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
  const char* user_id;
  bool hashed;
  bool flagged_as_pii;
};

class UserIdPolicyTable : public ::testing::TestWithParam<UserIdRow> {};

TEST_P(UserIdPolicyTable, Applies) {
  const UserIdRow& row = GetParam();
  Options o;
  o.user_id_policy = row.policy;
  o.user_id_salt = "pepper";
  const Outcome p = prepare(o, record_with_user(std::string(row.user_id)));
  ASSERT_TRUE(p.result.ok);
  ASSERT_TRUE(p.record.user_id.has_value());
  EXPECT_EQ(*p.record.user_id,
            row.hashed ? hash_user_id(row.user_id, "pepper") : std::string(row.user_id));
  EXPECT_EQ(p.result.user_id_hashed_as_pii, row.flagged_as_pii);
  EXPECT_EQ(p.body.find(row.user_id) == std::string::npos, row.hashed);  // never on the wire
}

INSTANTIATE_TEST_SUITE_P(
    Rows, UserIdPolicyTable,
    ::testing::Values(UserIdRow{UserIdPolicy::kHashIfPii, "jane@example.com", true, true},
                      UserIdRow{UserIdPolicy::kHashIfPii, "+1 (415) 555-0132", true, true},
                      UserIdRow{UserIdPolicy::kHashIfPii, "u_5f2a", false, false},
                      UserIdRow{UserIdPolicy::kHashAll, "u_5f2a", true, false},
                      UserIdRow{UserIdPolicy::kHashAll, "jane@example.com", true, false},
                      UserIdRow{UserIdPolicy::kSendAsIs, "jane@example.com", false, false}));

TEST(RecordPreparer, NoUserIdStaysAbsent) {
  Options o;
  o.user_id_policy = UserIdPolicy::kHashAll;
  const Outcome p = prepare(o, record_with_user(std::nullopt));
  ASSERT_TRUE(p.result.ok);
  EXPECT_FALSE(p.record.user_id.has_value());
  EXPECT_NE(p.body.find("\"userId\":null"), std::string::npos);  // the contract sends null
}

}  // namespace
}  // namespace opsmeter::detail
