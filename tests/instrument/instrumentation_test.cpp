// Instrumentation over loopback: the RAII scope, context, PII policy, dry run and the fake
// provider endpoint, asserted on what the mock server stored.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "capture.hpp"
#include "opsmeter/opsmeter.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class Instrumentation : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << server_.last_error(); }

  Options options() {
    Options o;
    o.api_key = "test-key";
    o.base_url = server_.base_url();
    o.timeout = 5s;  // no spurious timeouts (and retries) under sanitizers on a loaded machine
    o.on_log = [this](LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.emplace_back(line);
    };
    return o;
  }

  std::vector<json> stored() {
    std::vector<json> out;
    for (const auto& body : server_.stored_bodies()) out.push_back(json::parse(body));
    return out;
  }

  testing::MockIngestServer server_;
  std::mutex mu_;
  std::vector<std::string> logs_;
};

struct ProviderFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST_F(Instrumentation, ScopeMeasuresAndRecordsWithContextAndUsage) {
  Client client = test::make_client(options());
  Context ctx;
  ctx.endpoint_tag = "support.reply";
  ctx.prompt_version = "support_reply_v2";
  ctx.tenant_id = "tenant-9";
  ctx.metadata = {{"region", std::string("eu")}};
  std::string id;
  {
    ContextGuard guard(ctx);
    CallOptions how;
    how.operation = "chat.completions";
    how.prompt_version = "support_reply_v3";  // explicit beats context
    CallScope call = client.start_call("openai", "gpt-4o-mini", how);
    id = call.id();
    call.set_response(extract_openai_chat(
        R"({"id":"chatcmpl-1","model":"gpt-4o-mini-2024-07-18","usage":{"prompt_tokens":50,)"
        R"("completion_tokens":20,"total_tokens":70,"prompt_tokens_details":{"cached_tokens":32}}})"));
  }
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const auto rows = stored();
  ASSERT_EQ(rows.size(), 1u);
  const json& r = rows[0];
  EXPECT_EQ(r["externalRequestId"], id);
  EXPECT_EQ(r["model"], "gpt-4o-mini-2024-07-18");  // the answering model
  EXPECT_EQ(r["endpointTag"], "support.reply");
  EXPECT_EQ(r["promptVersion"], "support_reply_v3");
  EXPECT_EQ(r["inputTokens"], 50);
  EXPECT_EQ(r["outputTokens"], 20);
  EXPECT_EQ(r["totalTokens"], 70);
  EXPECT_EQ(r["status"], "success");
  EXPECT_GE(r["latencyMs"].get<std::int64_t>(), 0);
  EXPECT_EQ(r["metadata"]["tenantId"], "tenant-9");
  EXPECT_EQ(r["metadata"]["operation"], "chat.completions");
  EXPECT_EQ(r["metadata"]["providerRequestId"], "chatcmpl-1");
  EXPECT_EQ(r["metadata"]["tokenSource"], "provider");
  EXPECT_EQ(r["metadata"]["cachedInputTokens"], 32);
  EXPECT_EQ(r["metadata"]["region"], "eu");
}

