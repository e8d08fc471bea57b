// opsmeter doctor: the first-ingest checklist, one step at a time, each with the fix to try.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "cli.hpp"
#include "opsmeter/ids.hpp"

namespace opsmeter::cli {
namespace {



enum class Result { kPass, kFail, kSkip };

struct Step {
  Step(const char* json_name, const char* text_name) : name(json_name), title(text_name) {}
  const char* name;   // JSON name
  const char* title;  // text name
  Result result = Result::kSkip;
  std::string detail;
  std::string fix;
};

void pass(Step& s, std::string detail) {
  s.result = Result::kPass;
  s.detail = std::move(detail);
}
void fail(Step& s, std::string detail, std::string fix) {
  s.result = Result::kFail;
  s.detail = std::move(detail);
  s.fix = std::move(fix);
}
void skip(Step& s, std::string why) {
  s.result = Result::kSkip;
  s.detail = std::move(why);
}

const char* name(Result r) {
  switch (r) {
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
    case Result::kSkip: return "skip";
  }
  return "?";
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string ms(std::chrono::microseconds t) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f ms", static_cast<double>(t.count()) / 1000.0);
  return buffer;
}

// "host" of scheme://host[:port]/...
std::string host_of(const std::string& url) {
  const auto start = url.find("://");
  std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest[0] == '[') return rest.substr(0, rest.find(']') + 1);
  return rest.substr(0, rest.find(':'));
}

// Days until a certificate's "Expire date" as libcurl prints it ("Nov 29 21:00:00 2027 GMT").
std::optional<long> days_left(const std::string& expires) {
  std::tm tm{};
  const char* end = strptime(expires.c_str(), "%b %d %H:%M:%S %Y", &tm);
  if (end == nullptr) return std::nullopt;
  const std::time_t at = timegm(&tm);
  return static_cast<long>((at - std::time(nullptr)) / 86400);
}

void check_key(Step& step, const std::string& key) {
  if (key.empty()) {
    fail(step, "no API key: OPSMETER_API_KEY is not set",
         "export OPSMETER_API_KEY=<your workspace key> (from the Opsmeter dashboard), or pass --api-key");
    return;
  }
  const bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!visible) {
    fail(step, "the key contains spaces, control characters or non-ASCII bytes",
         "copy the key again, without spaces or a line end");
  } else if (key.front() == '"' || key.front() == '\'' || key.back() == '"' || key.back() == '\'') {
    fail(step, "the key is wrapped in quotes", "set the key without the quotes");
  } else {
    pass(step, "present, " + std::to_string(key.size()) + " characters");
  }
}

// What the client itself makes of the options (disabled or not, and why; what it adjusted),
// from one client with a stand-in key that sends nothing.
ClientStatus probe_status(const Options& options) {
  Options probe = options;
  probe.api_key = "opsmeter-doctor";
  probe.on_log = [](LogLevel, std::string_view) {};
  Client client(probe);
  return client.status();
}

void check_base_url(Step& step, const Options& options, const ClientStatus& state) {
  const std::string& url = options.base_url;
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) {
    fail(step, display_url(url) + " ends in /v1",
         "drop the /v1: OPSMETER_API_BASE_URL is the API's base and the SDK adds /v1/... "
         "(unlike OPENAI_BASE_URL, which includes /v1)");
    return;
  }
  if (!state.enabled) {
    fail(step, state.disabled_reason,
         "set OPSMETER_API_BASE_URL to the API's https:// base, e.g. https://api.opsmeter.io "
         "(plain http is accepted for loopback hosts only)");
    return;
  }
  pass(step, display_url(url) + (starts_with(url, "https://") ? "" : " (plain http, loopback)"));
}

// A file or directory named by the options that the client will read.
std::string unreadable(const std::string& path, bool directory) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::string(std::strerror(errno));
  if (directory && !S_ISDIR(st.st_mode)) return "not a directory";
  if (!directory && S_ISDIR(st.st_mode)) return "a directory, not a file";
  if (::access(path.c_str(), directory ? (R_OK | X_OK) : R_OK) != 0) return "not readable: " + std::string(std::strerror(errno));
  return {};
}

