#pragma once
// StreamInstaller: writes a downloaded app image into the passive OTA slot while it streams in,
// then switches the boot slot — ESP-IDF's esp_ota_begin / esp_ota_write / esp_ota_end +
// esp_ota_set_boot_partition as esp_https_ota drives them (spec
// ../shared/spec/esp-idf-ota.md §4.1, §5, §6), with the checks a secure updater adds:
//
//   Begin   the target is GetNextUpdatePartition(running); esp_ota_begin's checks (not the
//           running slot; with rollback, refused while the running app is PENDING_VERIFY); the
//           v5.5 step that erases the inactive otadata sector; a declared size must fit.
//   Write   each chunk goes through an AppImageValidator first (so a wrong chip — the running
//           image's chip is the device's — or an image too big for the slot is refused before
//           its bytes reach flash, at the latest while the first sector is written), and, with
//           Secure Boot, into the signed region's digest; then it is programmed, each 4 KiB
//           sector erased just before its first byte (sequential erase, never the whole slot).
//   Resume  continues after a dropped connection, on this object or a fresh one after a
//           reboot (see Resume for the offset rule).
//   Finish  verifies the whole image again as it is in flash (checksum, SHA-256, size, and the
//           Secure Boot v2 signature with the sector read back), requires flash to hold what the
//           stream delivered, and only then writes otadata (state NEW with rollback, else
//           UNDEFINED): the one commit point of an install.
//
// Until Finish's otadata write the running firmware and its otadata entry are untouched; a power
// cut at any flash operation leaves a device that boots the old image (tests/integration/
// device_power_cut_test.cc). Project and version policy belong to the agent, not here.
//
// No heap: the caller lends a work buffer of 4 to 8 KiB (StreamInstallerBuffer owns one).
// Not thread-safe; one install at a time per flash. Every reference passed to the constructor
// must outlive the installer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/format/app_image.h"
#include "core/format/app_image_validator.h"
#include "core/format/otadata.h"
#include "core/hash.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/signature/signature_verifier.h"
#include "core/status.h"

namespace aloft::core {

inline constexpr size_t kInstallerMinWorkSize = 4096;  // holds a signature sector
inline constexpr size_t kInstallerMaxWorkSize = 8192;

struct InstallResult {
  int slot = kInvalidIndex;         // the ota_k written and selected
  uint32_t image_len = 0;           // spec esp-app-image.md §1
  uint32_t total_len = 0;           // bytes written (image, padding, signature sector)
  OtaState state = OtaState::kNew;  // what otadata now says: kNew, or kUndefined without rollback
  AppDescription app_description;   // of the new image
};

class StreamInstaller {
 public:
  // REQUIRES: flash, crypto, layout, config (and its TrustPolicy) and the work buffer outlive
  // the installer. The work buffer is checked by Begin/Resume.
  StreamInstaller(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                  const DeviceConfig& config, ByteSpan work);
  StreamInstaller(const StreamInstaller&) = delete;
  StreamInstaller& operator=(const StreamInstaller&) = delete;

  // Starts an install while `running` (the partition the device booted) runs. Drops any install
  // in progress on this object. Errors, in this order:
  //   kInvalidArgument "installer: work buffer must be 4 to 8 KiB";
  //   kFailedPrecondition "installer: no otadata partition";
  //   kNotFound "installer: running partition not in the table";
  //   kFailedPrecondition "installer: no ota slot to install into",
  //     "installer: target slot beyond the app-side ota count" (a table with a gap, §4);
  //   OtaBegin's (core/boot/ota_ops.h): kOtaPartitionConflict, kOtaRollbackInvalidState
  //     (kFailedPrecondition: the running app must confirm itself first);
  //   kOutOfRange "installer: declared size exceeds the slot" (context: the slot size);
  //   kFailedPrecondition "installer: running image unreadable" (its chip cannot be known);
  //   the flash's errors (kAborted after a power cut).
  Status Begin(int running, std::optional<uint32_t> declared_size = std::nullopt);

