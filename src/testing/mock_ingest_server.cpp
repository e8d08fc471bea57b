// The mock ingest server, on cpp-httplib. Faults that HTTP alone cannot express (a TCP reset)
// reach under the library to the connection's socket; see reset_connection().
#include "opsmeter/testing/mock_ingest_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "testing/sockets.hpp"

namespace opsmeter::testing {
namespace {

using nlohmann::json;
constexpr const char* kJson = "application/json";

std::string error_body(const std::string& reason, const std::string& detail = {}) {
  json body = {{"ok", false}, {"reason", reason}};
  if (!detail.empty()) body["error"] = detail;
  return body.dump();
}

// The contract's checks on one ingest body; "" when valid, else what is wrong.
std::string validate_payload(const json& doc) {
  if (!doc.is_object()) return "body is not a JSON object";
  for (const char* key : {"externalRequestId", "provider", "model"}) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
      return std::string(key) + " must be a non-empty string";
    }
  }
  for (const char* key : {"inputTokens", "outputTokens", "totalTokens", "latencyMs"}) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
      return std::string(key) + " must be an integer >= 0";
    }
  }
  const auto in_set = [&](const char* key, std::set<std::string> allowed) {
    const auto it = doc.find(key);
    return it != doc.end() && it->is_string() && allowed.count(it->get<std::string>()) == 1;
  };
  if (!in_set("status", {"success", "error"})) return "status must be success or error";
  if (!in_set("dataMode", {"real", "test", "demo"})) return "dataMode must be real, test or demo";
  if (!in_set("environment", {"prod", "staging", "dev"})) {
    return "environment must be prod, staging or dev";
  }
  for (const char* key : {"errorCode", "userId"}) {
    const auto it = doc.find(key);
    if (it != doc.end() && !it->is_null() && !it->is_string()) {
      return std::string(key) + " must be a string or null";
    }
  }
  const auto metadata = doc.find("metadata");
  if (metadata != doc.end() && !metadata->is_object()) return "metadata must be an object";
  return {};
}

// The server's own sockets: those bound to its port.
template <typename Visit>
void for_each_socket_on_port(int port, Visit visit) {
  detail::for_each_socket_on_port(port, detail::PortOf::kLocal, visit);
}

// Sends a TCP RST on the connection the request came in on. The fd is found by its peer
// port; it is then swapped (dup2) for a fresh unconnected socket, so the library's later
// writes and close act on that one and never on a reused descriptor number.
bool reset_connection(int server_port, int peer_port) {
  bool done = false;
  for_each_socket_on_port(server_port, [&](int fd) {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        ntohs(peer.sin_port) != peer_port) {
      return false;
    }
    linger hard{1, 0};  // close() now sends RST instead of FIN
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    const int spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (spare >= 0) {
      done = dup2(spare, fd) >= 0;  // closes the connected socket: RST
      close(spare);
    }
    return true;
  });
  return done;
}

// cpp-httplib 0.11 listens with a backlog of 5 (compiled into Debian's library), so a client
// opening more connections at once has SYNs dropped and its connect times out. Calling
// listen() again on the listening socket raises the backlog (Linux allows it).
void raise_listen_backlog(int server_port) {
  for_each_socket_on_port(server_port, [](int fd) {
    if (!detail::is_listening(fd)) return false;
    listen(fd, SOMAXCONN);
    return true;
  });
}

// Shuts down every accepted connection of the server, as a server or load balancer that drops
// idle keep-alive connections does. Returns how many there were.
std::size_t shut_down_connections(int server_port) {
  std::size_t count = 0;
  for_each_socket_on_port(server_port, [&](int fd) {
    if (!detail::is_listening(fd)) count += shutdown(fd, SHUT_RDWR) == 0;
    return false;
  });
  return count;
}

}  // namespace

class MockIngestServer::Impl {
 public:
  explicit Impl(MockIngestOptions options) : options_(std::move(options)) {}

  ~Impl() { stop(); }

  bool start() {
    std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
    if (thread_.joinable()) return true;
    if (tls()) {
      auto server = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                         options_.tls_key_file.c_str());
      if (!server->is_valid()) {
        set_error("cannot load TLS certificate " + options_.tls_cert_file + " or key " +
                  options_.tls_key_file);
        return false;
      }
      server_ = std::move(server);
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    const int threads = options_.threads;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    server_->set_keep_alive_max_count(100000);
    server_->set_keep_alive_timeout(30);
    // httplib writes headers and body separately; without TCP_NODELAY, Nagle plus the client's
    // delayed ACK stalls every answer by ~40 ms.
    server_->set_tcp_nodelay(options_.tcp_nodelay);
    routes();
    const int bound = options_.port == 0 ? server_->bind_to_any_port(options_.host)
                                         : (server_->bind_to_port(options_.host, options_.port)
                                                ? options_.port
                                                : -1);
    if (bound <= 0) {
      set_error("cannot bind " + options_.host + ":" + std::to_string(options_.port));
      server_.reset();
      return false;
    }
    port_ = bound;
    raise_listen_backlog(port_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = false;
    }
    // The server's threads inherit this mask: a write to a reset peer must not raise SIGPIPE.
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &previous);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    // httplib's stop() does nothing until the listen thread has marked itself running, so a
    // stop() right after start() would leave that thread in accept() forever. Wait for it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }

