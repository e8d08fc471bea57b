// Scoped context: nested guards merge field by field and restore; capture crosses threads.
#include "opsmeter/context.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <thread>

namespace opsmeter {
namespace {

TEST(Context, NestedGuardsMergeAndRestore) {
  EXPECT_FALSE(current_context().endpoint_tag.has_value());
  {
    Context outer;
    outer.endpoint_tag = "checkout.ai_summary";
    outer.prompt_version = "summary_v3";
    outer.tenant_id = "tenant-1";
    outer.metadata = {{"region", std::string("eu")}, {"tier", std::string("gold")}};
    ContextGuard g1(outer);
    {
      Context inner;
      inner.prompt_version = "summary_v4";  // overrides only this field
      inner.metadata = {{"tier", std::string("platinum")}, {"ab", true}};
      ContextGuard g2(inner);
      const Context c = current_context();
      EXPECT_EQ(c.endpoint_tag, "checkout.ai_summary");  // an unset field never erases
      EXPECT_EQ(c.prompt_version, "summary_v4");
      EXPECT_EQ(c.tenant_id, "tenant-1");
      ASSERT_EQ(c.metadata.size(), 3u);
      EXPECT_EQ(std::get<std::string>(c.metadata[0].second), "eu");
      EXPECT_EQ(std::get<std::string>(c.metadata[1].second), "platinum");
      EXPECT_EQ(std::get<bool>(c.metadata[2].second), true);
    }
    const Context c = current_context();
    EXPECT_EQ(c.prompt_version, "summary_v3");
    EXPECT_EQ(std::get<std::string>(c.metadata[1].second), "gold");
  }
  EXPECT_FALSE(current_context().endpoint_tag.has_value());
  EXPECT_TRUE(current_context().metadata.empty());
}

TEST(Context, DoesNotCrossThreadsUnlessCapturedAndReapplied) {
  Context ctx;
  ctx.endpoint_tag = "support.reply";
  ctx.user_id = "u_1";
  ContextGuard guard(ctx);
  std::optional<std::string> seen_plain, seen_reapplied;
  const Context captured = current_context();
  std::thread([&] {
    seen_plain = current_context().endpoint_tag;
    ContextGuard g(captured);
    seen_reapplied = current_context().endpoint_tag;
  }).join();
  EXPECT_FALSE(seen_plain.has_value());
  EXPECT_EQ(seen_reapplied, "support.reply");
}

struct TraceparentRow {
  const char* header;
  const char* trace_id;  // "" when it must not parse
  const char* span_id;
};

void PrintTo(const TraceparentRow& row, std::ostream* os) { *os << '"' << row.header << '"'; }

class TraceparentTable : public ::testing::TestWithParam<TraceparentRow> {};

TEST_P(TraceparentTable, Parses) {
  const TraceparentRow& row = GetParam();
  const std::optional<TraceIds> ids = parse_traceparent(row.header);
  if (*row.trace_id == '\0') {
    EXPECT_FALSE(ids.has_value());
    return;
  }
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(ids->trace_id, row.trace_id);
  EXPECT_EQ(ids->span_id, row.span_id);
}

// The W3C Trace Context examples, and each way a header can be wrong.
INSTANTIATE_TEST_SUITE_P(
    W3c, TraceparentTable,
    ::testing::Values(
        TraceparentRow{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                       "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
        TraceparentRow{" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ",
                       "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
        TraceparentRow{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
                       "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
        TraceparentRow{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "", ""},
        TraceparentRow{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", ""},
        TraceparentRow{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "", ""},
        TraceparentRow{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "", ""},
        TraceparentRow{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", ""},
        TraceparentRow{"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "", ""},
        TraceparentRow{"00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", "", ""},
        TraceparentRow{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz", "", ""},
        TraceparentRow{"", "", ""}));

}  // namespace
}  // namespace opsmeter
