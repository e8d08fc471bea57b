// The `opsmeter` program, run as a user runs it (a child process with its own environment),
// against the mock ingest server over loopback HTTP and HTTPS: each command's happy path and
// each set-up failure, checked by output and exit code.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "peers.hpp"
#include "tls_mock.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Env = std::map<std::string, std::string>;

struct CliRun {
  int exit_code = -1;  // -1: killed, or did not finish in time
  std::string out;
  std::string err;
  json parsed() const { return json::parse(out, nullptr, false); }
};

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `program` with exactly `env` (plus PATH), stdin from `input` (a file path).
CliRun run_program(const std::string& program, const std::vector<std::string>& args, const Env& env,
                   const std::string& input = "/dev/null") {
  const std::string dir = test::scratch_dir();
  std::string script = "exec env -i PATH=/usr/bin:/bin";
  for (const auto& [name, value] : env) script += " " + quoted(name + "=" + value);
  script += " " + quoted(program);
  for (const std::string& a : args) script += " " + quoted(a);
  script += " <" + quoted(input) + " >" + quoted(dir + "/out") + " 2>" + quoted(dir + "/err");
  CliRun run;
  const int status = test::run_to_exit({"/bin/sh", "-c", script}, dir + "/sh.log", 60s);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = test::read_file(dir + "/out");
  run.err = test::read_file(dir + "/err");
  return run;
}

CliRun run_cli(const std::vector<std::string>& args, const Env& env, const std::string& input = "/dev/null") {
  return run_program(OPSMETER_CLI, args, env, input);
}

Env env_for(const testing::MockIngestServer& server, const std::string& key = "test-key") {
  return {{"OPSMETER_API_KEY", key}, {"OPSMETER_API_BASE_URL", server.base_url()}};
}

std::string write_lines(const std::vector<std::string>& lines) {
  const std::string path = test::scratch_dir() + "/records.jsonl";
  std::ofstream out(path);
  for (const std::string& line : lines) out << line << "\n";
  return path;
}

std::string record_line(const std::string& id) {
  return R"({"externalRequestId":")" + id +
         R"(","provider":"openai","model":"gpt-4o-mini","inputTokens":10,"outputTokens":5,"latencyMs":120,"status":"success","dataMode":"test"})";
}

// name -> result ("pass", "fail", "skip") of doctor's JSON steps.
std::map<std::string, std::string> results(const json& doc) {
  std::map<std::string, std::string> out;
  for (const json& step : doc.at("steps")) out[step.at("name")] = step.at("result");
  return out;
}

const json& step(const json& doc, const std::string& name) {
  for (const json& s : doc.at("steps")) {
    if (s.at("name") == name) return s;
  }
  static const json none;
  return none;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Cli, DoctorPassesEveryStepAgainstTheMock) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun run = run_cli({"doctor", "--json"}, env_for(server));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json doc = run.parsed();
  ASSERT_TRUE(doc.is_object()) << run.out;
  EXPECT_EQ(doc["ok"], true);
  const std::map<std::string, std::string> expected = {
      {"config", "pass"}, {"api_key", "pass"}, {"base_url", "pass"}, {"dns", "pass"}, {"tcp", "pass"},
      {"tls", "skip"},  // plain http on loopback
      {"workspace_status", "pass"}, {"test_record", "pass"}};
  EXPECT_EQ(results(doc), expected) << run.out;
  EXPECT_EQ(doc["posture"]["ok"], true);
  EXPECT_EQ(doc["workspace"]["workspaceId"], "ws_mock");
  // The test record reached the server, marked as test data, with the id the doctor printed.
  ASSERT_EQ(server.stored_count(), 1u);
  const json stored = json::parse(server.stored_bodies().at(0));
  EXPECT_EQ(stored["externalRequestId"], doc["testRecordId"]);
  EXPECT_EQ(stored["dataMode"], "test");
}