// Trace correlation: a traceparent from the request being served, through the context or the
// call's options, goes out as metadata traceId/spanId; ids that are not trace context are left
// out and the call is still recorded.
TEST_F(Instrumentation, TraceIdsFromContextOrOptionsAreSent) {
  Client client = test::make_client(options());
  Context ctx;
  ctx.trace = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(ctx.trace.has_value());
  std::string from_context, from_options, invalid;
  {
    ContextGuard guard(ctx);
    CallScope a = client.start_call("openai", "gpt-4o-mini");
    from_context = a.id();
    CallOptions how;
    how.trace = TraceIds{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"};
    CallScope b = client.start_call("openai", "gpt-4o-mini", how);
    from_options = b.id();
    how.trace = TraceIds{"not-a-trace-id", "b7ad6b7169203331"};
    CallScope c = client.start_call("openai", "gpt-4o-mini", how);
    invalid = c.id();
  }
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  std::map<std::string, json> by_id;
  for (const json& r : stored()) by_id[r["externalRequestId"].get<std::string>()] = r;
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id[from_context]["metadata"]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(by_id[from_context]["metadata"]["spanId"], "00f067aa0ba902b7");
  EXPECT_EQ(by_id[from_options]["metadata"]["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(by_id[from_options]["metadata"]["spanId"], "b7ad6b7169203331");
  EXPECT_FALSE(by_id[invalid]["metadata"].contains("traceId"));
  EXPECT_FALSE(by_id[invalid]["metadata"].contains("spanId"));
}

TEST_F(Instrumentation, ScopeEndedByExceptionRecordsError) {
  Client client = test::make_client(options());
  std::string id;
  try {
    CallScope call = client.start_call("anthropic", "claude-3-5-sonnet-20241022");
    id = call.id();
    throw ProviderFailure("provider exploded");
  } catch (const ProviderFailure&) {
    // The host's exception reaches the host; the scope recorded the call on the way.
  }
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const auto rows = stored();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["externalRequestId"], id);
  EXPECT_EQ(rows[0]["status"], "error");
  EXPECT_EQ(rows[0]["errorCode"], "exception");
}

TEST_F(Instrumentation, FinishCancelMoveAndMarkedErrors) {
  Client client = test::make_client(options());
  {
    CallScope a = client.start_call("openai", "m");
    a.set_error("provider_timeout");
    EXPECT_TRUE(a.finish().queued());
    EXPECT_FALSE(a.active());
    EXPECT_FALSE(a.finish().queued());  // second finish records nothing
    CallScope b = client.start_call("openai", "m");
    b.cancel();
    CallScope c = client.start_call("openai", "m");
    CallScope d = std::move(c);  // only d records
  }
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const auto rows = stored();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(client.stats().recorded, 2u);
  int errors = 0;
  for (const json& r : rows)
    errors += r["errorCode"] == "provider_timeout" && r["status"] == "error";
  EXPECT_EQ(errors, 1);
}

// The retry loop itself, over real HTTP to the mock provider, is examples/retry_same_id (run
// by the examples test). Here: a scope's id handed to a later scope goes out with both records,
// so the server keeps one row.
TEST_F(Instrumentation, ReusedIdAcrossScopesSendsTheSameId) {
  Client client = test::make_client(options());
  CallScope first = client.start_call("openai", "gpt-4o-mini");
  const std::string id = first.id();
  first.set_error("provider_http_503");
  first.set_metadata("attempt", std::int64_t{1});
  first.finish();
  CallOptions same;
  same.external_request_id = id;
  CallScope second = client.start_call("openai", "gpt-4o-mini", same);
  EXPECT_EQ(second.id(), id);
  second.set_metadata("attempt", std::int64_t{2});
  second.finish();
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  // Two records, each sent once plus any transport retries, all with one id.
  EXPECT_EQ(server_.request_count(), 2u + client.stats().retried);
  EXPECT_EQ(client.stats().delivered, 2u);
  for (const auto& r : server_.requests()) EXPECT_EQ(r.external_request_id, id);
}

TEST_F(Instrumentation, EmailShapedUserIdNeverReachesServerInClearText) {
  Options o = options();
  o.user_id_salt = "pepper";
  Client client = test::make_client(o);
  Context ctx;
  ctx.user_id = "jane.doe@example.com";
  {
    ContextGuard guard(ctx);
    client.start_call("openai", "gpt-4o-mini").finish();
  }
  CallOptions phone;
  phone.user_id = "+1 (415) 555-0132";
  client.start_call("openai", "gpt-4o-mini", phone).finish();
  CallOptions plain;
  plain.user_id = "u_5f2a";
  client.start_call("openai", "gpt-4o-mini", plain).finish();
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  std::set<std::string> user_ids;
  for (const auto& request : server_.requests()) {
    EXPECT_EQ(request.body.find("jane.doe"), std::string::npos);
    EXPECT_EQ(request.body.find("555-0132"), std::string::npos);
    user_ids.insert(json::parse(request.body)["userId"].get<std::string>());
  }
  EXPECT_EQ(user_ids,
            (std::set<std::string>{hash_user_id("jane.doe@example.com", "pepper"),
                                   hash_user_id("+1 (415) 555-0132", "pepper"), "u_5f2a"}));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(std::count_if(logs_.begin(), logs_.end(),
                          [](const std::string& l) {
                            return l.find("looked like an email") != std::string::npos;
                          }),
            1);
}

TEST_F(Instrumentation, ClientDefaultsFillEmptyTags) {
  Options o = options();
  o.endpoint_tag = "batch.nightly";
  o.prompt_version = "p1";
  o.environment = Environment::kDev;
  o.data_mode = DataMode::kTest;
  Client client = test::make_client(o);
  client.start_call("openai", "m").finish();
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const json r = stored().at(0);
  EXPECT_EQ(r["endpointTag"], "batch.nightly");
  EXPECT_EQ(r["promptVersion"], "p1");
  EXPECT_EQ(r["environment"], "dev");
  EXPECT_EQ(r["dataMode"], "test");
}

// The official SDKs' fields: feature and endpoint from the context, overridden by the call's
// options; tenant and feature defaults from OPSMETER_TENANT_ID and OPSMETER_FEATURE_TAG for
// records that set neither; set_metadata() on a typed key sets that field and never costs the
// record.
TEST_F(Instrumentation, FeatureEndpointAndTenantFromContextOptionsAndEnvironment) {
  test::ScopedEnv tenant("OPSMETER_TENANT_ID", "acme");
  test::ScopedEnv feature("OPSMETER_FEATURE_TAG", "search");
  Options o = Options::from_environment(options());
  Client client = test::make_client(o);
  {
    Context ctx;
    ctx.feature = "checkout";
    ctx.endpoint = "/v1/summaries";
    ContextGuard guard(ctx);
    client.start_call("openai", "m").finish();
    CallOptions explicit_options;
    explicit_options.feature = "refunds";
    explicit_options.endpoint = "/v1/refunds";
    client.start_call("openai", "m", explicit_options).finish();
  }
  client.start_call("openai", "m").finish();  // neither: the client's defaults
  {
    CallScope call = client.start_call("openai", "m");
    call.set_metadata("feature", std::string("typed-by-key"));
    call.set_metadata("tokenSource", std::string("forged"));  // the SDK's own key: left out
    call.set_metadata("note", std::string("kept"));
    call.set_metadata("feature", std::int64_t{7});  // a typed key with a number: left out
    EXPECT_TRUE(call.finish().queued());
  }
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  ASSERT_EQ(stored().size(), 4u);
  std::map<std::string, json> by_feature;
  for (const json& r : stored()) by_feature[r["metadata"].value("feature", "")] = r;
  ASSERT_EQ(by_feature.count("checkout"), 1u);
  EXPECT_EQ(by_feature["checkout"]["metadata"]["endpoint"], "/v1/summaries");
  EXPECT_EQ(by_feature["checkout"]["metadata"]["tenantId"], "acme");
  ASSERT_EQ(by_feature.count("refunds"), 1u);
  EXPECT_EQ(by_feature["refunds"]["metadata"]["endpoint"], "/v1/refunds");
  ASSERT_EQ(by_feature.count("search"), 1u);
  EXPECT_EQ(by_feature["search"]["metadata"]["tenantId"], "acme");
  EXPECT_FALSE(by_feature["search"]["metadata"].contains("endpoint"));
  ASSERT_EQ(by_feature.count("typed-by-key"), 1u);
  EXPECT_EQ(by_feature["typed-by-key"]["metadata"]["note"], "kept");
  EXPECT_NE(by_feature["typed-by-key"]["metadata"].value("tokenSource", ""), "forged");
  // Each entry left out is named in the log, with why.
  std::lock_guard<std::mutex> lock(mu_);
  const auto logged = [&](std::string_view needle) {
    return std::count_if(logs_.begin(), logs_.end(),
                         [&](const std::string& line) { return line.find(needle) != std::string::npos; });
  };
  EXPECT_EQ(logged("metadata \"tokenSource\" left out (the SDK writes this key itself); the record is still sent"), 1);
  EXPECT_EQ(logged("metadata \"feature\" left out (this key takes a string value)"), 1);
}

TEST_F(Instrumentation, DryRunSendsNothingAndSaysSo) {
  Options o = options();
  o.dry_run = true;
  o.api_key.clear();  // a dry run needs no key
  o.log_level = LogLevel::kInfo;
  Client client = test::make_client(o);
  ASSERT_TRUE(client.status().enabled);
  client.start_call("openai", "gpt-4o-mini").finish();
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  EXPECT_EQ(server_.request_count(), 0u);
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kDryRun), 1u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped + s.pending());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(std::count_if(logs_.begin(), logs_.end(),
                          [](const std::string& l) {
                            return l.find("dry run, not sent: {\"externalRequestId\"") == 0;
                          }),
            1);
}

TEST_F(Instrumentation, DisabledByConfiguration) {
  Options o = options();
  o.enabled = false;
  Client client = test::make_client(o);
  EXPECT_FALSE(client.status().enabled);
  EXPECT_EQ(client.start_call("openai", "m").finish().reason, DropReason::kDisabled);
}

}  // namespace
}  // namespace opsmeter
