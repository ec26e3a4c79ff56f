#pragma once
// Boot selection: what ESP-IDF's second-stage bootloader does with otadata, as decode → decide
// → apply. Decode is ParseOtadata (core/format/otadata.h); SelectBootIndex, LoadOrder and
// DecideBoot are pure decisions (no I/O, no heap); RewriteOtadataSector is the one flash write
// the bootloader makes. Mirrors ESP-IDF v5.5.5 bootloader_utility.c
// (bootloader_utility_get_selected_boot_partition, bootloader_utility_load_boot_image,
// set_actual_ota_seq). Spec: shared/spec/esp-idf-ota.md §3, §5.5; docs/formats/otadata.md.
// The decisions keep no state and may run on any thread; an ImageCheck implementation states
// its own contract.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/boot/slot_layout.h"
#include "core/check.h"
#include "core/format/otadata.h"
#include "core/port/flash.h"
#include "core/status.h"

namespace aloft::core {

// The build options and eFuse state that change the decision.
struct BootConfig {
  bool rollback_enabled = false;       // CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  bool anti_rollback_enabled = false;  // CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
  // The eFuse secure version (a count of burnt bits) and how many bits the field has
  // (CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD; a larger app value is never burnt).
  uint32_t efuse_secure_version = 0;
  uint32_t efuse_secure_version_bits = 32;
  // Each app's esp_app_desc_t.secure_version where its description is readable; nullopt makes
  // the anti-rollback check fail, as a failed bootloader_common_get_partition_description does.
  PerAppPartition<std::optional<uint32_t>> secure_version;
  // CONFIG_BOOTLOADER_APP_TEST with its GPIO held at reset: boot the test app or nothing.
  bool test_app_requested = false;
};

// Whether the image in an app partition passes full verification (esp_image_verify, spec
// §5.4). DecideBoot asks in load order and stops at the first yes, as the bootloader does, so
// an implementation may verify lazily. Called only for partitions that exist in the layout.
class ImageCheck {
 public:
  virtual bool ImageVerifies(int index) = 0;

 protected:
  ImageCheck() = default;
  ImageCheck(const ImageCheck&) = default;
  ImageCheck& operator=(const ImageCheck&) = default;
  ~ImageCheck() = default;
};

// Fixed verdicts, for tests and callers that already know them. Default: nothing verifies.
struct ImageVerdicts final : public ImageCheck {
  // Every partition verifies.
  static ImageVerdicts AllVerify();
  bool ImageVerifies(int index) override { return verifies[index]; }

  PerAppPartition<bool> verifies;
};

// A short fixed-capacity list (no heap). REQUIRES (checked): at most N pushes.
template <typename T, size_t N>
class FixedList {
 public:
  void Push(const T& value) {
    ALOFT_CHECK(size_ < N);
    items_[size_++] = value;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const {
    ALOFT_CHECK(i < size_);
    return items_[i];
  }
  const T* begin() const { return items_.data(); }
  const T* end() const { return items_.data() + size_; }
  std::span<const T> view() const { return {items_.data(), size_}; }

 private:
  std::array<T, N> items_{};
  size_t size_ = 0;
};

// At most: PENDING_VERIFY→ABORTED on both sectors, then one of {NEW→PENDING_VERIFY on the
// active sector, the initial write of sector 0}.
using OtadataWrites = FixedList<OtadataWrite, 3>;
// Every OTA slot, factory and test.
using LoadOrderList = FixedList<int, kMaxOtaSlots + 2>;

struct BootSelection {
  // kFactoryIndex, kTestIndex, kInvalidIndex (reset without loading anything) or an OTA slot
  // k (which may not exist: LoadOrder then skips it).
  int index = kInvalidIndex;
  // The sector whose entry chose `index`, or kNoEntry.
  int active_sector = kNoEntry;
  // Written before loading, in this order.
  OtadataWrites writes;
  // ota_has_initial_contents: both sectors were unset, so the first OTA slot that loads gets
  // sector 0 = {seq k+1, VALID} (DecideBoot adds that write).
  bool initial = false;
  // Anti-rollback: the active entry was VALID, so the eFuse secure version is raised to its
  // app's secure_version before loading (reported, not burnt: the caller owns the eFuse).
  std::optional<uint32_t> secure_version_raise;
};

// bootloader_utility_get_selected_boot_partition (spec §3.2). `otadata` is null when the
// otadata partition could not be read or is smaller than 0x2000 (ParseOtadata failed): the
// result is then kInvalidIndex. Without an otadata partition (layout.has_otadata false) the
// result is kFactoryIndex and otadata is not looked at.
BootSelection SelectBootIndex(const Otadata* otadata, const SlotLayout& layout,
                              const BootConfig& config);

// The candidates bootloader_utility_load_boot_image(start) tries, in order (spec §3.3): start
// down to factory, then start+1 up to bootloader_ota_count-1, then test, skipping partitions
// that do not exist; only test when start == kTestIndex; nothing for kInvalidIndex.
// REQUIRES (checked): start is kTestIndex, kInvalidIndex or >= kFactoryIndex.
LoadOrderList LoadOrder(int start, const SlotLayout& layout);

// Why a candidate did or did not boot.
enum class LoadResult : uint8_t {
  kLoaded,
  kSecureVersionTooLow,  // anti-rollback: secure_version unknown or below the eFuse value
  kImageInvalid,         // ImageCheck said no
};
struct LoadAttempt {
  int index = kInvalidIndex;
  LoadResult result = LoadResult::kImageInvalid;
};

struct BootDecision {
  BootSelection selection;
  // The partition that boots; nullopt when the bootloader resets instead (kInvalidIndex, or no
  // candidate loads: the device is bricked until something rewrites flash).
  std::optional<int> booted;
  // Every otadata write in order: the selection's, then the initial write of sector 0.
  OtadataWrites writes;
  // The eFuse secure version after this boot, when it was raised (by an active VALID entry
  // before loading, or by the initial write). Later candidates are checked against it.
  std::optional<uint32_t> secure_version_raise;
  // Every candidate tried, in load order, with its verdict; only the last can be kLoaded.
  FixedList<LoadAttempt, kMaxOtaSlots + 2> attempts;
};

// One whole boot: SelectBootIndex, then LoadOrder, each candidate checked for anti-rollback
// (if enabled) and then by `images`, and the initial otadata write (spec §3.3.5).
BootDecision DecideBoot(const Otadata* otadata, const SlotLayout& layout, const BootConfig& config,
                        ImageCheck& images);

// Applies one OtadataWrite: erases the 4 KiB `sector` of the otadata partition at
// otadata_offset, then writes the 32-byte entry at its start (bootloader write_otadata; the
// app side's rewrite_ota_seq is the same two steps). REQUIRES: sector is 0 or 1 (checked),
// otadata_offset is 4 KiB-aligned (else the flash's kInvalidArgument). Returns the flash's
// error (kAborted after a power cut) and stops at the first one.
Status RewriteOtadataSector(port::Flash& flash, uint32_t otadata_offset, int sector,
                            const OtaSelectEntry& entry);

}  // namespace aloft::core
