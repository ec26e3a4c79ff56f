#pragma once
// The device side of device protocol v1 (docs/device-protocol.md): the JSON bodies the agent
// sends (check-in, events) and the answers it reads (check-in answer, events answer), built and
// parsed in caller buffers with no heap. Parsing uses jsmn (a tokenizer over a caller-owned
// token array, JsonWorkspace) and then checks the structure itself, so hostile input yields a
// specific kInvalidArgument, never a crash or an ambiguous reading (duplicate keys are refused).
//
// Parsing only extracts; it trusts nothing. The agent believes a check-in answer only after the
// freshness MAC (core/release/freshness.h) over the exact body bytes verifies, and an update only
// after its manifest signature verifies (core/release/manifest.h).
//
// Thread-safety: plain functions; callers own every buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/release/freshness.h"
#include "core/release/manifest.h"
#include "core/result.h"
#include "core/signature/signature_block.h"
#include "core/status.h"

namespace aloft::agent {

inline constexpr std::string_view kCheckinPath = "/api/v1/check";
inline constexpr std::string_view kEventsPath = "/api/v1/events";
inline constexpr std::string_view kFreshnessHeader = "X-Aloft-Freshness";

// The largest check-in answer the device reads: a RELEASE.json with three signature blocks
// (base64 of 3 x 1216 bytes is 4864 characters) and every plain field, in its envelope, fits
// with room to spare.
inline constexpr size_t kMaxCheckinAnswerSize = 8192;
inline constexpr size_t kMaxSignatureSize = core::kSignatureBlockCount * core::kSignatureBlockSize;
static_assert(kMaxSignatureSize == 3648);
static_assert(kMaxSignatureSize / 3 * 4 + core::kMaxManifestSize / 3 * 4 + 1024 <
              kMaxCheckinAnswerSize);
// JSON tokens: a full answer has about 60; unknown fields a newer server adds take the rest.
inline constexpr size_t kMaxJsonTokens = 128;
inline constexpr size_t kMaxArtifactPathSize = 160;
inline constexpr size_t kMaxTags = 8;
inline constexpr size_t kMaxTagSize = 64;
inline constexpr size_t kMaxEventIdSize = 64;  // the protocol's limit
inline constexpr size_t kMaxReasonSize = 96;
inline constexpr size_t kMaxEventsPerRequest = 16;

// Storage for jsmn's tokens (jsmntok_t with parent links is 5 ints; protocol.cc checks). Owned
// by the caller so a 2.5 KiB array never lands on a small task stack.
inline constexpr size_t kJsonTokenBytes = 5 * sizeof(int);
struct JsonWorkspace {
  alignas(alignof(int)) std::array<std::byte, kMaxJsonTokens * kJsonTokenBytes> storage{};
};

// ---- check-in ----

struct CheckinRequest {
  std::string_view device_id;  // 1..64 bytes
  std::string_view project;    // the running app's esp_app_desc_t.project_name
  std::string_view chip;       // ChipName() of the device's chip ("esp32c3")
  std::string_view version;    // the running app's version
  uint32_t secure_version = 0;
  std::span<const std::string_view> tags;
  ConstByteSpan nonce;  // core::kCheckinNonceSize bytes, sent as 32 lower-case hex digits
};

// Writes {"device_id", "project", "chip", "version", "secure_version", "tags", "nonce"} to the
// start of `out`; returns its length. Strings are JSON-escaped. kInvalidArgument
// "protocol: text field is not ASCII" (a byte >= 0x80, which JSON cannot carry as-is),
// "protocol: nonce is not 16 bytes", "protocol: too many tags"; kResourceExhausted
// "protocol: output buffer too small".
Result<size_t> BuildCheckinRequest(const CheckinRequest& request, std::span<char> out);

struct UpdateOffer {
  ConstByteSpan manifest;   // the RELEASE.json's `manifest`, decoded: canonical manifest bytes
  ConstByteSpan signature;  // its `signature`, decoded: 1..3 signature blocks
  std::string_view artifact_path;  // "/api/v1/artifacts/<sha256>": an origin-relative path
  uint32_t size_bytes = 0;
  std::array<std::byte, 32> sha256{};
  int64_t release_id = 0;
  int64_t rollout_id = 0;
};

struct CheckinAnswer {
  std::array<std::byte, core::kCheckinNonceSize> nonce{};
  uint64_t server_time_ms = 0;
  std::optional<UpdateOffer> update;  // nullopt: "update": null
};

// Parses a check-in answer, IN PLACE: string escapes are resolved and base64 decoded inside
// `body`, and the views in the result point into it (so `body` must outlive them, and anything
// that needs the bytes as received — the freshness MAC's body digest — must be computed first).
// Unknown fields are ignored at every level (a newer server may add some); the fields read must
// be present once with the right type. Errors, all kInvalidArgument:
//   "check-in answer: too large" (over kMaxCheckinAnswerSize), "check-in answer: not JSON",
//   "check-in answer: too many JSON tokens", "check-in answer: not a JSON object",
//   "check-in answer: malformed JSON structure", "check-in answer: duplicate key",
//   "check-in answer: bad string escape", "check-in answer: control character in string",
//   "check-in answer: field <name> is missing or has the wrong type" (one reason per field:
//   nonce, server_time_ms, update, release, manifest, signature, artifact_url, size, sha256,
//   release_id, rollout_id),
//   "check-in answer: nonce is not 32 hex digits", "check-in answer: sha256 is not 64 hex
//   digits", "check-in answer: number is not a non-negative integer" (context: its offset),
//   "check-in answer: artifact_url is not a path", "check-in answer: manifest is not base64",
//   "check-in answer: manifest too long", "check-in answer: signature is not base64",
//   "check-in answer: signature is not 1 to 3 blocks".
Result<CheckinAnswer> ParseCheckinAnswer(std::span<char> body, JsonWorkspace& workspace);

// ---- events ----

enum class EventState : uint8_t {
  kDownloading,
  kDownloaded,
  kVerified,
  kRebooting,
  kConfirmed,
  kFailed,
  kRolledBack,
};
inline constexpr size_t kEventStateCount = 7;
// The wire names: "downloading", ..., "rolled_back".
const char* EventStateName(EventState state);

struct EventReport {
  std::string_view id;  // 1..64 bytes of [A-Za-z0-9._-], unique per device
  EventState state = EventState::kDownloading;
  std::optional<uint8_t> progress;  // 0..100
  std::optional<uint32_t> bytes;
  std::string_view reason;   // omitted when empty
  std::string_view version;  // the version the device is running
  std::optional<int64_t> release_id;
  std::optional<int64_t> rollout_id;
  uint64_t time_ms = 0;
};

// Writes {"device_id", "events": [...]} to the start of `out`; returns its length. Errors:
// kInvalidArgument "protocol: text field is not ASCII", "protocol: event id is not 1..64 id
// characters", "protocol: no events", "protocol: progress over 100"; kResourceExhausted
// "protocol: output buffer too small".
Result<size_t> BuildEventsRequest(std::string_view device_id, std::span<const EventReport> events,
                                  std::span<char> out);

// Reads {"accepted": [ids], "duplicates": [ids]} and sets acknowledged[i] for each ids[i] listed
// in either (the server committed it, now or before). Parses IN PLACE like ParseCheckinAnswer.
// REQUIRES: acknowledged.size() == ids.size(). kInvalidArgument "events answer: ..." for the
// same structural faults as the check-in answer, and "events answer: field accepted is missing
// or has the wrong type" (likewise duplicates), "events answer: id is not a string".
Status ParseEventsAnswer(std::span<char> body, JsonWorkspace& workspace,
                         std::span<const std::string_view> ids, std::span<bool> acknowledged);

}  // namespace aloft::agent