  void stop() {
    std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    changed_.notify_all();
    server_->stop();
    // Kept-alive connections would hold their threads (and stop()) for the keep-alive timeout;
    // a stopped server drops them at once, like a process that exits.
    shut_down_connections(port_);
    thread_.join();
    server_.reset();
  }

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert_file.empty() && !options_.tls_key_file.empty(); }

  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

  void push_fault(const Fault& fault, int count) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < count; ++i) scripted_.push_back(fault);
  }

  void set_fault_fraction(const Fault& fault, double fraction, std::uint64_t seed) {
    std::lock_guard<std::mutex> lock(mu_);
    fraction_fault_ = fault;
    fraction_ = fraction;
    rng_.seed(seed);
  }

  void set_fault_every(const Fault& fault, int nth) {
    std::lock_guard<std::mutex> lock(mu_);
    every_fault_ = fault;
    every_nth_ = nth;
    every_count_ = 0;
  }

  void set_plan_limit(std::int64_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    plan_limit_ = limit;
  }

  void set_rate_limit(double per_second, double burst) {
    std::lock_guard<std::mutex> lock(mu_);
    rate_per_second_ = per_second;
    rate_burst_ = std::max(1.0, burst);
    rate_tokens_ = rate_burst_;
    rate_refilled_at_ = std::chrono::steady_clock::now();
  }

  // One token of the per-key rate limit, if there is one to take.
  bool take_rate_token() {
    std::lock_guard<std::mutex> lock(mu_);
    if (rate_per_second_ <= 0) return true;
    const auto now = std::chrono::steady_clock::now();
    rate_tokens_ = std::min(rate_burst_, rate_tokens_ + std::chrono::duration<double>(now - rate_refilled_at_).count() *
                                                          rate_per_second_);
    rate_refilled_at_ = now;
    if (rate_tokens_ < 1) return false;
    rate_tokens_ -= 1;
    return true;
  }

  void set_budget_flags(bool warning, bool exceeded) {
    std::lock_guard<std::mutex> lock(mu_);
    budget_warning_ = warning;
    budget_exceeded_ = exceeded;
  }

  void clear_faults() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      scripted_.clear();
      fraction_ = 0;
      every_nth_ = 0;
      plan_limit_ = -1;
      rate_per_second_ = 0;
      ++release_generation_;
    }
    changed_.notify_all();
  }

  void reset() {
    clear_faults();
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
    stored_.clear();
    stored_ids_.clear();
    duplicates_ = 0;
    provider_calls_ = 0;
  }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> stored_bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_;
  }
  std::size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  std::size_t stored_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_.size();
  }
  std::size_t duplicate_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicates_;
  }
  std::map<int, std::size_t> counts_by_status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_by_status_locked();
  }

  bool wait_for(std::size_t n, bool stored, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] {
      return (stored ? stored_.size() : requests_.size()) >= n;
    });
  }

  std::string stats_json() const {
    // ordered_json keeps each record's fields in the order the client sent them.
    using ordered = nlohmann::ordered_json;
    std::lock_guard<std::mutex> lock(mu_);
    ordered by_status = ordered::object();
    for (const auto& [status, count] : counts_by_status_locked()) by_status[std::to_string(status)] = count;
    ordered records = ordered::array();
    for (const std::string& body : stored_) records.push_back(ordered::parse(body, nullptr, false));
    ordered stats = ordered::object();
    stats["requests"] = requests_.size();
    stats["stored"] = stored_.size();
    stats["duplicates"] = duplicates_;
    stats["providerCalls"] = provider_calls_;
    stats["byStatus"] = by_status;
    stats["records"] = records;
    return stats.dump();
  }

 private:
  std::map<int, std::size_t> counts_by_status_locked() const {
    std::map<int, std::size_t> counts;
    for (const ReceivedRequest& r : requests_) ++counts[r.status];
    return counts;
  }

  void set_error(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = std::move(text);
  }

  void routes() {
    server_->Post("/v1/ingest/llm-request",
                  [this](const httplib::Request& req, httplib::Response& res) { ingest(req, res); });
    server_->Get("/v1/diagnostics/workspace-status",
                 [this](const httplib::Request& req, httplib::Response& res) { workspace(req, res); });
    server_->Post("/v1/chat/completions",
                  [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
    server_->Get("/__stats", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(stats_json(), kJson);
    });
    server_->Post("/__reset", [this](const httplib::Request&, httplib::Response& res) {
      reset();
      res.set_content(R"({"ok":true})", kJson);
    });
  }

  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("X-API-Key") == options_.api_key) return true;
    res.status = 401;
    res.set_content(error_body("invalid_api_key"), kJson);
    return false;
  }

  // Index of the new entry in requests_.
  std::size_t log_request(const httplib::Request& req, const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    ReceivedRequest r;
    r.external_request_id = id;
    r.body = req.body;
    r.api_key = req.get_header_value("X-API-Key");
    r.remote_port = req.remote_port;
    r.arrived_at = std::chrono::steady_clock::now();
    r.arrived_at_wall = std::chrono::system_clock::now();
    requests_.push_back(std::move(r));
    return requests_.size() - 1;
  }

  void answered(std::size_t index, int status, bool duplicate = false) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_[index].status = status;
      requests_[index].duplicate = duplicate;
    }
    changed_.notify_all();
  }

  std::optional<Fault> draw_fault() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!scripted_.empty()) {
      Fault fault = scripted_.front();
      scripted_.pop_front();
      return fault;
    }
    if (every_nth_ > 0 && ++every_count_ % static_cast<std::uint64_t>(every_nth_) == 0) {
      return every_fault_;
    }
    if (fraction_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < fraction_) {
      return fraction_fault_;
    }
    return std::nullopt;
  }

  // Waits until stop(), clear_faults(), or the deadline. True when released early.
  bool hold(std::chrono::steady_clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t generation = release_generation_;
    return changed_.wait_until(lock, until, [&] {
      return stopping_ || release_generation_ != generation;
    });
  }

  void ingest(const httplib::Request& req, httplib::Response& res) {
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

  // True when the fault produced the whole answer.
  bool apply_fault(const Fault& fault, const httplib::Request& req, httplib::Response& res,
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

  void store(const json& doc, const std::string& body, httplib::Response& res, std::size_t index,
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

  json posture_locked(bool over_limit) const {
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

  // A fake OpenAI-compatible Chat Completions endpoint, so examples make a real provider-shaped
  // HTTP call. Request headers X-Mock-Delay-Ms and X-Mock-Status add a delay or an error.
  void chat(const httplib::Request& req, httplib::Response& res) {
    std::uint64_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = ++provider_calls_;
    }
    const int delay_ms = std::atoi(req.get_header_value("X-Mock-Delay-Ms").c_str());
    if (delay_ms > 0) hold(std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms));
    const int status = std::atoi(req.get_header_value("X-Mock-Status").c_str());
    if (status >= 400) {
      res.status = status;
      res.set_content(R"({"error":{"message":"mock provider error","type":"server_error"}})", kJson);
      return;
    }
    const json request = json::parse(req.body, nullptr, false);
    if (!request.is_object() || !request.contains("messages") || !request["messages"].is_array()) {
      res.status = 400;
      res.set_content(R"({"error":{"message":"messages is required","type":"invalid_request_error"}})", kJson);
      return;
    }
    std::string prompt;
    for (const json& m : request["messages"]) {
      if (m.is_object() && m.contains("content") && m["content"].is_string()) prompt += m["content"].get<std::string>();
    }
    const std::string model = request.value("model", std::string("gpt-4o-mini"));
    const std::string reply = "Mock answer to: " + prompt.substr(0, 48);
    // A deterministic token count: about four bytes a token plus chat framing.
    const std::int64_t prompt_tokens = static_cast<std::int64_t>(prompt.size() / 4 + 8);
    const std::int64_t completion_tokens = static_cast<std::int64_t>(reply.size() / 4 + 1);
    const json usage = {{"prompt_tokens", prompt_tokens},
                        {"completion_tokens", completion_tokens},
                        {"total_tokens", prompt_tokens + completion_tokens},
                        {"prompt_tokens_details", {{"cached_tokens", 0}}},
                        {"completion_tokens_details", {{"reasoning_tokens", 0}}}};
    const std::string id = "chatcmpl-mock" + std::to_string(n);
    const std::string answered_model = model + "-2024-07-18";
    if (request.value("stream", false)) {
      const bool include_usage = request.contains("stream_options") && request["stream_options"].is_object() &&
                                 request["stream_options"].value("include_usage", false);
      res.set_content(stream_body(id, answered_model, reply, include_usage ? usage : json()), "text/event-stream");
      return;
    }
    const json body = {{"id", id},
                       {"object", "chat.completion"},
                       {"created", 1733000000},
                       {"model", answered_model},
                       {"choices",
                        json::array({{{"index", 0},
                                      {"message", {{"role", "assistant"}, {"content", reply}}},
                                      {"finish_reason", "stop"}}})},
                       {"usage", usage},
                       {"system_fingerprint", "fp_mock"}};
    res.set_content(body.dump(), kJson);
  }

  static std::string stream_body(const std::string& id, const std::string& model, const std::string& reply,
                                 const json& usage) {
    std::string out;
    const auto event = [&](const json& choices, const json& usage_field) {
      json chunk = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", 1733000000},
                    {"model", model}, {"choices", choices}};
      if (!usage.is_null()) chunk["usage"] = usage_field;
      out += "data: " + chunk.dump() + "\n\n";
    };
    event(json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"finish_reason", nullptr}}}),
          nullptr);
    for (std::size_t at = 0; at < reply.size(); at += 16) {
      event(json::array({{{"index", 0}, {"delta", {{"content", reply.substr(at, 16)}}}, {"finish_reason", nullptr}}}),
            nullptr);
    }
    event(json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}), nullptr);
    if (!usage.is_null()) event(json::array(), usage);
    out += "data: [DONE]\n\n";
    return out;
  }

  void workspace(const httplib::Request& req, httplib::Response& res) {
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

  const MockIngestOptions options_;
  std::mutex lifecycle_mu_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  std::uint64_t release_generation_ = 0;
  std::string last_error_;
  std::deque<Fault> scripted_;
  Fault fraction_fault_;
  double fraction_ = 0;
  Fault every_fault_;
  int every_nth_ = 0;
  std::uint64_t every_count_ = 0;
  std::mt19937_64 rng_{1};
  std::int64_t plan_limit_ = -1;
  double rate_per_second_ = 0;  // the token bucket of set_rate_limit(); 0: none
  double rate_burst_ = 1;
  double rate_tokens_ = 0;
  std::chrono::steady_clock::time_point rate_refilled_at_{};
  bool budget_warning_ = false;
  bool budget_exceeded_ = false;
  std::vector<ReceivedRequest> requests_;
  std::vector<std::string> stored_;
  std::set<std::string> stored_ids_;
  std::size_t duplicates_ = 0;
  std::uint64_t provider_calls_ = 0;
};