// The configuration as the client will use it: OPSMETER_* values that were invalid and
// ignored fail the step (the tool would otherwise run with values you did not choose), as do CA
// files that cannot be read; the options the client adjusted are listed.
void check_config(Step& step, const Options& options, const ClientStatus& state) {
  std::vector<std::string> problems = options.environment_errors;
  std::string fix;
  if (!problems.empty()) fix = "correct or unset each variable named above (the README lists the valid values)";
  if (!options.tls.ca_bundle.empty()) {
    if (const std::string why = unreadable(options.tls.ca_bundle, false); !why.empty()) {
      problems.push_back("the CA file " + options.tls.ca_bundle + " (OPSMETER_CA_BUNDLE / --ca-bundle): " + why);
      fix += std::string(fix.empty() ? "" : "; ") + "point OPSMETER_CA_BUNDLE (or --ca-bundle) at a readable PEM file";
    }
  }
  if (!options.tls.ca_path.empty()) {
    if (const std::string why = unreadable(options.tls.ca_path, true); !why.empty()) {
      problems.push_back("the CA directory " + options.tls.ca_path + " (OPSMETER_CA_PATH): " + why);
      fix += std::string(fix.empty() ? "" : "; ") + "point OPSMETER_CA_PATH at a readable directory of CA files";
    }
  }
  if (!problems.empty()) {
    std::string detail;
    for (const std::string& p : problems) detail += (detail.empty() ? "" : "; ") + p;
    fail(step, detail, fix);
    return;
  }
  std::string detail = "OPSMETER_* values valid";
  if (!options.tls.ca_bundle.empty()) detail += "; CA file " + options.tls.ca_bundle;
  if (!options.tls.ca_path.empty()) detail += "; CA directory " + options.tls.ca_path;
  for (const std::string& warning : state.config_warnings) detail += "; adjusted: " + warning;
  pass(step, detail);
}

// The DNS, TCP, TLS and workspace-status steps, all read from one check() request.
void check_connection(Step& dns, Step& tcp, Step& tls, Step& workspace, const Options& options,
                      const CheckResult& r, std::chrono::milliseconds timeout) {
  const std::string host = host_of(options.base_url);
  const bool https = starts_with(options.base_url, "https://");
  const ConnectionInfo& c = r.connection;
  const std::string timed_out = "no answer within " + std::to_string(timeout.count()) + " ms";
  const std::string failure = r.error == CheckError::kTimeout ? timed_out + " (" + r.detail + ")" : r.detail;

  if (!c.resolved) {
    fail(dns, failure, "check the host name in OPSMETER_API_BASE_URL, and this machine's DNS (or proxy)");
    skip(tcp, "not run: the name did not resolve");
    skip(tls, "not run: the name did not resolve");
    skip(workspace, "not run: the name did not resolve");
    return;
  }
  pass(dns, host + (c.remote_address.empty() ? std::string() : " -> " + c.remote_address) + " (" + ms(c.dns_time) + ")");
  if (!c.connected) {
    fail(tcp, failure,
         "nothing accepted the connection: is the server up and the port right? Is a firewall in "
         "the way, or does this machine need a proxy (https_proxy; no_proxy for hosts reached "
         "directly)?");
    skip(tls, "not run: no connection");
    skip(workspace, "not run: no connection");
    return;
  }
  pass(tcp, "connected to " + c.remote_address + " (" + ms(c.connect_time) + ")");
  if (!https) {
    skip(tls, "plain http: no TLS");
  } else if (!c.tls_handshake) {
    if (!options.tls.ca_bundle.empty() && !unreadable(options.tls.ca_bundle, false).empty()) {
      fail(tls, failure,
           "the CA file " + options.tls.ca_bundle + " cannot be read (see config): point OPSMETER_CA_BUNDLE "
           "(or --ca-bundle) at a readable PEM file");
    } else {
      fail(tls, failure,
           "the server's certificate is not trusted for " + host +
               ": behind a private CA, set OPSMETER_CA_BUNDLE=/path/to/ca.pem (or --ca-bundle); "
               "check the host name and this machine's clock");
    }
    skip(workspace, "not run: no TLS connection");
    return;
  } else {
    std::string detail = "certificate " + c.tls_subject;
    if (!c.tls_issuer.empty()) detail += ", issued by " + c.tls_issuer;
    if (!c.tls_expires.empty()) {
      detail += ", expires " + c.tls_expires;
      if (const auto days = days_left(c.tls_expires)) detail += " (in " + std::to_string(*days) + (*days == 1 ? " day)" : " days)");
    }
    if (!c.http_version.empty()) detail += "; " + c.http_version;
    pass(tls, detail + " (" + ms(c.tls_time) + ")");
  }
  if (r.ok()) {
    pass(workspace, summary(*r.status));
    return;
  }
  std::string what = std::string(to_string(r.error));
  if (r.http_status != 0) what += " (HTTP " + std::to_string(r.http_status) + ")";
  what += ": " + failure;
  switch (r.error) {
    case CheckError::kUnauthorized:
      fail(workspace, what, "the key was refused: use this workspace's current key in OPSMETER_API_KEY");
      break;
    case CheckError::kNotFound:
      fail(workspace, what, "set OPSMETER_API_BASE_URL to the API's base URL, without /v1");
      break;
    case CheckError::kTimeout:
      fail(workspace, what, "retry, or allow more time with --timeout-ms; check any proxy in between");
      break;
    default:
      fail(workspace, what, "is OPSMETER_API_BASE_URL the Opsmeter API? Its answer was not the workspace status");
      break;
  }
}

