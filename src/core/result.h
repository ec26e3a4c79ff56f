#pragma once
// Result<T>: a value or the non-OK Status that explains why there is none. Taking the value of
// an error is a checked crash (ALOFT_CHECK), never undefined behaviour. No heap: the value lives
// inside the Result.

#include <optional>
#include <type_traits>
#include <utility>

#include "core/check.h"
#include "core/status.h"

namespace aloft {

template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Status>, "use Status, not Result<Status>");

  // Implicit on purpose: `return value;` and `return InvalidArgument(...)` both read naturally.
  Result(const T& value) : value_(value) {}                                      // NOLINT
  Result(T&& value) : value_(std::move(value)) {}                                // NOLINT
  Result(Status status) : status_(status) { ALOFT_CHECK(!status_.ok()); }       // NOLINT
  template <typename U,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, T> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, Result>>>
  Result(U&& value) : value_(std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    ALOFT_CHECK(ok());
    return *value_;
  }
  const T& value() const& {
    ALOFT_CHECK(ok());
    return *value_;
  }
  T&& value() && {
    ALOFT_CHECK(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

namespace internal {
inline Status ToStatus(const Status& status) { return status; }
template <typename T>
Status ToStatus(const Result<T>& result) {
  return result.status();
}
}  // namespace internal

}  // namespace aloft