MockIngestServer::MockIngestServer(MockIngestOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
MockIngestServer::~MockIngestServer() = default;
bool MockIngestServer::start() { return impl_->start(); }
void MockIngestServer::stop() { impl_->stop(); }
int MockIngestServer::port() const { return impl_->port(); }
std::string MockIngestServer::base_url() const {
  return (impl_->tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(impl_->port());
}
std::string MockIngestServer::last_error() const { return impl_->last_error(); }
void MockIngestServer::push_fault(const Fault& fault, int count) { impl_->push_fault(fault, count); }
void MockIngestServer::set_fault_fraction(const Fault& fault, double fraction, std::uint64_t seed) {
  impl_->set_fault_fraction(fault, fraction, seed);
}
void MockIngestServer::set_fault_every(const Fault& fault, int nth) { impl_->set_fault_every(fault, nth); }
void MockIngestServer::set_plan_limit(std::int64_t stored_records) { impl_->set_plan_limit(stored_records); }

void MockIngestServer::set_rate_limit(double per_second, double burst) {
  impl_->set_rate_limit(per_second, burst);
}
void MockIngestServer::set_budget_flags(bool warning, bool exceeded) {
  impl_->set_budget_flags(warning, exceeded);
}
void MockIngestServer::clear_faults() { impl_->clear_faults(); }
std::vector<ReceivedRequest> MockIngestServer::requests() const { return impl_->requests(); }
std::vector<std::string> MockIngestServer::stored_bodies() const { return impl_->stored_bodies(); }
std::size_t MockIngestServer::request_count() const { return impl_->request_count(); }
std::size_t MockIngestServer::stored_count() const { return impl_->stored_count(); }
std::size_t MockIngestServer::duplicate_count() const { return impl_->duplicate_count(); }
std::map<int, std::size_t> MockIngestServer::counts_by_status() const { return impl_->counts_by_status(); }
std::string MockIngestServer::stats_json() const { return impl_->stats_json(); }
void MockIngestServer::reset() { impl_->reset(); }
std::size_t MockIngestServer::drop_connections() { return shut_down_connections(port()); }
bool MockIngestServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  return impl_->wait_for(n, false, timeout);
}
bool MockIngestServer::wait_for_stored(std::size_t n, std::chrono::milliseconds timeout) const {
  return impl_->wait_for(n, true, timeout);
}

}  // namespace opsmeter::testing