// What the worker reported for the test record.
struct Outcome {
  std::mutex mu;
  bool reported = false;
  DeliveryReport report;
  std::optional<IngestPosture> posture;
};

void send_test_record(Step& step, Client& client, const std::shared_ptr<Outcome>& outcome,
                      std::chrono::milliseconds timeout, std::string& id) {
  LlmCallRecord record;
  record.external_request_id = id = "ext_doctor_" + new_request_id().substr(4);
  record.provider = "openai";
  record.model = "gpt-4o-mini";
  record.prompt_version = "opsmeter_doctor";
  record.endpoint_tag = "opsmeter.doctor";
  record.data_mode = DataMode::kTest;
  record.metadata.operation = "doctor";
  const RecordResult queued = client.record(std::move(record));
  if (!queued.queued()) {
    fail(step, "record() did not queue the record: " + std::string(to_string(queued.reason)),
         "run with --verbose to see the client's log");
    return;
  }
  const FlushResult flushed = client.flush(timeout);
  std::lock_guard<std::mutex> lock(outcome->mu);
  if (!outcome->reported) {
    fail(step, "no answer for the test record within " + std::to_string(timeout.count()) + " ms (" +
                   std::string(to_string(flushed)) + ")",
         "retry, or allow more time with --timeout-ms");
    return;
  }
  const DeliveryReport& d = outcome->report;
  const std::string http = "HTTP " + std::to_string(d.http_status);
  if (d.delivered) {
    if (outcome->posture && outcome->posture->ok.value_or(false)) {
      pass(step, "delivered as " + id + ": " + http + ", ok: true");
    } else {
      fail(step, "delivered as " + id + ": " + http + ", but the answer did not say ok: true",
           "is OPSMETER_API_BASE_URL the Opsmeter API?");
    }
    return;
  }
  const std::string why = http + ", dropped as " + std::string(to_string(d.reason));
  if (d.http_status == 402) {
    const std::string reason = outcome->posture && !outcome->posture->reason.empty() ? outcome->posture->reason : "paused";
    fail(step, why + ": telemetry is paused (" + reason + "); provider calls continue",
         "the workspace reached its plan limit: upgrade the plan or wait for the next period");
  } else if (d.http_status == 401 || d.http_status == 403) {
    fail(step, why + ": the API key was refused", "use this workspace's current key in OPSMETER_API_KEY");
  } else if (d.http_status == 400 || d.http_status == 422) {
    fail(step, why + ": the API refused the record", "run with --verbose; report it with the log");
  } else {
    fail(step, why + " after " + std::to_string(d.attempts) + " attempts",
         "retry; if it persists, check the API's status and any proxy");
  }
}

}  // namespace

