#pragma once
// The ESP32-family application image (esptool `elf2image` output, what the bootloader loads):
// constants, the chip table, plain structs for the header, segment headers and esp_app_desc_t,
// a whole-image inspector and the bootloader's acceptance checks.
// Spec: ../shared/spec/esp-app-image.md §1–§7; docs/formats/app-image.md; vectors:
// tests/vectors/app-image/ and tests/vectors/real-firmware/.
//
//   +0x00  image header (24 bytes)            magic 0xE9, segment_count, spi, entry, chip id ...
//   +0x18  segment 0 header (8 bytes)         load_addr u32, data_len u32
//   +0x20  segment 0 data                     starts with esp_app_desc_t (256 bytes)
//          segment 1 header + data ...        segment_count segments (max 16), no gaps
//          0..15 zero bytes + checksum byte   the checksum is the last byte of a 16-byte block
//          32-byte SHA-256                    only if hash_appended; covers 0..checksum byte
//   image_len ends here.  A signed image continues with 0xFF/secure padding up to a 4 KiB
//   boundary and a 4096-byte signature sector (signature_block.h, not this file).
//
// Everything here is pure: no heap, no I/O. Parsing checks every length before reading.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// ---- Layout constants (esp_app_format.h, esp_app_desc.h, esp_image_format.c) ----
inline constexpr uint8_t kImageMagic = 0xE9;               // ESP_IMAGE_HEADER_MAGIC
inline constexpr uint32_t kImageHeaderSize = 24;           // sizeof(esp_image_header_t)
inline constexpr uint32_t kSegmentHeaderSize = 8;          // sizeof(esp_image_segment_header_t)
inline constexpr uint32_t kMaxSegments = 16;               // ESP_IMAGE_MAX_SEGMENTS
inline constexpr uint32_t kMaxSegmentDataLen = 0x1000000;  // data_len must be *below* this
inline constexpr uint32_t kAppDescOffset = 0x20;           // header + segment 0 header
inline constexpr uint32_t kAppDescSize = 256;              // sizeof(esp_app_desc_t)
inline constexpr uint32_t kAppDescMagic = 0xABCD5432;      // ESP_APP_DESC_MAGIC_WORD
inline constexpr uint8_t kChecksumSeed = 0xEF;             // ESP_ROM_CHECKSUM_INITIAL
inline constexpr uint32_t kChecksumAlign = 16;
inline constexpr uint32_t kImageHashSize = 32;            // appended SHA-256
inline constexpr uint32_t kSignatureSectorSize = 4096;    // Secure Boot v2 sector (§9)
inline constexpr uint32_t kMaxPartitionSize = 0x1000000;  // ESP_IMAGE_MAX_FLASH_ADDR_SIZE
inline constexpr uint16_t kChipIdInvalid = 0xFFFF;

static_assert(kAppDescOffset == kImageHeaderSize + kSegmentHeaderSize);
// With at most 16 segments each below 16 MiB, no file offset of an image can wrap a u32, so
// offsets are u32 everywhere (esp_image_format.c's "image offset has wrapped" cannot happen).
static_assert(uint64_t{kImageHeaderSize} +
                  uint64_t{kMaxSegments} * (kSegmentHeaderSize + kMaxSegmentDataLen) +
                  kChecksumAlign + kImageHashSize + 2 * kSignatureSectorSize <
              uint64_t{UINT32_MAX});

// Header field offsets (esp_image_header_t, packed).
inline constexpr uint32_t kHeaderSegmentCountOffset = 1;
inline constexpr uint32_t kHeaderChipIdOffset = 12;
inline constexpr uint32_t kHeaderHashAppendedOffset = 23;
// esp_app_desc_t field offsets, relative to the struct.
inline constexpr uint32_t kAppDescProjectNameOffset = 48;

