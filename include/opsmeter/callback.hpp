// opsmeter/callback.hpp: the callable type of the options' callbacks (on_log, on_result,
// on_pause).
//
// It holds any callable with the right signature, like std::function, but without pulling
// <functional> into every file that includes the SDK (that header alone costs more compile
// time than the rest of the public API). Copies of a Callback share the same callable object;
// the client copies its options once, so a stateful lambda behaves as you would expect.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace opsmeter {

template <typename Signature>
class Callback;

template <typename R, typename... Args>
class Callback<R(Args...)> {
 public:
  Callback() noexcept = default;
  Callback(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Callback> &&
                                                    std::is_invocable_r_v<R, std::decay_t<F>&, Args...>>>
  Callback(F&& f)  // NOLINT(google-explicit-constructor): assign lambdas directly
      : impl_(std::make_shared<Model<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return impl_ != nullptr; }
  R operator()(Args... args) const { return impl_->call(std::forward<Args>(args)...); }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual R call(Args... args) = 0;
  };
  template <typename F>
  struct Model final : Concept {
    template <typename G>
    explicit Model(G&& g) : f(std::forward<G>(g)) {}
    R call(Args... args) override { return f(std::forward<Args>(args)...); }
    F f;
  };
  std::shared_ptr<Concept> impl_;
};

}  // namespace opsmeter