int doctor(const Settings& settings, std::ostream& out) {
  Step config{"config", "config"}, key{"api_key", "api key"}, base{"base_url", "base url"}, dns{"dns", "dns"}, tcp{"tcp", "tcp"},
      tls{"tls", "tls"}, workspace{"workspace_status", "workspace"}, test{"test_record", "test record"};
  const Options& options = settings.options;
  CheckResult check;
  std::optional<IngestPosture> posture;
  std::string test_id;

  const ClientStatus probed = probe_status(options);
  check_config(config, options, probed);
  check_key(key, options.api_key);
  check_base_url(base, options, probed);
  if (key.result != Result::kPass || base.result != Result::kPass) {
    for (Step* s : {&dns, &tcp, &tls, &workspace, &test}) skip(*s, "not run: fix the steps above first");
  } else {
    auto outcome = std::make_shared<Outcome>();
    Options sending = options;
    sending.on_result = [outcome](const DeliveryReport& report) {
      std::lock_guard<std::mutex> lock(outcome->mu);
      outcome->reported = true;
      outcome->report = report;
      outcome->report.external_request_id = {};  // points into the worker's record
      if (report.posture) outcome->posture = *report.posture;
      outcome->report.posture = nullptr;
    };
    Client client(sending);
    check = client.check(settings.timeout);
    check_connection(dns, tcp, tls, workspace, options, check, settings.timeout);
    if (workspace.result == Result::kPass && config.result != Result::kPass) {
      skip(test, "not run: the configuration is not what you set (see config); a test record would go out with it");
    } else if (workspace.result == Result::kPass) {
      send_test_record(test, client, outcome, settings.timeout, test_id);
      std::lock_guard<std::mutex> lock(outcome->mu);
      posture = outcome->posture;
    } else {
      skip(test, "not run: the workspace status failed");
    }
    client.shutdown(std::chrono::milliseconds(1000));
  }

  const Step* steps[] = {&config, &key, &base, &dns, &tcp, &tls, &workspace, &test};
  std::vector<std::string> failed;
  for (const Step* s : steps) {
    if (s->result == Result::kFail) failed.push_back(s->title);
  }
  const bool ok = failed.empty();
  if (settings.json) {
    Json doc = {{"command", "doctor"}, {"ok", ok}, {"baseUrl", display_url(options.base_url)}};
    Json list = Json::array();
    for (const Step* s : steps) {
      list.push_back({{"name", s->name}, {"result", name(s->result)}, {"detail", escape_text(s->detail)},
                      {"fix", escape_text(s->fix)}});
    }
    doc["steps"] = list;
    if (check.status) doc["workspace"] = to_json(*check.status);
    if (posture) doc["posture"] = to_json(*posture);
    if (!test_id.empty()) doc["testRecordId"] = test_id;
    doc["log"] = settings.log->lines();
    out << dump(doc) << "\n";
    return ok ? kExitOk : kExitFailed;
  }
  out << "opsmeter doctor: " << display_url(options.base_url) << "\n";
  for (const Step* s : steps) {
    char label[16];
    std::snprintf(label, sizeof label, "%-12s", s->title);
    out << "  " << (s->result == Result::kPass ? "PASS" : s->result == Result::kFail ? "FAIL" : "SKIP") << "  "
        << label << escape_text(s->detail) << "\n";
    if (!s->fix.empty()) out << "                    fix: " << escape_text(s->fix) << "\n";
  }
  if (posture) out << "  ----  posture     " << summary(*posture) << "\n";
  if (ok) {
    out << "All checks passed.\n";
  } else {
    out << failed.size() << (failed.size() == 1 ? " check" : " checks") << " failed:";
    for (std::size_t i = 0; i < failed.size(); ++i) out << (i ? ", " : " ") << failed[i];
    out << ".\n";
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace opsmeter::cli