// ---- Chips (esp_chip_id_t; esptool IMAGE_CHIP_ID) ----
struct Chip {
  uint16_t id;
  std::string_view name;  // esptool's --chip spelling: "esp32", "esp32c3", ...
};
inline constexpr std::array<Chip, 13> kChips = {{
    {0x0000, "esp32"},
    {0x0002, "esp32s2"},
    {0x0005, "esp32c3"},
    {0x0009, "esp32s3"},
    {0x000C, "esp32c2"},
    {0x000D, "esp32c6"},
    {0x0010, "esp32h2"},
    {0x0012, "esp32p4"},
    {0x0014, "esp32c61"},
    {0x0017, "esp32c5"},
    {0x0019, "esp32h21"},
    {0x001C, "esp32h4"},
    {0x0020, "esp32s31"},
}};
inline constexpr uint16_t kChipIdEsp32 = 0x0000;

// The chip's name ("esp32c3"), or an empty view for an id ESP-IDF does not know.
std::string_view ChipName(uint16_t chip_id);
// The id for a name; case and dashes are ignored ("ESP32-C3" == "esp32c3"). nullopt if unknown.
std::optional<uint16_t> ChipIdFromName(std::string_view name);

// ---- Plain structs ----

// A fixed-width text field of esp_app_desc_t: the raw bytes, compared as such (ESP-IDF's OTA
// example memcmp()s the 32-byte version), read as text cut at the first NUL.
template <size_t N>
struct FixedText {
  std::array<char, N> bytes{};
  std::string_view view() const {
    size_t length = 0;
    while (length < N && bytes[length] != '\0') {
      ++length;
    }
    return {bytes.data(), length};
  }
  friend bool operator==(const FixedText&, const FixedText&) = default;
};

// esp_image_header_t (24 bytes), field for field.
struct ImageHeader {
  uint8_t magic = 0;
  uint8_t segment_count = 0;
  uint8_t spi_mode = 0;   // 0 QIO, 1 QOUT, 2 DIO, 3 DOUT, 4 FAST_READ, 5 SLOW_READ
  uint8_t spi_speed = 0;  // low nibble of byte 3 (chip-specific divider code)
  uint8_t spi_size = 0;   // high nibble of byte 3: 0 = 1MB ... 7 = 128MB
  uint32_t entry_addr = 0;
  uint8_t wp_pin = 0;
  std::array<uint8_t, 3> spi_pin_drv{};
  uint16_t chip_id = 0;
  uint8_t min_chip_rev = 0;        // legacy, informational
  uint16_t min_chip_rev_full = 0;  // major * 100 + minor
  uint16_t max_chip_rev_full = 0;  // 0 and 0xFFFF mean "no maximum"
  std::array<uint8_t, 4> reserved{};
  uint8_t hash_appended = 0;  // the bootloader treats any non-zero value as "appended"

  bool has_hash() const { return hash_appended != 0; }
  friend bool operator==(const ImageHeader&, const ImageHeader&) = default;
};

// One esp_image_segment_header_t plus where it sits in the file.
struct SegmentHeader {
  uint32_t load_addr = 0;
  uint32_t data_len = 0;
  uint32_t header_offset = 0;  // file offset of the 8-byte header
  uint32_t data_offset = 0;    // header_offset + 8
  friend bool operator==(const SegmentHeader&, const SegmentHeader&) = default;
};

// esp_app_desc_t (256 bytes), field for field (ESP-IDF master layout; v5.5 calls byte 181
// reserv3[0]).
struct AppDescription {
  uint32_t magic_word = 0;
  uint32_t secure_version = 0;
  std::array<uint32_t, 2> reserv1{};
  FixedText<32> version;
  FixedText<32> project_name;
  FixedText<16> time;
  FixedText<16> date;
  FixedText<32> idf_ver;
  std::array<std::byte, 32> app_elf_sha256{};
  uint16_t min_efuse_blk_rev_full = 0;  // 0 / 0xFFFF = not set
  uint16_t max_efuse_blk_rev_full = 0;
  uint8_t mmu_page_size = 0;  // log2; 0 in images older than ESP-IDF v5.4
  uint8_t spi_flash_mode = 0;
  std::array<uint8_t, 2> reserv3{};
  std::array<uint8_t, 72> reserv2{};