TEST(Cli, DoctorTextSaysEachStepAndTheOutcome) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun run = run_cli({"doctor"}, env_for(server));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  for (const char* line : {"PASS  config", "PASS  api key", "PASS  base url", "PASS  dns", "PASS  tcp", "SKIP  tls",
                           "PASS  workspace", "PASS  test record", "ok: true", "All checks passed."}) {
    EXPECT_TRUE(contains(run.out, line)) << line << "\n" << run.out;
  }
  EXPECT_FALSE(contains(run.out, "test-key")) << "the key is never printed";
}

TEST(Cli, DoctorWithAWrongKeyFailsAtTheWorkspaceStatus) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun run = run_cli({"doctor", "--json"}, env_for(server, "wrong-key"));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  const json doc = run.parsed();
  EXPECT_EQ(doc["ok"], false);
  EXPECT_EQ(results(doc)["tcp"], "pass");
  EXPECT_EQ(results(doc)["workspace_status"], "fail");
  EXPECT_EQ(results(doc)["test_record"], "skip");
  EXPECT_TRUE(contains(step(doc, "workspace_status")["detail"], "HTTP 401")) << run.out;
  EXPECT_TRUE(contains(step(doc, "workspace_status")["fix"], "OPSMETER_API_KEY")) << run.out;
  EXPECT_FALSE(contains(run.out, "wrong-key"));
  EXPECT_EQ(server.stored_count(), 0u);
}

