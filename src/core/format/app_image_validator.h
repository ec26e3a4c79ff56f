#pragma once
// AppImageValidator: checks an app image while it streams past (a download on its way to
// flash), in chunks of any size and alignment, with no heap and a fixed 256-byte buffer. It
// decides as early as the bytes allow, so an installer can stop before erasing more flash:
//   byte 0            magic
//   byte 24           chip id, chip revision window, segment_count, hash_appended (require_hash)
//   each segment hdr  data_len rules, segment 0 >= 256, "the image can no longer fit the slot"
//                     (or the declared size)
//   byte 288          esp_app_desc_t magic, project name
//   checksum byte     checksum
//   end of the hash   appended SHA-256
// and Finish() reports truncation. Bytes after image_len (signature padding and sector) are
// accepted, counted in total_len() and not hashed. Verdicts and reasons are those of
// InspectAppImage + VerifyAppImage (app_image.h), so a streamed and a stored image get the
// same answer; the fuzz target fuzz/app_image_fuzz.cc holds them to it.
//
// Spec: ../shared/spec/esp-app-image.md §1–§7, esp-idf-ota.md §5.4 and §6.
// Not thread-safe; one validator per stream. The Crypto port and the expectations' project
// name must outlive the validator. A failed validator stays failed (every later Feed or
// Finish returns the same status) until Reset().

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/bytes.h"
#include "core/format/app_image.h"
#include "core/hash.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

struct AppImageExpectations {
  std::optional<uint16_t> chip_id;         // the device's chip; nullopt = any
  std::optional<uint16_t> chip_revision;   // the device's revision (major * 100 + minor)
  std::string_view project_name;           // esp_app_desc_t.project_name; empty = any
  uint32_t slot_size = kMaxPartitionSize;  // the target partition's size
  std::optional<uint32_t> declared_size;   // total bytes announced (e.g. Content-Length)
  bool require_hash = true;                // refuse images without an appended SHA-256
  bool signed_image = false;  // a 4 KiB signature sector must follow the image (§7, §9)
};

// What Finish() knows about a complete, valid image.
struct AppImageSummary {
  ImageHeader header;
  AppDescription app_description;
  uint32_t image_len = 0;  // §1
  uint32_t total_len = 0;  // every byte fed, including trailing padding and signature sector
  uint8_t checksum = 0;
  bool hash_appended = false;
  // SHA-256 of bytes [0, checksum]: equal to the appended hash when there is one.
  std::array<std::byte, kImageHashSize> sha256{};
};

class AppImageValidator {
 public:
  AppImageValidator(port::Crypto& crypto, const AppImageExpectations& expectations);
  AppImageValidator(const AppImageValidator&) = delete;
  AppImageValidator& operator=(const AppImageValidator&) = delete;

  // Forgets everything fed so far (and any failure), keeping the expectations. An installer
  // resuming after a dropped connection calls Reset() and re-feeds the bytes it reads back
  // from flash before feeding new ones.
  void Reset();

  // Consumes `chunk` (any size, including 0). Returns the first failure, with the reasons of
  // app_image.h, plus:
  //   kOutOfRange "app image: does not fit the slot" (context = bytes the image needs) as
  //     soon as a segment header makes the image too big, "app image: stream exceeds the
  //     slot" / "... exceeds the declared size" (context = the limit) for too many bytes,
  //     "app image: declared size exceeds the slot";
  //   kDataLoss "app image: declared size shorter than the image" (context = bytes needed);
  //   kPermissionDenied "app image: project_name differs" (0x50);
  //   kFailedPrecondition "app image validator: fed after Finish".
  // The first 1..288 bytes fed decide everything the header and descriptor can decide.
  Status Feed(ConstByteSpan chunk);

  // Ends the stream. kDataLoss "app image: truncated in ..." (the same reasons and offsets as
  // InspectAppImage) when the image is incomplete, "app image: stream shorter than the
  // declared size", "app image: signature sector incomplete" (expectations.signed_image);
  // otherwise the summary. Calling it again returns the same answer.
  Result<AppImageSummary> Finish();

  // The 24-byte header, once it has arrived and passed its checks.
  bool header_ready() const { return header_ready_; }
  const ImageHeader& header() const;  // REQUIRES: header_ready()
  // esp_app_desc_t, once its 256 bytes have arrived and passed their checks.
  bool app_description_ready() const { return app_description_ready_; }
  const AppDescription& app_description() const;  // REQUIRES: app_description_ready()
  // image_len, known exactly once the last segment header has arrived.
  std::optional<uint32_t> image_len() const;
  // Bytes fed since construction or Reset().
  uint32_t total_len() const { return total_len_; }
  // OK, or the failure that stopped the validator.
  Status status() const { return failure_; }

 private:
  enum class Stage : uint8_t {
    kHeader,         // collecting the 24-byte image header
    kSegmentHeader,  // collecting an 8-byte segment header
    kSegmentData,    // inside segment data (segment 0's first 256 bytes are collected)
    kChecksum,       // padding up to and including the checksum byte
    kHash,           // the 32 stored SHA-256 bytes
    kTrailer,        // after image_len: counted only
  };

  Status Consume(ConstByteSpan& chunk);
  Status OnHeader();
  Status OnSegmentHeader();
  Status OnAppDescription();
  Status OnSegmentsDone();
  Status OnChecksumByte(uint8_t stored);
  Status OnHashStored();
  Status CheckProjectedLength(uint32_t min_image_len, uint32_t context_offset);
  Status Fail(Status status);

  AppImageExpectations expectations_;
  ImageRequirements requirements_;
  Hash sha_;

  Stage stage_ = Stage::kHeader;
  Status failure_;
  bool finished_ = false;
  bool header_ready_ = false;
  bool app_description_ready_ = false;
  uint32_t total_len_ = 0;  // bytes fed
  uint32_t image_pos_ = 0;  // bytes of the image consumed (== total_len_ until kTrailer)
  uint32_t buffered_ = 0;   // bytes in buffer_ for the current header / descriptor
  uint8_t segment_index_ = 0;
  SegmentHeader segment_;  // the current segment
  uint32_t segment_remaining_ = 0;
  uint32_t checksum_offset_ = 0;
  uint32_t image_len_ = 0;  // valid once stage_ >= kChecksum
  uint8_t checksum_ = kChecksumSeed;
  uint8_t checksum_stored_ = 0;
  ImageHeader header_;
  AppDescription app_description_;
  std::array<std::byte, kImageHashSize> sha256_computed_{};
  std::array<std::byte, kImageHashSize> sha256_stored_{};
  // Holds the image header, a segment header or esp_app_desc_t across chunk boundaries.
  std::array<std::byte, kAppDescSize> buffer_{};
};

}  // namespace aloft::core
