#include "cli/app_image_peek.h"

namespace aloft::cli {

Result<AppImagePeek> PeekAppImage(ConstByteSpan image) {
  constexpr size_t kHeaderSize = 24;
  constexpr size_t kAppDescOffset = 0x20;
  constexpr size_t kAppDescSize = 256;
  if (image.size() < kAppDescOffset + kAppDescSize) {
    return DataLoss("image: too short for its header", static_cast<uint32_t>(image.size()));
  }
  if (LoadU8(image, 0) != 0xE9) {
    return InvalidArgument("image: magic is not 0xE9");
  }
  const uint8_t segments = LoadU8(image, 1);
  if (segments > 16) {
    return InvalidArgument("image: more than 16 segments", segments);
  }
  uint64_t end = kHeaderSize;
  for (uint8_t i = 0; i < segments; ++i) {
    if (end + 8 > image.size()) {
      return DataLoss("image: segment runs past the end of the file", i);
    }
    end += 8 + static_cast<uint64_t>(LoadLe32(image, static_cast<size_t>(end) + 4));
    if (end > image.size()) {
      return DataLoss("image: segment runs past the end of the file", i);
    }
  }
  // The checksum byte ends a 16-byte block; the SHA-256 follows it if appended (spec §4).
  uint64_t image_len = ((end + 1 + 15) & ~uint64_t{15});
  if (LoadU8(image, 23) != 0) {
    image_len += 32;
  }
  if (image_len > image.size()) {
    return DataLoss("image: segment runs past the end of the file", segments);
  }
  if (LoadLe32(image, kAppDescOffset) != 0xABCD5432) {
    return InvalidArgument("image: app description magic is not 0xABCD5432");
  }
  AppImagePeek peek;
  peek.chip_id = LoadLe16(image, 12);
  peek.image_len = static_cast<uint32_t>(image_len);
  peek.secure_version = LoadLe32(image, kAppDescOffset + 4);
  peek.version = std::string(LoadFixedText(image, kAppDescOffset + 16, 32));
  peek.project = std::string(LoadFixedText(image, kAppDescOffset + 48, 32));
  return peek;
}

}  // namespace aloft::cli