TEST(Cli, DoctorWithTheServerStoppedFailsAtTcp) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  const CliRun run = run_cli({"doctor", "--json"}, {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_API_BASE_URL", url}});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  const json doc = run.parsed();
  const std::map<std::string, std::string> expected = {
      {"config", "pass"}, {"api_key", "pass"}, {"base_url", "pass"}, {"dns", "pass"}, {"tcp", "fail"},
      {"tls", "skip"}, {"workspace_status", "skip"}, {"test_record", "skip"}};
  EXPECT_EQ(results(doc), expected) << run.out;
  EXPECT_TRUE(contains(step(doc, "tcp")["fix"], "is the server up")) << run.out;
  EXPECT_TRUE(contains(step(doc, "tcp")["fix"], "https_proxy")) << run.out;
  // The fix names only variables that exist.
  const CliRun text = run_cli({"doctor"}, {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_API_BASE_URL", url}});
  for (const CliRun* r : {&run, &text}) {
    EXPECT_FALSE(contains(r->out + r->err, "OPSMETER_PROXY")) << r->out << r->err;
  }
}

TEST(Cli, DoctorAgainstAnUntrustedCertificateFailsAtTls) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  testing::MockIngestServer server(test::tls_mock_options(pki.untrusted_cert, pki.untrusted_key));
  ASSERT_TRUE(server.start()) << server.last_error();
  Env env = env_for(server);
  env["OPSMETER_CA_BUNDLE"] = pki.ca;
  const CliRun run = run_cli({"doctor", "--json"}, env);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  const json doc = run.parsed();
  EXPECT_EQ(results(doc)["tcp"], "pass");
  EXPECT_EQ(results(doc)["tls"], "fail");
  EXPECT_EQ(results(doc)["workspace_status"], "skip");
  EXPECT_TRUE(contains(step(doc, "tls")["fix"], "OPSMETER_CA_BUNDLE")) << run.out;
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(Cli, DoctorOverTrustedTlsShowsTheCertificate) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  testing::MockIngestServer server(test::tls_mock_options());
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun run = run_cli({"doctor", "--json", "--ca-bundle", pki.ca}, env_for(server));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  const json doc = run.parsed();
  EXPECT_EQ(results(doc)["tls"], "pass") << run.out;
  const std::string detail = step(doc, "tls")["detail"];
  EXPECT_TRUE(contains(detail, "certificate CN = server")) << detail;
  EXPECT_TRUE(contains(detail, "expires")) << detail;
}

TEST(Cli, DoctorAtThePlanLimitFailsAtTheTestRecordWithThePosture) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  server.set_plan_limit(0);
  const CliRun run = run_cli({"doctor", "--json"}, env_for(server));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  const json doc = run.parsed();
  EXPECT_EQ(results(doc)["workspace_status"], "pass");
  EXPECT_EQ(doc["workspace"]["telemetryPaused"], true);
  EXPECT_EQ(results(doc)["test_record"], "fail");
  EXPECT_TRUE(contains(step(doc, "test_record")["detail"], "HTTP 402")) << run.out;
  EXPECT_TRUE(contains(step(doc, "test_record")["fix"], "plan limit")) << run.out;
  EXPECT_EQ(doc["posture"]["reason"], "plan_limit_reached");
}

TEST(Cli, DoctorCatchesAMissingKeyAndABaseUrlEndingInV1) {
  const CliRun no_key = run_cli({"doctor", "--json"}, {});
  EXPECT_EQ(no_key.exit_code, 1) << no_key.out;
  EXPECT_EQ(results(no_key.parsed())["api_key"], "fail");
  EXPECT_EQ(results(no_key.parsed())["dns"], "skip");
  const CliRun v1 = run_cli({"doctor", "--json"},
                            {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_API_BASE_URL", "https://api.opsmeter.io/v1"}});
  EXPECT_EQ(v1.exit_code, 1) << v1.out;
  EXPECT_EQ(results(v1.parsed())["base_url"], "fail");
  EXPECT_TRUE(contains(step(v1.parsed(), "base_url")["fix"], "drop the /v1")) << v1.out;
  const CliRun http = run_cli({"doctor", "--json"},
                              {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_API_BASE_URL", "http://api.opsmeter.io"}});
  EXPECT_EQ(results(http.parsed())["base_url"], "fail") << http.out;
}

// doctor's config step: an invalid OPSMETER_* value fails it (naming the variable), the test
// record is not sent with values nobody chose, and the warning reaches stderr without -v.
TEST(Cli, DoctorFailsOnAnInvalidEnvironmentValueAndNamesIt) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  Env env = env_for(server);
  env["OPSMETER_ENVIRONMENT"] = "production";
  env["OPSMETER_TIMEOUT_MS"] = "abc";
  const CliRun json_run = run_cli({"doctor", "--json"}, env);
  EXPECT_EQ(json_run.exit_code, 1) << json_run.out << json_run.err;
  const json doc = json_run.parsed();
  EXPECT_EQ(results(doc)["config"], "fail") << json_run.out;
  EXPECT_TRUE(contains(step(doc, "config")["detail"], "OPSMETER_ENVIRONMENT has an invalid value \"production\""))
      << json_run.out;
  EXPECT_TRUE(contains(step(doc, "config")["detail"], "OPSMETER_TIMEOUT_MS")) << json_run.out;
  EXPECT_EQ(results(doc)["workspace_status"], "pass") << json_run.out;
  EXPECT_EQ(results(doc)["test_record"], "skip") << json_run.out;
  EXPECT_EQ(server.stored_count(), 0u);
  const CliRun text = run_cli({"doctor"}, env);
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_TRUE(contains(text.out, "FAIL  config")) << text.out;
  EXPECT_TRUE(contains(text.out, "OPSMETER_ENVIRONMENT")) << text.out;
  EXPECT_FALSE(contains(text.out, "All checks passed.")) << text.out;
  EXPECT_TRUE(contains(text.err, "warn: OPSMETER_ENVIRONMENT has an invalid value")) << text.err;
}

TEST(Cli, DoctorSaysWhenTheCaFileCannotBeRead) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  Env env = env_for(server);
  env["OPSMETER_CA_BUNDLE"] = test::scratch_dir() + "/no-such-ca.pem";
  const CliRun run = run_cli({"doctor", "--json"}, env);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_EQ(results(run.parsed())["config"], "fail") << run.out;
  EXPECT_TRUE(contains(step(run.parsed(), "config")["detail"], "no-such-ca.pem")) << run.out;
  EXPECT_TRUE(contains(step(run.parsed(), "config")["detail"], "No such file")) << run.out;
}

// Flags in the GNU long form, before or after the command; numbers checked whole.
TEST(Cli, FlagsTakeTheGnuFormsAndNumbersAreStrict) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun eq = run_cli({"status", "--api-key=test-key", "--base-url=" + server.base_url()}, {});
  EXPECT_EQ(eq.exit_code, 0) << eq.out << eq.err;
  EXPECT_TRUE(contains(eq.out, "workspace   ws_mock")) << eq.out;
  const CliRun before = run_cli({"--api-key", "test-key", "--base-url", server.base_url(), "--json", "status"}, {});
  EXPECT_EQ(before.exit_code, 0) << before.out << before.err;
  const CliRun bad = run_cli({"status", "--timeout-ms=10x"}, {});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "--timeout-ms")) << bad.err;
  const CliRun missing = run_cli({"status", "--api-key"}, {});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "--api-key needs a value")) << missing.err;
}

