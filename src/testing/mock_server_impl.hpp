// The mock ingest server's insides, shared by its two files: the server (lifecycle, faults,
// counts; mock_ingest_server.cpp) and its route handlers (ingest, a fake provider, workspace
// status; mock_handlers.cpp).
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "opsmeter/testing/mock_ingest_server.hpp"

namespace opsmeter::testing {
namespace mock {

using nlohmann::json;
inline constexpr const char* kJson = "application/json";

std::string error_body(const std::string& reason, const std::string& detail = {});
// Why a payload breaks the ingest contract, or empty.
std::string validate_payload(const json& doc);
// Faults under HTTP, on the server's sockets (see mock_ingest_server.cpp).
bool reset_connection(int server_port, int peer_port);
void raise_listen_backlog(int server_port);
std::size_t shut_down_connections(int server_port);

}  // namespace mock

using namespace mock;  // in this header's two files only

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
    last_cached_prompt_.clear();
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
    server_->Post("/v1/responses",
                  [this](const httplib::Request& req, httplib::Response& res) { responses(req, res); });
    server_->Post("/api/chat",
                  [this](const httplib::Request& req, httplib::Response& res) { ollama_chat(req, res); });
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


  void ingest(const httplib::Request& req, httplib::Response& res);

  // True when the fault produced the whole answer.
  bool apply_fault(const Fault& fault, const httplib::Request& req, httplib::Response& res,
                   std::size_t index);

  void store(const json& doc, const std::string& body, httplib::Response& res, std::size_t index,
             bool garbage);

  json posture_locked(bool over_limit) const;

  // The fake provider (mock_provider.cpp), so examples make real provider-shaped HTTP calls:
  // Chat Completions (and llama.cpp's variant), Responses, Ollama's chat. Request headers
  // X-Mock-Delay-Ms and X-Mock-Status add a delay or an error.
  // The common start of a fake provider call (mock_provider.cpp): counted, delayed by
  // X-Mock-Delay-Ms, failed by X-Mock-Status, its body a JSON object with `required` in the
  // shape `valid` accepts (else 400 "<required> is required"); then its prompt and the reply.
  struct ProviderCall {
    std::uint64_t n = 0;  // which provider call this is, from 1
    json request;
    std::string prompt;
    std::string reply;
  };
  std::optional<ProviderCall> provider_call(const httplib::Request& req, httplib::Response& res,
                                            const char* required, bool (*valid)(const json&));
  void chat(const httplib::Request& req, httplib::Response& res);
  void responses(const httplib::Request& req, httplib::Response& res);
  void ollama_chat(const httplib::Request& req, httplib::Response& res);

  static std::string stream_body(const std::string& id, const std::string& model, const std::string& reply,
                                 const json& usage);

  void workspace(const httplib::Request& req, httplib::Response& res);
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
  std::string last_cached_prompt_;  // the fake llama.cpp server's prompt cache
};

}  // namespace opsmeter::testing
