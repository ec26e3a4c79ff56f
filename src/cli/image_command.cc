// `aloft image ...`: inspect ESP app images.
//
//   aloft image info APP.bin [--json] [--chip NAME] [--slot-size N] [--require-hash]
//
// Prints what esptool's image-info prints (header, segments with memory types, checksum and
// SHA-256 verdicts, esp_app_desc_t) and the verdict of the bootloader's checks
// (VerifyAppImage, core/format/app_image.h). Exit 0 valid, 1 invalid or unreadable, 2 usage.
// JSON keys: docs/formats/app-image.md. Signature blocks are reported by the signature
// verifier, which extends ImageReport, PrintText and ToJson below (see "Extension point").

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "core/format/app_image.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {

// Commands are thin shells over the core formats.
using namespace ::aloft::core;  // NOLINT(build/namespaces)
namespace {

// ---- Presentation tables (esptool targets/*.py), used only for display ----

struct MemoryRange {
  uint32_t start;
  uint32_t end;  // exclusive
  const char* name;
};

// esptool MEMORY_MAP, in esptool's order (it lists every range holding the load address).
constexpr MemoryRange kEsp32Map[] = {
    {0x00000000, 0x00010000, "PADDING"},
    {0x3F400000, 0x3F800000, "DROM"},
    {0x3F800000, 0x3FC00000, "EXTRAM_DATA"},
    {0x3FF80000, 0x3FF82000, "RTC_DRAM"},
    {0x3FF90000, 0x40000000, "BYTE_ACCESSIBLE"},
    {0x3FFAE000, 0x40000000, "DRAM"},
    {0x3FFE0000, 0x3FFFFFFC, "DIRAM_DRAM"},
    {0x40000000, 0x40070000, "IROM"},
    {0x40070000, 0x40078000, "CACHE_PRO"},
    {0x40078000, 0x40080000, "CACHE_APP"},
    {0x40080000, 0x400A0000, "IRAM"},
    {0x400A0000, 0x400BFFFC, "DIRAM_IRAM"},
    {0x400C0000, 0x400C2000, "RTC_IRAM"},
    {0x400D0000, 0x40400000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};
constexpr MemoryRange kEsp32S2Map[] = {
    {0x00000000, 0x00010000, "PADDING"},
    {0x3F000000, 0x3FF80000, "DROM"},
    {0x3F500000, 0x3FF80000, "EXTRAM_DATA"},
    {0x3FF9E000, 0x3FFA0000, "RTC_DRAM"},
    {0x3FF9E000, 0x40000000, "BYTE_ACCESSIBLE"},
    {0x3FF9E000, 0x40072000, "MEM_INTERNAL"},
    {0x3FFB0000, 0x40000000, "DRAM"},
    {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40020000, 0x40070000, "IRAM"},
    {0x40070000, 0x40072000, "RTC_IRAM"},
    {0x40080000, 0x40800000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};
constexpr MemoryRange kEsp32S3Map[] = {
    {0x00000000, 0x00010000, "PADDING"},
    {0x3C000000, 0x3D000000, "DROM"},
    {0x3D000000, 0x3E000000, "EXTRAM_DATA"},
    {0x600FE000, 0x60100000, "RTC_DRAM"},
    {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FC88000, 0x403E2000, "MEM_INTERNAL"},
    {0x3FC88000, 0x3FD00000, "DRAM"},
    {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40370000, 0x403E0000, "IRAM"},
    {0x600FE000, 0x60100000, "RTC_IRAM"},
    {0x42000000, 0x42800000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};
constexpr MemoryRange kEsp32C3Map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x3C000000, 0x3C800000, "DROM"},
    {0x3FC80000, 0x3FCE0000, "DRAM"},          {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF20000, "DROM_MASK"},     {0x40000000, 0x40060000, "IROM_MASK"},
    {0x42000000, 0x42800000, "IROM"},          {0x4037C000, 0x403E0000, "IRAM"},
    {0x50000000, 0x50002000, "RTC_IRAM"},      {0x50000000, 0x50002000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr MemoryRange kEsp32C2Map[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x3C000000, 0x3C400000, "DROM"},
    {0x3FCA0000, 0x3FCE0000, "DRAM"},      {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF50000, "DROM_MASK"}, {0x40000000, 0x40090000, "IROM_MASK"},
    {0x42000000, 0x42400000, "IROM"},      {0x4037C000, 0x403C0000, "IRAM"},
};
// ESP32-C6; ESP32-H2 and H21 inherit it in esptool.
constexpr MemoryRange kEsp32C6Map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x42000000, 0x43000000, "DROM"},
    {0x40800000, 0x40880000, "DRAM"},          {0x40800000, 0x40880000, "BYTE_ACCESSIBLE"},
    {0x4004AC00, 0x40050000, "DROM_MASK"},     {0x40000000, 0x4004AC00, "IROM_MASK"},
    {0x42000000, 0x43000000, "IROM"},          {0x40800000, 0x40880000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"},      {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr MemoryRange kEsp32C5Map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x42000000, 0x44000000, "DROM"},
    {0x40800000, 0x40860000, "DRAM"},          {0x40800000, 0x40860000, "BYTE_ACCESSIBLE"},
    {0x4003A000, 0x40040000, "DROM_MASK"},     {0x40000000, 0x4003A000, "IROM_MASK"},
    {0x42000000, 0x44000000, "IROM"},          {0x40800000, 0x40860000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"},      {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr MemoryRange kEsp32C61Map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x42000000, 0x44000000, "DROM"},
    {0x40800000, 0x40860000, "DRAM"},          {0x40800000, 0x40860000, "BYTE_ACCESSIBLE"},
    {0x4004AC00, 0x40050000, "DROM_MASK"},     {0x40000000, 0x4004AC00, "IROM_MASK"},
    {0x42000000, 0x44000000, "IROM"},          {0x40800000, 0x40860000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"},      {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr MemoryRange kEsp32H4Map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x42000000, 0x44000000, "DROM"},
    {0x40810000, 0x40860000, "DRAM"},          {0x40810000, 0x40860000, "BYTE_ACCESSIBLE"},
    {0x40000000, 0x40050000, "DROM_MASK"},     {0x40000000, 0x40050000, "IROM_MASK"},
    {0x42000000, 0x44000000, "IROM"},          {0x40810000, 0x40860000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"},      {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x60000000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr MemoryRange kEsp32P4Map[] = {
    {0x00000000, 0x00010000, "PADDING"},       {0x40000000, 0x4C000000, "DROM"},
    {0x4FF00000, 0x4FFA0000, "DRAM"},          {0x4FF00000, 0x4FFA0000, "BYTE_ACCESSIBLE"},
    {0x4FC00000, 0x4FC20000, "DROM_MASK"},     {0x4FC00000, 0x4FC20000, "IROM_MASK"},
    {0x40000000, 0x4C000000, "IROM"},          {0x4FF00000, 0x4FFA0000, "IRAM"},
    {0x50108000, 0x50110000, "RTC_IRAM"},      {0x50108000, 0x50110000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr MemoryRange kEsp32S31Map[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x40000000, 0x54000000, "DROM"},
    {0x2F000000, 0x2F080000, "DRAM"},      {0x2F000000, 0x2F080000, "BYTE_ACCESSIBLE"},
    {0x2F800000, 0x2F850000, "DROM_MASK"}, {0x2F800000, 0x2F850000, "IROM_MASK"},
    {0x40000000, 0x54000000, "IROM"},      {0x2F000000, 0x2F080000, "IRAM"},
    {0x2E000000, 0x2E008000, "RTC_IRAM"},  {0x2E000000, 0x2E008000, "RTC_DRAM"},
};

struct FlashFrequency {
  uint8_t code;
  const char* name;
};
// esptool FLASH_FREQUENCY, first name per code (esptool's get_key_from_value).
constexpr FlashFrequency kEsp32Freq[] = {{0xF, "80m"}, {0x0, "40m"}, {0x1, "26m"}, {0x2, "20m"}};
constexpr FlashFrequency kEsp32C2Freq[] = {{0xF, "60m"}, {0x0, "30m"}, {0x1, "20m"}, {0x2, "15m"}};
constexpr FlashFrequency kEsp32C6Freq[] = {{0x0, "80m"}, {0x2, "20m"}};
constexpr FlashFrequency kEsp32H2Freq[] = {{0xF, "48m"}, {0x0, "24m"}, {0x1, "16m"}, {0x2, "12m"}};
constexpr FlashFrequency kEsp32C5Freq[] = {{0xF, "80m"}, {0x0, "40m"}, {0x2, "20m"}};

struct ChipDisplay {
  uint16_t chip_id;
  std::span<const MemoryRange> memory_map;
  std::span<const FlashFrequency> frequencies;
};
constexpr ChipDisplay kChipDisplays[] = {
    {0x0000, kEsp32Map, kEsp32Freq},      {0x0002, kEsp32S2Map, kEsp32Freq},
    {0x0005, kEsp32C3Map, kEsp32Freq},    {0x0009, kEsp32S3Map, kEsp32Freq},
    {0x000C, kEsp32C2Map, kEsp32C2Freq},  {0x000D, kEsp32C6Map, kEsp32C6Freq},
    {0x0010, kEsp32C6Map, kEsp32H2Freq},  {0x0012, kEsp32P4Map, kEsp32Freq},
    {0x0014, kEsp32C61Map, kEsp32C5Freq}, {0x0017, kEsp32C5Map, kEsp32C5Freq},
    {0x0019, kEsp32C6Map, kEsp32H2Freq},  {0x001C, kEsp32H4Map, kEsp32H2Freq},
    {0x0020, kEsp32S31Map, kEsp32C5Freq},
};

const ChipDisplay* DisplayFor(uint16_t chip_id) {
  for (const ChipDisplay& display : kChipDisplays) {
    if (display.chip_id == chip_id) {
      return &display;
    }
  }
  return nullptr;
}

std::vector<std::string> MemoryTypes(uint16_t chip_id, uint32_t load_addr) {
  std::vector<std::string> types;
  if (const ChipDisplay* display = DisplayFor(chip_id)) {
    for (const MemoryRange& range : display->memory_map) {
      if (range.start <= load_addr && load_addr < range.end) {
        types.emplace_back(range.name);
      }
    }
  }
  return types;
}

std::optional<std::string> FlashFrequencyName(uint16_t chip_id, uint8_t code) {
  if (const ChipDisplay* display = DisplayFor(chip_id)) {
    for (const FlashFrequency& frequency : display->frequencies) {
      if (frequency.code == code) {
        return frequency.name;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> FlashSizeName(uint8_t code) {
  constexpr const char* kSizes[] = {"1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB"};
  if (code < std::size(kSizes)) {
    return kSizes[code];
  }
  return std::nullopt;
}

std::optional<std::string> FlashModeName(uint8_t mode) {
  constexpr const char* kModes[] = {"QIO", "QOUT", "DIO", "DOUT", "FAST_READ", "SLOW_READ"};
  if (mode < std::size(kModes)) {
    return kModes[mode];
  }
  return std::nullopt;
}

// "esp32c3" -> "ESP32-C3", as esptool titles its sections.
std::string DisplayChipName(uint16_t chip_id) {
  const std::string_view name = ChipName(chip_id);
  if (name.empty()) {
    return "unknown chip " + std::to_string(chip_id);
  }
  std::string display;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i == 5) {
      display += '-';
    }
    const char c = name[i];
    display += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return display;
}

// Text fields come from an untrusted file: printable ASCII as is, anything else as \xNN.
std::string SafeText(std::string_view text) {
  std::string safe;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\') {
      safe += c;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      safe += escaped;
    }
  }
  return safe;
}

std::string Revision(uint16_t rev_full) {
  return std::to_string(rev_full / 100) + "." + std::to_string(rev_full % 100);
}

std::string StatusText(const Status& status) {
  std::string text = status.reason();
  if (status.has_context()) {
    text += " (at " + std::to_string(status.context()) + ")";
  }
  return text;
}

std::string Hex0(uint32_t value, int width) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%0*x", width, value);
  return text;
}

// ---- The report ----

struct InfoOptions {
  std::string path;
  bool json = false;
  std::string chip;
  std::string slot_size;
  bool require_hash = false;
};

// Everything `image info` knows about one file.
struct ImageReport {
  std::string path;
  std::vector<std::byte> bytes;
  std::optional<ImageHeader> header;  // decoded whenever 24 bytes exist, even if invalid
  std::optional<AppImageInfo> info;   // when InspectAppImage succeeded
  Status verdict;                     // the first failed check, or OK
  // The Secure Boot v2 sector's blocks, when the file holds one after the image. Each block
  // is checked against its own embedded key: that shows the block is intact and really signed
  // by that key; whether a device trusts the key is `aloft image verify`'s question.
  std::optional<SignatureVerdict> signatures;
};

// Reads the signature sector that follows the image, if the file holds one.
std::optional<SignatureVerdict> InspectSignatures(const AppImageInfo& info, ConstByteSpan bytes,
                                                  port::Crypto& crypto) {
  const Result<uint32_t> region = SignedRegionSize(info.image_len);
  if (!region.ok() || bytes.size() < uint64_t{*region} + kSignatureSectorSize) {
    return std::nullopt;
  }
  // First pass trusting nothing, to learn each block's key digest; second pass trusting
  // exactly those keys, so each block is verified under its own key.
  const SignatureVerdict discovery = VerifySignedImage(crypto, bytes, info.image_len, {});
  std::vector<TrustedKey> own_keys;
  for (size_t i = 0; i < discovery.block_count; ++i) {
    if (discovery.blocks[i].key_digest.has_value() && own_keys.size() < kMaxTrustedKeys) {
      own_keys.push_back({*discovery.blocks[i].key_digest, false});
    }
  }
  if (own_keys.empty()) {
    return discovery;
  }
  return VerifySignedImage(crypto, bytes, info.image_len, {own_keys, std::nullopt, false});
}

ImageReport Inspect(std::string path, std::vector<std::byte> bytes,
                    const ImageRequirements& requirements) {
  ImageReport report;
  report.path = std::move(path);
  report.bytes = std::move(bytes);
  if (Result<ImageHeader> header = ParseImageHeader(report.bytes); header.ok()) {
    report.header = *header;
  }
  host::OpensslCrypto crypto;
  Result<AppImageInfo> info = InspectAppImage(report.bytes, crypto);
  if (!info.ok()) {
    report.verdict = info.status();
    return report;
  }
  report.info = *info;
  report.verdict = VerifyAppImage(*info, requirements);
  report.signatures = InspectSignatures(*info, report.bytes, crypto);
  return report;
}

void PrintTitle(const std::string& title) {
  std::printf("\n%s\n%s\n", title.c_str(), std::string(title.size(), '=').c_str());
}

void PrintText(const ImageReport& report) {
  std::printf("File: %s\n", report.path.c_str());
  std::printf("Image size: %zu bytes\n", report.bytes.size());
  if (!report.header.has_value()) {
    std::printf("\nVerdict: invalid: %s\n", StatusText(report.verdict).c_str());
    return;
  }
  const ImageHeader& header = *report.header;
  const std::string chip = DisplayChipName(header.chip_id);
  std::printf("Detected image type: %s\n", chip.c_str());

  PrintTitle(chip + " Image Header");
  std::printf("Magic: 0x%02x%s\n", header.magic, header.magic == kImageMagic ? "" : " (invalid)");
  std::printf("Entry point: 0x%08x\n", header.entry_addr);
  std::printf("Segments: %u\n", header.segment_count);
  const auto size = FlashSizeName(header.spi_size);
  const auto freq = FlashFrequencyName(header.chip_id, header.spi_speed);
  const auto mode = FlashModeName(header.spi_mode);
  std::printf("Flash size: %s\n",
              size ? size->c_str() : ("invalid " + Hex(header.spi_size)).c_str());
  std::printf("Flash freq: %s\n",
              freq ? freq->c_str() : ("invalid " + Hex(header.spi_speed)).c_str());
  std::printf("Flash mode: %s\n",
              mode ? mode->c_str() : ("invalid " + Hex(header.spi_mode)).c_str());

  PrintTitle(chip + " Extended Image Header");
  std::printf("WP pin: 0x%02x%s\n", header.wp_pin, header.wp_pin == 0xEE ? " (disabled)" : "");
  std::printf(
      "Flash pins drive settings: clk_drv: 0x%x, q_drv: 0x%x, d_drv: 0x%x, cs0_drv: 0x%x, "
      "hd_drv: 0x%x, wp_drv: 0x%x\n",
      header.spi_pin_drv[0] & 0xF, header.spi_pin_drv[0] >> 4, header.spi_pin_drv[1] & 0xF,
      header.spi_pin_drv[1] >> 4, header.spi_pin_drv[2] & 0xF, header.spi_pin_drv[2] >> 4);
  const std::string_view chip_name = ChipName(header.chip_id);
  std::printf("Chip ID: %u (%s)\n", header.chip_id,
              chip_name.empty() ? "Unknown ID" : DisplayChipName(header.chip_id).c_str());
  std::printf("Minimal chip revision: v%s, (legacy min_rev = %u)\n",
              Revision(header.min_chip_rev_full).c_str(), header.min_chip_rev);
  std::printf("Maximal chip revision: v%s\n", Revision(header.max_chip_rev_full).c_str());
  std::printf("Hash appended: %s\n", header.has_hash() ? "yes" : "no");

  if (report.info.has_value()) {
    const AppImageInfo& info = *report.info;
    PrintTitle("Segments Information");
    std::printf("%7s  %7s  %10s  %10s  %s\n", "Segment", "Length", "Load addr", "File offs",
                "Memory types");
    std::printf("-------  -------  ----------  ----------  ------------\n");
    for (size_t i = 0; i < info.segment_headers().size(); ++i) {
      const SegmentHeader& segment = info.segments[i];
      std::string types;
      for (const std::string& type : MemoryTypes(header.chip_id, segment.load_addr)) {
        types += (types.empty() ? "" : ", ") + type;
      }
      std::printf("%7zu  %s  %s  %s  %s\n", i, Hex0(segment.data_len, 5).c_str(),
                  Hex0(segment.load_addr, 8).c_str(), Hex0(segment.header_offset, 8).c_str(),
                  types.c_str());
    }

    PrintTitle(chip + " Image Footer");
    if (info.checksum_ok()) {
      std::printf("Checksum: 0x%02x (valid)\n", info.checksum_stored);
    } else {
      std::printf("Checksum: 0x%02x (invalid - calculated 0x%02x)\n", info.checksum_stored,
                  info.checksum_computed);
    }
    if (info.hash_appended) {
      std::printf("Validation hash: %s (%s)\n", HexString(info.sha256_computed).c_str(),
                  info.sha256_ok() ? "valid" : "invalid");
    } else {
      std::printf("Validation hash: not appended\n");
    }
    std::printf("Image length: %u bytes", info.image_len);
    if (info.trailing_len() > 0) {
      std::printf(" (+%u bytes after it: padding or a signature sector)", info.trailing_len());
    }
    std::printf("\n");

    if (info.app_description.has_value()) {
      const AppDescription& desc = *info.app_description;
      PrintTitle("Application Information");
      std::printf("Project name: %s\n", SafeText(desc.project_name.view()).c_str());
      std::printf("App version: %s\n", SafeText(desc.version.view()).c_str());
      std::printf("Compile time: %s %s\n", SafeText(desc.date.view()).c_str(),
                  SafeText(desc.time.view()).c_str());
      std::printf("ELF file SHA256: %s\n", HexString(desc.app_elf_sha256).c_str());
      std::printf("ESP-IDF: %s\n", SafeText(desc.idf_ver.view()).c_str());
      std::printf("Minimal eFuse block revision: %s\n",
                  Revision(desc.min_efuse_blk_rev_full).c_str());
      std::printf("Maximal eFuse block revision: %s\n",
                  Revision(desc.max_efuse_blk_rev_full).c_str());
      if (desc.mmu_page_size != 0 && desc.mmu_page_size < 32) {
        std::printf("MMU page size: %u KB\n", (1u << desc.mmu_page_size) / 1024);
      }
      std::printf("Secure version: %u\n", desc.secure_version);
    }
  }
  if (report.signatures.has_value()) {
    PrintTitle("Secure Boot v2 Signature Blocks");
    const SignatureVerdict& sig = *report.signatures;
    for (size_t i = 0; i < sig.block_count; ++i) {
      const BlockVerdict& block = sig.blocks[i];
      if (!block.scheme.has_value()) {
        std::printf("Block %zu: invalid (%s)\n", i, block.validity.reason());
        continue;
      }
      std::printf("Block %zu: %s, key digest %s, CRC %s, signature %s\n", i,
                  SchemeName(*block.scheme), HexString(*block.key_digest).c_str(),
                  block.crc_ok() ? "ok" : "mismatch",
                  block.verified() ? "verifies with its own key" : BlockOutcomeName(block.outcome));
    }
    std::printf("(Whether a device trusts these keys: aloft image verify --key-digest ...)\n");
  }
  if (report.verdict.ok()) {
    std::printf("\nVerdict: valid\n");
  } else {
    std::printf("\nVerdict: invalid: %s\n", StatusText(report.verdict).c_str());
  }
}

boost::json::object ToJson(const ImageReport& report) {
  boost::json::object json;
  json["path"] = report.path;
  json["valid"] = report.verdict.ok();
  if (!report.verdict.ok()) {
    json["error"] = StatusText(report.verdict);
    json["error_code"] = CodeName(report.verdict.code());
  }
  json["size"] = report.bytes.size();
  // Every key is present; what could not be read is null.
  const std::optional<ImageHeader>& header = report.header;
  const std::optional<AppImageInfo>& info = report.info;
  const AppDescription* desc =
      info.has_value() && info->app_description.has_value() ? &*info->app_description : nullptr;
  auto or_null = [](bool present, auto value) -> boost::json::value {
    return present ? boost::json::value(value) : boost::json::value(nullptr);
  };
  const bool have_header = header.has_value();
  const std::string_view chip = have_header ? ChipName(header->chip_id) : std::string_view();
  json["chip"] = chip.empty() ? boost::json::value(nullptr) : boost::json::value(chip);
  json["chip_id"] = or_null(have_header, have_header ? header->chip_id : 0);
  json["magic"] = or_null(have_header, have_header ? header->magic : 0);
  json["entry_addr"] = or_null(have_header, have_header ? header->entry_addr : 0);
  const auto mode = have_header ? FlashModeName(header->spi_mode) : std::nullopt;
  const auto size = have_header ? FlashSizeName(header->spi_size) : std::nullopt;
  const auto freq =
      have_header ? FlashFrequencyName(header->chip_id, header->spi_speed) : std::nullopt;
  json["flash_mode"] = or_null(mode.has_value(), mode.value_or(""));
  json["flash_size"] = or_null(size.has_value(), size.value_or(""));
  json["flash_freq"] = or_null(freq.has_value(), freq.value_or(""));
  json["min_chip_rev_full"] = or_null(have_header, have_header ? header->min_chip_rev_full : 0);
  json["max_chip_rev_full"] = or_null(have_header, have_header ? header->max_chip_rev_full : 0);
  json["hash_appended"] = or_null(have_header, have_header && header->has_hash());
  json["segments"] = or_null(have_header, have_header ? header->segment_count : 0);

  const bool have_info = info.has_value();
  json["image_len"] = or_null(have_info, have_info ? info->image_len : 0);
  json["trailing_len"] = or_null(have_info, have_info ? info->trailing_len() : 0);
  boost::json::array segments;
  if (have_info) {
    for (size_t i = 0; i < info->segment_headers().size(); ++i) {
      const SegmentHeader& segment = info->segments[i];
      boost::json::array types;
      for (const std::string& type : MemoryTypes(info->header.chip_id, segment.load_addr)) {
        types.emplace_back(type);
      }
      segments.push_back(boost::json::object{{"index", i},
                                             {"load_addr", segment.load_addr},
                                             {"data_len", segment.data_len},
                                             {"header_offset", segment.header_offset},
                                             {"data_offset", segment.data_offset},
                                             {"memory_types", std::move(types)}});
    }
  }
  if (have_info) {
    json["segment_table"] = std::move(segments);
  } else {
    json["segment_table"] = nullptr;
  }
  json["checksum"] = or_null(have_info, have_info ? info->checksum_stored : 0);
  json["checksum_computed"] = or_null(have_info, have_info ? info->checksum_computed : 0);
  json["checksum_ok"] = or_null(have_info, have_info && info->checksum_ok());
  const bool have_hash = have_info && info->hash_appended;
  json["sha256"] = or_null(have_hash, have_hash ? HexString(info->sha256_stored) : "");
  json["sha256_computed"] = or_null(have_info, have_info ? HexString(info->sha256_computed) : "");
  json["sha256_ok"] = or_null(have_hash, have_hash && info->sha256_ok());

  const bool have_desc = desc != nullptr;
  json["project_name"] = or_null(have_desc, have_desc ? SafeText(desc->project_name.view()) : "");
  json["version"] = or_null(have_desc, have_desc ? SafeText(desc->version.view()) : "");
  json["secure_version"] = or_null(have_desc, have_desc ? desc->secure_version : 0);
  json["idf_ver"] = or_null(have_desc, have_desc ? SafeText(desc->idf_ver.view()) : "");
  json["date"] = or_null(have_desc, have_desc ? SafeText(desc->date.view()) : "");
  json["time"] = or_null(have_desc, have_desc ? SafeText(desc->time.view()) : "");
  json["app_elf_sha256"] = or_null(have_desc, have_desc ? HexString(desc->app_elf_sha256) : "");
  json["min_efuse_blk_rev_full"] = or_null(have_desc, have_desc ? desc->min_efuse_blk_rev_full : 0);
  json["max_efuse_blk_rev_full"] = or_null(have_desc, have_desc ? desc->max_efuse_blk_rev_full : 0);
  json["mmu_page_size_log2"] = or_null(have_desc, have_desc ? desc->mmu_page_size : 0);
  // The page in bytes; null for pre-v5.4 images (0: the chip's default applies) and nonsense.
  const bool have_page = have_desc && desc->mmu_page_size != 0 && desc->mmu_page_size < 32;
  json["mmu_page_size"] = or_null(have_page, have_page ? (1u << desc->mmu_page_size) : 0);
  json["signed"] = report.signatures.has_value();
  boost::json::array signatures;
  if (report.signatures.has_value()) {
    for (size_t i = 0; i < report.signatures->block_count; ++i) {
      const BlockVerdict& block = report.signatures->blocks[i];
      boost::json::object entry;
      entry["index"] = i;
      entry["scheme"] = block.scheme.has_value() ? boost::json::value(SchemeName(*block.scheme))
                                                 : boost::json::value(nullptr);
      entry["key_digest"] = block.key_digest.has_value()
                                ? boost::json::value(HexString(*block.key_digest))
                                : boost::json::value(nullptr);
      entry["crc_ok"] = block.crc_ok();
      entry["self_verified"] = block.verified();
      entry["outcome"] = BlockOutcomeName(block.outcome);
      signatures.push_back(std::move(entry));
    }
  }
  json["signatures"] = std::move(signatures);
  return json;
}

std::optional<uint32_t> ParseSize(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 0);
  if (end == nullptr || *end != '\0' || text[0] == '-' || value > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

int RunInfo(const InfoOptions& options) {
  ImageRequirements requirements;
  requirements.require_hash = options.require_hash;
  if (!options.chip.empty()) {
    requirements.chip_id = ChipIdFromName(options.chip);  // validated by CLI11
  }
  if (!options.slot_size.empty()) {
    const std::optional<uint32_t> slot = ParseSize(options.slot_size);
    if (!slot.has_value()) {
      return ReportError("--slot-size: not a size in bytes: " + options.slot_size, kExitUsage);
    }
    requirements.slot_size = slot;
  }
  std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(options.path);
  if (!bytes.has_value()) {
    return kExitFailure;
  }
  const ImageReport report = Inspect(options.path, std::move(*bytes), requirements);
  if (options.json) {
    PrintJson(ToJson(report));
  } else {
    PrintText(report);
  }
  if (report.verdict.code() == Status::Code::kOutOfRange && requirements.slot_size.has_value()) {
    return ReportError(report.path + ": " + report.verdict.reason() + ": it needs " +
                       std::to_string(report.verdict.context()) + " bytes, the slot has " +
                       std::to_string(*requirements.slot_size));
  }
  if (!report.verdict.ok()) {
    return ReportFailure(report.path, report.verdict);
  }
  return kExitOk;
}

}  // namespace

void AddImageCommands(CLI::App& app, CommandResult& result) {
  CLI::App* image =
      app.add_subcommand("image", "Inspect ESP app images (esptool elf2image output)");
  image->require_subcommand(1);

  auto options = std::make_shared<InfoOptions>();
  CLI::App* info = image->add_subcommand(
      "info",
      "Show an app image's header, segments, checksum, SHA-256 and esp_app_desc_t, and whether "
      "the bootloader would accept it. Exit 0 valid, 1 invalid.");
  info->add_option("APP.bin", options->path, "The app image file")->required();
  info->add_flag("--json", options->json, "Print JSON (keys: docs/formats/app-image.md)");
  info->add_option("--chip", options->chip, "Also require this chip (esp32, esp32c3, ...)")
      ->check([](const std::string& name) {
        return ChipIdFromName(name).has_value() ? std::string() : "unknown chip: " + name;
      });
  info->add_option("--slot-size", options->slot_size,
                   "Also require the image to fit an app partition of this many bytes (0x.. ok)");
  info->add_flag("--require-hash", options->require_hash,
                 "Refuse images without an appended SHA-256 (the bootloader accepts them)");
  info->callback([options, &result]() { result.exit_code = RunInfo(*options); });

  AddImageVerifyCommand(*image, result);
  AddImageMakeTestCommand(*image, result);
}

}  // namespace aloft::cli
