#pragma once
// What the trust commands need to know about an app image (chip, image_len, and its
// esp_app_desc_t project, version and secure_version), read with the shared parser
// (core/format/app_image.h) and copied out so it outlives the bytes.

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"

namespace aloft::cli {

struct ImageIdentity {
  uint16_t chip_id = 0;
  uint32_t image_len = 0;  // header .. checksum (+ 32-byte SHA-256 if appended): spec §1
  std::string project;
  std::string version;
  uint32_t secure_version = 0;
};

// InspectAppImage's structural errors, or kInvalidArgument "update: image has no app
// description". Checksum and hash verdicts are not judged here (the signature covers them).
Result<ImageIdentity> ReadImageIdentity(ConstByteSpan image, port::Crypto& crypto);

}  // namespace aloft::cli