// Credentials and query values in a base URL never reach the output; bytes that are not text
// are escaped, and --json stays valid JSON whatever the input.
TEST(Cli, OutputHidesCredentialsAndSurvivesAnyByte) {
  const int port = testing::unused_loopback_port();
  const std::string secret_url = "http://user:SECRETPW@127.0.0.1:" + std::to_string(port) + "/?api_key=SECRETQ";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"doctor", "--base-url", secret_url}, {"doctor", "--json", "--base-url", secret_url},
        {"status", "--base-url", secret_url}, {"status", "--json", "--base-url", secret_url}}) {
    const CliRun run = run_cli(args, {{"OPSMETER_API_KEY", "k"}});
    EXPECT_FALSE(contains(run.out + run.err, "SECRETPW")) << run.out << run.err;
    EXPECT_FALSE(contains(run.out + run.err, "SECRETQ")) << run.out << run.err;
    EXPECT_TRUE(run.exit_code == 1 || run.exit_code == 2) << run.exit_code;
  }
  const CliRun odd = run_cli({"doctor", "--json", "--base-url", "http://127.0.0.1:1/\xff\n[fake] PASS"},
                             {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_ENVIRONMENT", "\xfe\x01"}});
  EXPECT_TRUE(odd.exit_code == 1 || odd.exit_code == 2) << odd.exit_code << odd.err;
  EXPECT_TRUE(odd.parsed().is_object()) << odd.out;
  const CliRun odd_text = run_cli({"doctor", "--base-url", "http://127.0.0.1:1/\n[fake] PASS"}, {{"OPSMETER_API_KEY", "k"}});
  EXPECT_FALSE(contains(odd_text.out, "\n[fake]")) << odd_text.out;
}

// send stops as soon as the API is known to be unreachable, says so, and exits 1.
TEST(Cli, SendToADeadPortStopsEarlyAndSaysWhy) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  const std::string file = write_lines({record_line("ext_d1"), record_line("ext_d2")});
  const auto started = std::chrono::steady_clock::now();
  const CliRun run = run_cli({"send", "--timeout-ms", "30000", file},
                             {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_API_BASE_URL", url}});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(contains(run.out, "the ingest API is unreachable")) << run.out;
  EXPECT_TRUE(contains(run.out, "0 delivered, 2 not delivered")) << run.out;
  // Far less than the 30 s it was allowed: it did not wait for a deadline.
  EXPECT_LT(took, 15s) << run.out;
}

// Records spooled by an earlier run that this run delivers are reported apart; the exit
// status is about this run's records.
TEST(Cli, SendReportsSpooledRecordsOfEarlierRunsApart) {
  const std::string spool = test::scratch_dir() + "/spool";
  ASSERT_EQ(::mkdir(spool.c_str(), 0700), 0);
  const int port = testing::unused_loopback_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  Env env = {{"OPSMETER_API_KEY", "test-key"}, {"OPSMETER_API_BASE_URL", url}, {"OPSMETER_SPOOL_DIR", spool}};
  const CliRun first = run_cli({"send", "--json", write_lines({record_line("ext_s1"), record_line("ext_s2")})}, env);
  EXPECT_EQ(first.exit_code, 1) << first.out;
  testing::MockIngestOptions options;
  options.port = port;
  testing::MockIngestServer server(options);
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun second = run_cli({"send", "--json", write_lines({record_line("ext_s3")})}, env);
  EXPECT_EQ(second.exit_code, 0) << second.out;
  EXPECT_EQ(second.parsed()["delivered"], 1) << second.out;
  EXPECT_EQ(second.parsed()["deliveredFromSpool"], 2) << second.out;
  EXPECT_EQ(server.stored_count(), 3u);
}

TEST(Cli, StatusPrintsTheWorkspaceAndExitsThreeWhenPaused) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  server.set_budget_flags(true, false);
  const CliRun run = run_cli({"status", "--json"}, env_for(server));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.parsed()["workspace"]["severity"], "warning");
  const CliRun text = run_cli({"status"}, env_for(server));
  EXPECT_TRUE(contains(text.out, "workspace   ws_mock")) << text.out;
  EXPECT_TRUE(contains(text.out, "telemetry   accepted")) << text.out;
  server.set_plan_limit(0);
  const CliRun paused = run_cli({"status"}, env_for(server));
  EXPECT_EQ(paused.exit_code, 3) << paused.out;
  EXPECT_TRUE(contains(paused.out, "telemetry   paused")) << paused.out;
}

