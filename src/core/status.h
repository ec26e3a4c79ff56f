#pragma once
// Status: the outcome of an operation, as one small value. OK costs nothing to build or copy.
// An error carries a code (what kind of failure, so callers can react), a reason (a string
// literal naming the structure and field, so it never allocates) and optionally one integer of
// context (an offset, index, line or size) that the edge (CLI, server) turns into a message.
// Codes and when to choose each: ../../../shared/STYLE.md §1; docs/errors.md.

#include <cstdint>
#include <string_view>

namespace aloft {

class [[nodiscard]] Status {
 public:
  enum class Code : uint8_t {
    kOk = 0,
    kInvalidArgument,     // malformed input: a CSV row, a misaligned offset, a bad flag
    kDataLoss,            // corrupt bytes: CRC, hash, truncation
    kUnauthenticated,     // a signature or key does not verify
    kPermissionDenied,    // authentic but refused: downgrade, secure_version, wrong chip
    kOutOfRange,          // past the end, or too big for the slot
    kFailedPrecondition,  // the system is in the wrong state for this call
    kNotFound,            // a required thing (partition, key, record) does not exist
    kAlreadyExists,       // refusing to overwrite
    kUnavailable,         // transient: retrying may succeed
    kDeadlineExceeded,    // a timeout
    kResourceExhausted,   // a fixed capacity is full
    kUnimplemented,       // not supported (said so, never stubbed)
    kAborted,             // power was lost (the emulated chip is dead)
    kInternal,            // a broken invariant
  };

  constexpr Status() = default;

  // REQUIRES: `reason` has static storage duration (a string literal).
  constexpr Status(Code code, const char* reason) : code_(code), reason_(reason) {}
  constexpr Status(Code code, const char* reason, uint32_t context)
      : code_(code), has_context_(true), context_(context), reason_(reason) {}

  constexpr bool ok() const { return code_ == Code::kOk; }
  constexpr Code code() const { return code_; }
  // "ok" for an OK status.
  constexpr const char* reason() const { return reason_; }
  constexpr bool has_context() const { return has_context_; }
  constexpr uint32_t context() const { return context_; }

  // The same error with (new) context; used where an inner layer knows the field and an outer
  // layer knows the index or offset.
  constexpr Status WithContext(uint32_t context) const {
    return ok() ? *this : Status(code_, reason_, context);
  }

  friend constexpr bool operator==(const Status& a, const Status& b) {
    // Reasons compare by text: the same literal in two translation units need not share an
    // address.
    return a.code_ == b.code_ && std::string_view(a.reason_) == std::string_view(b.reason_) &&
           a.has_context_ == b.has_context_ && a.context_ == b.context_;
  }

 private:
  Code code_ = Code::kOk;
  bool has_context_ = false;
  uint32_t context_ = 0;
  const char* reason_ = "ok";
};

// The enumerator's name without the k, in snake case ("invalid_argument"). Never null.
const char* CodeName(Status::Code code);

constexpr Status OkStatus() { return Status(); }

// Shorthands, so a failure reads `return InvalidArgument("csv: size field is empty", line);`.
#define ALOFT_INTERNAL_STATUS_MAKER(Name)                                                  \
  constexpr Status Name(const char* reason) { return Status(Status::Code::k##Name, reason); } \
  constexpr Status Name(const char* reason, uint32_t context) {                             \
    return Status(Status::Code::k##Name, reason, context);                                  \
  }
ALOFT_INTERNAL_STATUS_MAKER(InvalidArgument)
ALOFT_INTERNAL_STATUS_MAKER(DataLoss)
ALOFT_INTERNAL_STATUS_MAKER(Unauthenticated)
ALOFT_INTERNAL_STATUS_MAKER(PermissionDenied)
ALOFT_INTERNAL_STATUS_MAKER(OutOfRange)
ALOFT_INTERNAL_STATUS_MAKER(FailedPrecondition)
ALOFT_INTERNAL_STATUS_MAKER(NotFound)
ALOFT_INTERNAL_STATUS_MAKER(AlreadyExists)
ALOFT_INTERNAL_STATUS_MAKER(Unavailable)
ALOFT_INTERNAL_STATUS_MAKER(DeadlineExceeded)
ALOFT_INTERNAL_STATUS_MAKER(ResourceExhausted)
ALOFT_INTERNAL_STATUS_MAKER(Unimplemented)
ALOFT_INTERNAL_STATUS_MAKER(Aborted)
ALOFT_INTERNAL_STATUS_MAKER(Internal)
#undef ALOFT_INTERNAL_STATUS_MAKER

}  // namespace aloft
