#pragma once
// Test firmware for emulated devices: valid ESP app images (core::BuildAppImage) that say how
// their self-test will go, and the SelfTest that reads it from the image a device runs. This is
// how `aloft image make-test --self-test fail` makes a release that rolls back, and how the
// emulated device (`aloft device run`, the fleet simulator) behaves like that firmware.
//
// The marker: the ASCII text "aloft-self-test:" followed by "pass", "fail" or "crash" and a NUL,
// as the first bytes of segment 0's payload, right after esp_app_desc_t — image offset 0x120
// (kSelfTestMarkerOffset) — where a real firmware has its rodata. It is inside the image's
// checksum, SHA-256 and signature, so it cannot be changed without re-signing; an image
// without it (any real firmware) passes its self-test. docs/device.md describes it.
// Host only (heap). Thread-safe: plain functions; an ImageSelfTest belongs to one device.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.h"
#include "core/device/device_layout.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/port/system.h"
#include "core/result.h"

namespace aloft::emulator {

enum class SelfTestMode : uint8_t { kPass, kFail, kCrash };
// "pass", "fail", "crash".
const char* SelfTestModeName(SelfTestMode mode);
std::optional<SelfTestMode> ParseSelfTestMode(std::string_view name);

inline constexpr uint32_t kSelfTestMarkerOffset = 0x120;
inline constexpr std::string_view kSelfTestMarkerPrefix = "aloft-self-test:";
// The longest marker ("aloft-self-test:crash" and its NUL).
inline constexpr size_t kSelfTestMarkerMaxSize = 22;

// The marker bytes for `mode`, NUL included.
std::string SelfTestMarker(SelfTestMode mode);
// The mode a marker at the start of `bytes` names, or nullopt if there is none.
std::optional<SelfTestMode> ParseSelfTestMarker(ConstByteSpan bytes);

struct TestImageSpec {
  std::string version = "1.0.0";
  std::string project = "aloft_test";
  uint16_t chip_id = 0;  // esp32
  uint32_t secure_version = 0;
  // The image's size in bytes, at least kMinTestImageSize; the format may round it up by a few
  // bytes (segments are multiples of 4, the checksum ends a 16-byte block).
  uint32_t size_bytes = 64 * 1024;
  SelfTestMode self_test = SelfTestMode::kPass;
  uint32_t fill_seed = 1;  // the payload's pseudo-random bytes
};
inline constexpr uint32_t kMinTestImageSize = 1024;

// An unsigned test image. kInvalidArgument "test image: size below 1024 bytes", "test image:
// size too large"; the recipe errors of BuildAppImage (version or project too long, unknown
// chip).
Result<std::vector<std::byte>> MakeTestImage(port::Crypto& crypto, const TestImageSpec& spec);

// The marker of the image at the start of `partition` (read from flash), or nullopt if it has
// none. Errors: the flash's.
Result<std::optional<SelfTestMode>> ReadSelfTestMarker(port::Flash& flash,
                                                       const core::AppPartition& partition);

// The firmware's self-test of an emulated device: it does what the running image's marker
// says (or `override_mode`, when set, whatever the image says). kFail returns kInternal
// "self-test: the test image's self-test fails"; kCrash returns kAborted "self-test: crashed"
// (the agent stops; the device must be reset, and the bootloader rolls the image back).
class ImageSelfTest final : public agent::SelfTest {
 public:
  // REQUIRES: everything outlives the self-test.
  ImageSelfTest(port::Flash& flash, const core::DeviceLayout& layout, port::System& system,
                std::optional<SelfTestMode> override_mode = std::nullopt);
  Status Run() override;

  // What the last Run did, and how many ran.
  std::optional<SelfTestMode> last_mode() const { return last_mode_; }
  uint32_t runs() const { return runs_; }

 private:
  port::Flash& flash_;
  const core::DeviceLayout& layout_;
  port::System& system_;
  std::optional<SelfTestMode> override_;
  std::optional<SelfTestMode> last_mode_;
  uint32_t runs_ = 0;
};

}  // namespace aloft::emulator