  // Appends `chunk` to the image. A chunk that fails a check writes nothing. Errors:
  //   kFailedPrecondition "installer: not begun" (or the earlier failure, repeated, after one);
  //   the validator's (app_image_validator.h): kPermissionDenied wrong chip or chip revision,
  //     kOutOfRange too big for the slot or the declared size, kInvalidArgument / kDataLoss for
  //     a malformed or corrupt image (checksum and hash as soon as they stream past);
  //   kPermissionDenied "installer: secure_version below the efuse value" (anti-rollback);
  //   the flash's errors. After an error the installer is failed until Begin or Resume.
  Status Write(ConstByteSpan chunk);

  // Restarts the install of the same target after the stream broke, having received `offset`
  // bytes. Runs Begin's checks, then rewinds to the 4 KiB sector boundary at or below `offset`
  // and re-reads [0, boundary) from flash through the validator and the digests, so what is
  // already in flash is checked again, byte for byte, as if it streamed in now. Returns the
  // boundary: the caller continues the download from there (e.g. HTTP Range).
  // Why a sector boundary: only bytes of writes that completed are trustworthy, and a write
  // that was cut may have left a torn tail anywhere in its last sector; the next Write at the
  // boundary erases that sector before programming it, so no torn byte survives. Bytes before
  // the boundary come from writes that returned OK before `offset` (REQUIRES: offset <= the
  // bytes whose Write returned OK); a wrong claim shows up as a validator error here or as
  // kDataLoss at Finish, and the caller restarts from 0.
  // Errors: Begin's; kOutOfRange "installer: resume offset beyond the slot"; the validator's for
  // the bytes re-read.
  Result<uint32_t> Resume(int running, uint32_t offset,
                          std::optional<uint32_t> declared_size = std::nullopt);

  // Ends the stream, verifies the image in flash and switches the boot slot. Errors:
  //   kFailedPrecondition "installer: not begun" (or the earlier failure);
  //   kDataLoss: truncated ("app image: truncated in ..."), checksum or SHA-256 mismatch,
  //     "installer: flash differs from the stream";
  //   kUnauthenticated / kPermissionDenied: the Secure Boot v2 signature (when config.trust);
  //   SetBootPartition's (ota_ops.h) errors; the flash's errors.
  // On OK otadata selects the new slot; the installer is idle again.
  Result<InstallResult> Finish();

  // Forgets the install (esp_ota_abort): nothing is erased; otadata is untouched.
  void Abort();

  bool writing() const { return state_ == State::kWriting; }
  // The slot being written (kInvalidIndex before Begin).
  int target() const { return target_; }
  // Bytes programmed into the slot so far.
  uint32_t written() const { return written_; }
  // The chip images must be built for: the running image's.
  std::optional<uint16_t> chip_id() const { return chip_id_; }

 private:
  enum class State : uint8_t { kIdle, kWriting, kFailed };

  Status Prepare(int running, std::optional<uint32_t> declared_size);
  // Feeds the validator and the signed-region digests.
  Status Absorb(ConstByteSpan bytes);
  Status Program(ConstByteSpan chunk);
  Status Fail(Status status);

  port::Flash& flash_;
  port::Crypto& crypto_;
  const DeviceLayout& layout_;
  const DeviceConfig& config_;
  ByteSpan work_;

  State state_ = State::kIdle;
  Status failure_;
  int target_ = kInvalidIndex;
  AppPartition slot_;
  std::optional<uint16_t> chip_id_;
  uint32_t written_ = 0;  // bytes programmed
  uint32_t fed_ = 0;      // bytes absorbed (== written_ between calls)
  std::optional<AppImageValidator> validator_;
  bool want_sha256_ = false;
  bool want_sha384_ = false;
  Hash region_sha256_;
  Hash region_sha384_;
};

namespace internal {
// Holds the buffer in a base class listed before StreamInstaller, so it exists before the
// installer is constructed over it.
template <size_t N>
struct InstallerStorage {
  std::array<std::byte, N> buffer;
};
}  // namespace internal

// A StreamInstaller that owns its work buffer of N bytes (4 to 8 KiB).
template <size_t N = kInstallerMinWorkSize>
class StreamInstallerBuffer final : private internal::InstallerStorage<N>, public StreamInstaller {
 public:
  static_assert(N >= kInstallerMinWorkSize && N <= kInstallerMaxWorkSize,
                "the installer's work buffer is 4 to 8 KiB");
  StreamInstallerBuffer(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                        const DeviceConfig& config)
      : StreamInstaller(flash, crypto, layout, config, this->buffer) {}
};

}  // namespace aloft::core