TEST(Cli, StatusFailuresAreTyped) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CliRun wrong = run_cli({"status", "--json"}, env_for(server, "nope"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.parsed()["error"], "unauthorized") << wrong.out;
  EXPECT_EQ(wrong.parsed()["httpStatus"], 401);
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  const CliRun down = run_cli({"status"}, {{"OPSMETER_API_KEY", "k"}, {"OPSMETER_API_BASE_URL", url}});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_TRUE(contains(down.out, "opsmeter status: unreachable")) << down.out;
}

TEST(Cli, ValidateReportsEachBadLineAndExitsOne) {
  const std::string file = write_lines({
      record_line("ext_a"),
      "",
      R"({"externalRequestId":"ext_b","provider":"openai","model":"m","inputTokens":"12"})",
      "not json",
      record_line("ext_a"),
      R"({"externalRequestId":"ext_c","provider":"openai","model":"m","status":"ok"})",
      record_line("ext_d"),
  });
  const CliRun run = run_cli({"validate", "--json", file}, {});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  const json doc = run.parsed();
  EXPECT_EQ(doc["records"], 6);  // the blank line is not a record
  EXPECT_EQ(doc["valid"], 2);
  EXPECT_EQ(doc["invalid"], 4);
  std::vector<std::pair<int, std::string>> errors;
  for (const json& e : doc["errors"]) errors.emplace_back(e["line"], e["code"]);
  const std::vector<std::pair<int, std::string>> expected = {
      {3, "wrong_type"}, {4, "not_json"}, {5, "duplicate_id"}, {6, "invalid_enum"}};
  EXPECT_EQ(errors, expected);
  const CliRun text = run_cli({"validate", file}, {});
  EXPECT_TRUE(contains(text.out, "line 3: wrong_type: inputTokens must be an integer")) << text.out;
  EXPECT_TRUE(contains(text.out, "6 records: 2 valid, 4 invalid")) << text.out;
  // A line that is JSON but not an object, and a validation error: each code printed once.
  const std::string more = write_lines({"[1,2]", R"({"externalRequestId":"ext_e","provider":"openai","model":"m",)"
                                                 R"("inputTokens":1,"outputTokens":1,"latencyMs":1,"status":"success",)"
                                                 R"("endpointTag":")" + std::string(300, 'x') + "\"}"});
  const CliRun codes = run_cli({"validate", more}, {});
  EXPECT_TRUE(contains(codes.out, "line 1: not_an_object:")) << codes.out;
  EXPECT_TRUE(contains(codes.out, "line 2: field_too_long: endpointTag\n")) << codes.out;
}

TEST(Cli, ValidateAcceptsAGoodFileFromStdin) {
  const std::string file = write_lines({record_line("ext_1"), record_line("ext_2")});
  const CliRun run = run_cli({"validate", "-"}, {}, file);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(contains(run.out, "2 records: 2 valid, 0 invalid")) << run.out;
  const CliRun missing = run_cli({"validate", "/nonexistent/records.jsonl"}, {});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "cannot read")) << missing.err;
}

