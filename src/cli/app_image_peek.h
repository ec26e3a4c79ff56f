#pragma once
// integration: a stop-gap reader of the few app-image facts the trust commands need (chip id,
// image_len, and esp_app_desc_t's project, version and secure_version at file offset 0x20),
// written before the shared app-image parser (src/core/format/app_image.h) was merged. The lead
// replaces every use with that parser; nothing here validates checksums or hashes.
// Layout: ../shared/spec/esp-app-image.md §1-§5.

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/result.h"

namespace aloft::cli {

struct AppImagePeek {
  uint16_t chip_id = 0;
  uint32_t image_len = 0;  // header .. checksum (+ 32-byte SHA-256 if appended): spec §1
  std::string project;
  std::string version;
  uint32_t secure_version = 0;
};

// kDataLoss "image: too short for its header", "image: segment runs past the end of the file";
// kInvalidArgument "image: magic is not 0xE9", "image: more than 16 segments",
// "image: app description magic is not 0xABCD5432".
Result<AppImagePeek> PeekAppImage(ConstByteSpan image);

}  // namespace aloft::cli
