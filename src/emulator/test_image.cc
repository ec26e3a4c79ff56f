#include "emulator/test_image.h"

#include <array>
#include <cstring>

#include "core/format/app_image_builder.h"

namespace aloft::emulator {

const char* SelfTestModeName(SelfTestMode mode) {
  switch (mode) {
    case SelfTestMode::kPass:
      return "pass";
    case SelfTestMode::kFail:
      return "fail";
    case SelfTestMode::kCrash:
      return "crash";
  }
  return "unknown";
}

std::optional<SelfTestMode> ParseSelfTestMode(std::string_view name) {
  for (SelfTestMode mode : {SelfTestMode::kPass, SelfTestMode::kFail, SelfTestMode::kCrash}) {
    if (name == SelfTestModeName(mode)) {
      return mode;
    }
  }
  return std::nullopt;
}

std::string SelfTestMarker(SelfTestMode mode) {
  std::string marker(kSelfTestMarkerPrefix);
  marker += SelfTestModeName(mode);
  marker.push_back('\0');
  return marker;
}

std::optional<SelfTestMode> ParseSelfTestMarker(ConstByteSpan bytes) {
  for (SelfTestMode mode : {SelfTestMode::kPass, SelfTestMode::kFail, SelfTestMode::kCrash}) {
    const std::string marker = SelfTestMarker(mode);
    if (bytes.size() >= marker.size() &&
        std::memcmp(bytes.data(), marker.data(), marker.size()) == 0) {
      return mode;
    }
  }
  return std::nullopt;
}

Result<std::vector<std::byte>> MakeTestImage(port::Crypto& crypto, const TestImageSpec& spec) {
  if (spec.size_bytes < kMinTestImageSize) {
    return InvalidArgument("test image: size below 1024 bytes");
  }
  const std::string marker = SelfTestMarker(spec.self_test);
  core::AppImageRecipe recipe;
  recipe.chip_id = spec.chip_id;
  recipe.version = spec.version;
  recipe.project_name = spec.project;
  recipe.secure_version = spec.secure_version;
  recipe.fill_seed = spec.fill_seed;
  recipe.payload_prefix = AsBytes(marker);
  // The size of an image with no payload, then as much payload as reaches the size asked for
  // (each segment rounds up to 4 bytes and the checksum to a 16-byte block, so step down until
  // it fits, then up by as little as needed).
  recipe.payload_size = 3 * static_cast<uint32_t>(kSelfTestMarkerMaxSize);
  Result<uint32_t> base = core::AppImageBuildSize(recipe);
  if (!base.ok()) {
    return base.status();
  }
  if (spec.size_bytes > 64u << 20) {
    return InvalidArgument("test image: size too large");
  }
  if (spec.size_bytes > *base) {
    recipe.payload_size += spec.size_bytes - *base;
  }
  Result<uint32_t> size = core::AppImageBuildSize(recipe);
  while (size.ok() && *size > spec.size_bytes && recipe.payload_size > 3 * kSelfTestMarkerMaxSize) {
    recipe.payload_size -= 1;
    size = core::AppImageBuildSize(recipe);
  }
  while (size.ok() && *size < spec.size_bytes) {
    recipe.payload_size += 1;
    size = core::AppImageBuildSize(recipe);
  }
  if (!size.ok()) {
    return size.status();
  }
  std::vector<std::byte> image(*size);
  Result<uint32_t> built = core::BuildAppImage(recipe, crypto, image);
  if (!built.ok()) {
    return built.status();
  }
  return image;
}

Result<std::optional<SelfTestMode>> ReadSelfTestMarker(port::Flash& flash,
                                                       const core::AppPartition& partition) {
  std::array<std::byte, kSelfTestMarkerMaxSize> bytes{};
  if (partition.size < kSelfTestMarkerOffset + bytes.size()) {
    return std::optional<SelfTestMode>();
  }
  if (Status status = flash.Read(partition.offset + kSelfTestMarkerOffset, bytes); !status.ok()) {
    return status;
  }
  return ParseSelfTestMarker(bytes);
}

ImageSelfTest::ImageSelfTest(port::Flash& flash, const core::DeviceLayout& layout,
                             port::System& system, std::optional<SelfTestMode> override_mode)
    : flash_(flash), layout_(layout), system_(system), override_(override_mode) {}

Status ImageSelfTest::Run() {
  ++runs_;
  SelfTestMode mode = SelfTestMode::kPass;
  if (override_) {
    mode = *override_;
  } else if (const core::AppPartition* running = layout_.Find(system_.RunningPartition())) {
    Result<std::optional<SelfTestMode>> marker = ReadSelfTestMarker(flash_, *running);
    if (!marker.ok()) {
      return marker.status();
    }
    mode = marker->value_or(SelfTestMode::kPass);
  }
  last_mode_ = mode;
  switch (mode) {
    case SelfTestMode::kPass:
      return OkStatus();
    case SelfTestMode::kFail:
      return Internal("self-test: the test image's self-test fails");
    case SelfTestMode::kCrash:
      return Aborted("self-test: crashed");
  }
  return OkStatus();
}

}  // namespace aloft::emulator