  bool magic_ok() const { return magic_word == kAppDescMagic; }
  friend bool operator==(const AppDescription&, const AppDescription&) = default;
};

// Decodes the 24-byte header. Judges nothing (not even the magic): see InspectAppImage and
// VerifyAppImage. kDataLoss "app image: truncated in image header" if fewer than 24 bytes.
Result<ImageHeader> ParseImageHeader(ConstByteSpan bytes);

// Decodes a 256-byte esp_app_desc_t from the start of `bytes` (not checking magic_word).
// kDataLoss "app desc: truncated" if fewer than 256 bytes.
Result<AppDescription> ParseAppDescription(ConstByteSpan bytes);

// Offset of the checksum byte for segments ending at `end_of_segments`: the last byte of the
// 16-byte block that holds end_of_segments (§4).
constexpr uint32_t ChecksumOffset(uint32_t end_of_segments) {
  return ((end_of_segments + 1 + (kChecksumAlign - 1)) & ~(kChecksumAlign - 1)) - 1;
}
// image_len (§1) for segments ending at `end_of_segments`.
constexpr uint32_t ImageLength(uint32_t end_of_segments, bool hash_appended) {
  return ChecksumOffset(end_of_segments) + 1 + (hash_appended ? kImageHashSize : 0);
}
constexpr uint32_t AlignUp(uint32_t value, uint32_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
// Where the Secure Boot v2 signature sector of an image of `image_len` bytes starts: the first
// 4 KiB boundary at or after image_len (§9).
constexpr uint32_t SignatureSectorOffset(uint32_t image_len) {
  return AlignUp(image_len, kSignatureSectorSize);
}
// Bytes of flash an image occupies (§7): image_len, or up to the end of its signature sector.
constexpr uint32_t FlashFootprint(uint32_t image_len, bool signed_image) {
  return signed_image ? SignatureSectorOffset(image_len) + kSignatureSectorSize : image_len;
}

// Everything InspectAppImage learns from a whole image.
struct AppImageInfo {
  ImageHeader header;
  std::array<SegmentHeader, kMaxSegments> segments{};  // the first header.segment_count
  uint32_t end_of_segments = 0;                        // offset just past the last segment's data
  uint32_t checksum_offset = 0;
  uint8_t checksum_stored = 0;
  uint8_t checksum_computed = 0;
  bool hash_appended = false;  // header.hash_appended != 0
  uint32_t sha256_offset = 0;  // checksum_offset + 1 (where a hash is or would be)
  std::array<std::byte, kImageHashSize> sha256_stored{};    // zero unless hash_appended
  std::array<std::byte, kImageHashSize> sha256_computed{};  // over [0, checksum_offset]
  uint32_t image_len = 0;  // §1: includes the 32-byte hash, no signature sector
  uint32_t file_len = 0;   // the bytes given; > image_len for signed/padded files
  // esp_app_desc_t at 0x20, present when segment 0 holds >= 256 bytes and its magic matches.
  std::optional<AppDescription> app_description;

  std::span<const SegmentHeader> segment_headers() const {
    return std::span<const SegmentHeader>(segments).first(header.segment_count);
  }
  bool checksum_ok() const { return checksum_stored == checksum_computed; }
  // True only when a hash is appended and it matches.
  bool sha256_ok() const { return hash_appended && sha256_stored == sha256_computed; }
  // Bytes after image_len (signature padding and sector, or anything else).
  uint32_t trailing_len() const { return file_len - image_len; }
  // Extension point for the signature verifier: where a signature sector would start.
  uint32_t signature_sector_offset() const { return SignatureSectorOffset(image_len); }
};

// Walks a whole image held in memory: header, segment chain, checksum, appended hash, app
// description. Structural failures are errors, with context = the file offset of the field:
//   kInvalidArgument "app image: invalid magic byte" (0), "app image: segment_count exceeds
//     16" (1), "app image: segment data_len not a multiple of 4" / "... exceeds 16 MiB"
//     (segment header offset);
//   kDataLoss "app image: truncated in image header" (0), "... in segment header" (its
//     offset), "... in segment data" (data offset), "... before checksum" (checksum offset),
//     "... in appended sha256" (hash offset).
// A checksum or SHA-256 mismatch is not an error here but a verdict in the info (checksum_ok,
// sha256_ok), as esptool image-info reports it; VerifyAppImage turns verdicts into a decision.
// Bytes after image_len are allowed (file_len > image_len). Crypto failures are returned as is.
// The info is ~1 KiB: callers on small stacks keep one, not several.
Result<AppImageInfo> InspectAppImage(ConstByteSpan image, port::Crypto& crypto);

// What a device (or the installer on its behalf) requires of an image.
struct ImageRequirements {
  std::optional<uint16_t> chip_id;               // the device's esp_chip_id_t
  std::optional<uint16_t> chip_revision;         // the device's revision, major * 100 + minor
  std::optional<uint16_t> efuse_block_revision;  // checked on every chip but ESP32 (§5)
  std::optional<uint32_t> slot_size;             // the app partition's size
  bool signed_image = false;  // a Secure Boot v2 sector follows the image (counts in the size)
  bool require_hash = false;  // refuse images without an appended SHA-256 (the bootloader
                              // accepts them; our installer does not)
};

// The decisions shared by VerifyAppImage and AppImageValidator, in the bootloader's order.
// Header: magic, chip id, chip revision window, segment_count, (require_hash).
//   kInvalidArgument "app image: invalid magic byte" (0);
//   kPermissionDenied "app image: built for another chip" (12),
//     "app image: chip revision below the image's minimum" (15),
//     "app image: chip revision above the image's maximum" (17);
//   kInvalidArgument "app image: segment_count exceeds 16" (1),
//     "app image: segment 0 too small for esp_app_desc_t" (0x18) when segment_count is 0,
//     "app image: no appended sha256" (23).
Status CheckImageHeader(const ImageHeader& header, const ImageRequirements& requirements);
// Segment 0 must hold esp_app_desc_t. kInvalidArgument "app image: segment 0 too small for
// esp_app_desc_t" (0x18).
Status CheckFirstSegment(const SegmentHeader& segment0);
// The descriptor at 0x20: kInvalidArgument "app image: esp_app_desc_t magic mismatch" (0x20);
// kPermissionDenied "app image: efuse block revision below the image's minimum" / "... above
// the image's maximum" (0x20 + 176 / 178) when requirements.efuse_block_revision is given and
// the chip is not ESP32.
Status CheckAppDescription(const AppDescription& description, uint16_t chip_id,
                           const ImageRequirements& requirements);
// Size vs slot (§7): kOutOfRange "app image: does not fit the slot" (context = bytes needed,
// including the signature sector when requirements.signed_image).
Status CheckImageFits(uint32_t image_len, const ImageRequirements& requirements);

// The bootloader's verdict (esp_image_verify, §6) on an inspected image; OK or the first
// failing check in this order: CheckImageHeader; CheckFirstSegment; CheckAppDescription;
// checksum (kDataLoss "app image: checksum mismatch", checksum offset); CheckImageFits;
// appended SHA-256 (kDataLoss "app image: sha256 mismatch", hash offset). The size check comes
// before the hash check as in process_appended_hash_and_sig() → verify_simple_hash().
// Not checked: the MMU alignment of mapped segments and RAM-overlap rules (chip memory maps).
Status VerifyAppImage(const AppImageInfo& info, const ImageRequirements& requirements);

}  // namespace aloft::core
