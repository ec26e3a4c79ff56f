#pragma once
// The plain records the Store keeps (store.h), one struct per table row, plus the small closed
// vocabularies they use (rollout states, device update states) and the validators for the
// identifiers whose alphabet the store relies on. Times are int64 milliseconds since the Unix
// epoch, always supplied by the caller (the store never reads a clock). The data model and its
// rationale: src/server/store/README.md.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aloft::server {

// A rollout's life. Only kActive rollouts are offered to devices.
enum class RolloutState : uint8_t { kActive, kPaused, kHalted, kCompleted };

// The latest known step of one device in one rollout, and the state an event reports. kOffered
// is written by the server when a check-in answer offers the release; the others come from the
// device's events (the agent's report vocabulary).
enum class UpdateState : uint8_t {
  kOffered,
  kDownloading,
  kDownloaded,
  kVerified,
  kRebooting,
  kConfirmed,
  kFailed,
  kRolledBack,
};
inline constexpr size_t kUpdateStateCount = 8;

// Names as stored in the database and used on the wire: "active", "rolled_back", ...
std::string_view RolloutStateName(RolloutState state);
std::optional<RolloutState> ParseRolloutState(std::string_view name);
std::string_view UpdateStateName(UpdateState state);
std::optional<UpdateState> ParseUpdateState(std::string_view name);

// Identifier alphabets. Device and event ids: [A-Za-z0-9._-]{1,64}. Tags: [A-Za-z0-9._:=/-]{1,64}
// (no comma: the stored form of a tag list is ",a,b,"). SHA-256 values: 64 lowercase hex digits.
inline constexpr size_t kMaxIdBytes = 64;
inline constexpr size_t kMaxTags = 32;
bool IsValidDeviceId(std::string_view id);
bool IsValidEventId(std::string_view id);
bool IsValidTag(std::string_view tag);
bool IsValidSha256Hex(std::string_view hex);

// Admin bearer token; only its hash is stored (SHA-256 hex of the token).
struct AdminToken {
  int64_t id = 0;
  std::string name;
  std::string token_hash;
  int64_t created_at_ms = 0;
};

// A release public key registered for a project (Secure Boot v2 style digest of the key).
struct ReleaseKey {
  std::string project;
  std::string key_digest;  // SHA-256 hex
  std::string public_pem;
  int64_t created_at_ms = 0;
  std::optional<int64_t> revoked_at_ms;  // set once revoked; a revoked key signs nothing new
};

// A content-addressed firmware file DATA/artifacts/<sha256>.bin.
struct Artifact {
  std::string sha256;
  uint64_t size_bytes = 0;
  int64_t created_at_ms = 0;
};

// A published release. Unique by (project, chip, version).
struct Release {
  int64_t id = 0;  // assigned by the store
  std::string project;
  std::string chip;  // chip name, e.g. "esp32s3"
  uint32_t chip_id = 0;
  std::string version;
  uint32_t secure_version = 0;
  uint64_t size_bytes = 0;
  std::string sha256;               // an Artifact's
  std::string min_running_version;  // empty: none
  std::string signing_key_digest;   // a ReleaseKey of the same project
  std::string manifest_json;        // the signed manifest, verbatim
  int64_t created_at_ms = 0;
};

struct ReleaseQuery {
  std::string project;  // each field: empty matches any
  std::string chip;
  std::string version;
};

// A registered device. Tags are kept sorted and without duplicates.
struct Device {
  std::string id;
  std::string token_hash;
  std::string project;
  std::string chip;
  std::vector<std::string> tags;
  std::string current_version;
  uint32_t secure_version = 0;
  int64_t created_at_ms = 0;
  std::optional<int64_t> last_checkin_at_ms;
  std::optional<int64_t> last_event_at_ms;
  std::optional<UpdateState> last_event_state;
};

// What a check-in changes on its device.
struct DeviceCheckin {
  std::string device_id;
  std::string current_version;
  uint32_t secure_version = 0;
  std::vector<std::string> tags;
  int64_t at_ms = 0;
};

// Device search, one page at a time, ordered by id (byte order). Every filter is optional
// (empty matches any); they combine with AND.
struct DeviceQuery {
  std::string project;
  std::string id_prefix;  // same alphabet as device ids
  std::string version;    // exact current_version
  std::string tag;        // the device has this tag
  std::string after_id;   // keyset cursor: only ids after this one (DevicePage::next_after_id)
  uint32_t limit = 100;   // 1..kMaxPageSize
};
inline constexpr uint32_t kMaxPageSize = 1000;

struct DevicePage {
  std::vector<Device> devices;
  std::string next_after_id;  // empty when this is the last page
};

// How many registered devices run one version of one project on one chip (the fleet summary).
// version is the last one the device reported ("" if it never checked in with one).
struct VersionCount {
  std::string project;
  std::string chip;
  std::string version;
  int64_t devices = 0;

  friend bool operator==(const VersionCount&, const VersionCount&) = default;
};

// A staged rollout of one release. percent_bp is in basis points (0..10000 = 0..100%).
struct Rollout {
  int64_t id = 0;  // assigned by the store
  int64_t release_id = 0;
  uint32_t percent_bp = 0;
  std::vector<std::string> tags;  // a device must have every one; sorted, unique
  std::string min_version;        // empty: none
  double halt_failure_rate = 0.10;
  uint32_t min_sample = 10;
  RolloutState state = RolloutState::kActive;
  std::string state_reason;  // why it is in its state (e.g. the halt reason); may be empty
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct RolloutQuery {
  std::optional<int64_t> release_id;  // each field: unset matches any
  std::optional<RolloutState> state;
};

// One entry of a rollout's percentage history (the first is its creation).
struct RolloutPercentChange {
  uint32_t percent_bp = 0;
  int64_t at_ms = 0;
};

// An active rollout joined with its release: what a check-in needs, in one query.
struct ActiveRollout {
  Rollout rollout;
  Release release;
};

// The latest state of one device in one rollout.
struct RolloutDevice {
  int64_t rollout_id = 0;
  std::string device_id;
  UpdateState state = UpdateState::kOffered;
  std::string reason;
  int64_t updated_at_ms = 0;
};

// How many devices of a rollout are in each state.
struct RolloutCounts {
  std::array<int64_t, kUpdateStateCount> by_state{};
  int64_t of(UpdateState state) const { return by_state[static_cast<size_t>(state)]; }
  int64_t total() const;
};

// One report from a device. (device_id, event_id) identifies it: recording it again is a no-op.
struct Event {
  std::string device_id;
  std::string event_id;
  std::optional<int64_t> rollout_id;
  std::optional<int64_t> release_id;
  UpdateState state = UpdateState::kDownloading;  // never kOffered
  std::optional<int64_t> progress_bytes;          // for kDownloading
  std::string reason;                             // for kFailed, kRolledBack
  std::string version;                            // the version the device reports running
  std::optional<int64_t> device_time_ms;          // the device's own clock, if it has one
  int64_t received_at_ms = 0;
};

enum class EventInsert : uint8_t { kNew, kDuplicate };

// Tags in their canonical form: sorted, duplicates removed.
std::vector<std::string> CanonicalTags(std::vector<std::string> tags);

}  // namespace aloft::server
