#pragma once
// Builds small, byte-valid ESP app images from a recipe, for tests, the emulator and
// `aloft image make-test`: the image header, a DROM segment 0 starting with esp_app_desc_t at
// 0x20, RAM segments of pseudo-random content, optionally esptool's --secure-pad-v2 padding
// segment, the checksum in the last byte of its 16-byte block and the appended SHA-256.
// The output passes InspectAppImage and VerifyAppImage (app_image.h) and keeps esptool's
// invariants (segment lengths multiples of 4, the mapped segment 0 at a load address congruent
// to its file offset modulo the MMU page, ESP32's 0x24-byte flash segment workaround, secure
// padding that ends the file with its hash on an MMU page boundary). It is not byte-identical to
// any esptool output: esptool builds from an ELF.
// Spec: ../shared/spec/esp-app-image.md §1–§5, §9. No heap: the caller owns the output buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/format/app_image.h"
#include "core/port/crypto.h"
#include "core/result.h"

namespace aloft::core {

struct AppImageRecipe {
  uint16_t chip_id = kChipIdEsp32;  // must be in kChips
  // esp_app_desc_t text fields; each must leave room for its NUL (ESP-IDF asserts the same).
  std::string_view version = "1.0.0";
  std::string_view project_name = "aloft_test";
  std::string_view idf_ver = "v5.5.5";
  std::string_view date = "Jan  1 2025";
  std::string_view time = "00:00:00";
  uint32_t secure_version = 0;
  std::array<std::byte, 32> app_elf_sha256{};
  uint16_t min_efuse_blk_rev_full = 0;
  uint16_t max_efuse_blk_rev_full = 0;
  // Pseudo-random bytes (from fill_seed) after the descriptor, spread over the segments; each
  // segment is zero-padded to a multiple of 4.
  uint32_t payload_size = 4096;
  uint32_t fill_seed = 1;
  // Bytes placed at the start of segment 0's payload, right after esp_app_desc_t (image offset
  // 0x120), instead of pseudo-random ones: a marker a test firmware can be recognised by
  // (`aloft image make-test`). Must fit segment 0's share of payload_size. The span must
  // outlive the call.
  ConstByteSpan payload_prefix;
  // Content segments, 1..16: segment 0 (DROM, holds the descriptor) and RAM segments. Secure
  // padding adds one more, so then at most 15.
  uint8_t segment_count = 3;
  bool hash_appended = true;
  bool secure_pad = false;  // esptool --secure-pad-v2; REQUIRES hash_appended
  // Written to esp_app_desc_t.mmu_page_size; also the secure-padding alignment. 0 = legacy
  // image (alignment 64 KiB); otherwise 13..18 (8 KiB .. 256 KiB).
  uint8_t mmu_page_size_log2 = 16;
  // Image header.
  uint8_t spi_mode = 2;   // DIO
  uint8_t spi_speed = 0;  // 40m on ESP32
  uint8_t spi_size = 2;   // 4MB
  uint16_t min_chip_rev_full = 0;
  uint16_t max_chip_rev_full = 0xFFFF;  // esptool's default: no maximum
};

// The image_len of BuildAppImage's output, or kInvalidArgument naming the recipe field
// ("app image recipe: version too long", "... segment_count out of range", "... unknown
// chip_id", "... secure_pad needs hash_appended", "... mmu_page_size_log2 out of range",
// "... payload_size too large").
Result<uint32_t> AppImageBuildSize(const AppImageRecipe& recipe);

// Writes the image to the start of `out` and returns its length (== AppImageBuildSize()).
// kResourceExhausted "app image recipe: output buffer too small" (context = bytes needed);
// the recipe errors of AppImageBuildSize; crypto failures as returned by the port.
Result<uint32_t> BuildAppImage(const AppImageRecipe& recipe, port::Crypto& crypto, ByteSpan out);

}  // namespace aloft::core