TEST(Cli, SendDeliversEachValidRecordOnceAndSkipsTheRest) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) lines.push_back(record_line("ext_send_" + std::to_string(i)));
  lines.push_back(R"({"externalRequestId":"ext_bad","provider":"openai"})");  // no model
  const CliRun run = run_cli({"send", "--json", "-"}, env_for(server), write_lines(lines));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;  // one line was invalid
  const json doc = run.parsed();
  EXPECT_EQ(doc["valid"], 50);
  EXPECT_EQ(doc["invalid"], 1);
  EXPECT_EQ(doc["delivered"], 50);
  EXPECT_EQ(doc["dropped"], json::object());
  EXPECT_EQ(doc["errors"][0]["code"], "missing_field");
  EXPECT_EQ(server.stored_count(), 50u);
  // Each request the client sent reached the server. A slow answer (a sanitizer build on a
  // loaded machine can take longer than the 600 ms timeout) is resent with the same id and
  // stored once, so the count is the client's, not 50 on every machine.
  // stored 50, the rest duplicates of stored ids; none the client did not count.
  EXPECT_EQ(server.request_count() - 50u, server.duplicate_count());
  EXPECT_LE(server.request_count(), doc["requestsSent"].get<std::size_t>());
  EXPECT_LE(doc["requestsSent"].get<std::size_t>(), 50u * 3u);  // at most 1 + retry.max_retries each

  lines.pop_back();
  server.reset();
  const CliRun clean = run_cli({"send", write_lines(lines)}, env_for(server));
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_TRUE(contains(clean.out, "50 records (0 invalid): 50 delivered, 0 not delivered")) << clean.out;
}

TEST(Cli, SendReportsDropsByReason) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const std::string file = write_lines({record_line("ext_x1"), record_line("ext_x2")});
  const CliRun refused = run_cli({"send", "--json", file}, env_for(server, "bad-key"));
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_EQ(refused.parsed()["delivered"], 0);
  EXPECT_EQ(refused.parsed()["rejectedByStatus"]["401"], 2) << refused.out;
  server.set_plan_limit(0);
  const CliRun paused = run_cli({"send", file}, env_for(server));
  EXPECT_EQ(paused.exit_code, 1) << paused.out;
  EXPECT_TRUE(contains(paused.out, "dropped paused: 2")) << paused.out;
}

TEST(Cli, UsageErrorsExitTwoAndHelpListsTheExitCodes) {
  const CliRun help = run_cli({"--help"}, {});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "Exit codes:")) << help.out;
  EXPECT_TRUE(contains(help.out, "doctor")) << help.out;
  EXPECT_EQ(run_cli({}, {}).exit_code, 2);
  EXPECT_EQ(run_cli({"launch"}, {}).exit_code, 2);
  const CliRun flag = run_cli({"status", "--frobnicate"}, {});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_TRUE(contains(flag.err, "unknown flag --frobnicate")) << flag.err;
  EXPECT_EQ(run_cli({"status", "--timeout-ms", "soon"}, {}).exit_code, 2);
  const CliRun version = run_cli({"--version"}, {});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(contains(version.out, "opsmeter 0.")) << version.out;
}

TEST(MockServerProgram, HelpListsItsFlagsAndBadFlagsExitTwo) {
  const CliRun help = run_program(OPSMETER_MOCK_SERVER, {"--help"}, {});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* flag : {"--host", "--port", "--port-file", "--api-key", "--tls-cert", "--tls-key",
                           "--plan-limit", "--fail-fraction", "--fail-status", "--throttle-fraction",
                           "--throttle-every", "--retry-after", "--delay-ms", "--rate-limit", "--rate-burst",
                           "--never-answer",
                           "--no-tcp-nodelay"}) {
    EXPECT_TRUE(contains(help.out, flag)) << flag;
  }
  const CliRun bad = run_program(OPSMETER_MOCK_SERVER, {"--bogus"}, {});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "unknown option --bogus")) << bad.err;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--port", "abc"}, {"--port=70000"},
                                               {"--fail-fraction", "2"}, {"--delay-ms=5ms"}}) {
    const CliRun number = run_program(OPSMETER_MOCK_SERVER, args, {});
    EXPECT_EQ(number.exit_code, 2) << args[0] << number.err;
    EXPECT_TRUE(contains(number.err, args[0].substr(0, args[0].find('=')))) << number.err;
  }
}

}  // namespace
}  // namespace opsmeter
