#pragma once
// Test-only helpers shared by boot_selection_test.cc and ota_ops_test.cc: otadata vectors as
// byte images, applying writes to an in-memory copy, Status as text, and a strict in-memory
// NOR flash that records its operations. Not part of aloft_core (only *_test.cc include it).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/boot/boot_selection.h"
#include "core/format/otadata.h"
#include "core/port/flash.h"
#include "core/status.h"
#include "core/try.h"
#include "support/vectors.h"

namespace aloft::core::testing {

using Image = std::vector<std::byte>;

inline Image ReadOtadataVector(const std::string& name) {
  return ::aloft::testing::ReadBinary(::aloft::testing::VectorPath("otadata/" + name));
}

inline Otadata ParseImage(const Image& image) {
  Result<Otadata> otadata = ParseOtadata(image);
  EXPECT_TRUE(otadata.ok());
  return otadata.ok() ? *otadata : Otadata{};
}

// Each write as ESP-IDF makes it: the sector erased, the entry at its start.
inline Image ApplyWrites(Image image, std::span<const OtadataWrite> writes) {
  for (const OtadataWrite& write : writes) {
    EXPECT_TRUE(SerializeOtadataSector(
                    write.entry,
                    std::span(image).subspan(static_cast<size_t>(write.sector) * 0x1000, 0x1000))
                    .ok());
  }
  return image;
}

// Status equality compares reason pointers, and identical literals in two translation units
// need not share one: compare the text.
inline std::string Describe(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " [" + std::to_string(status.context()) + "]";
  }
  return text;
}

inline std::string Describe(const std::optional<int>& index) {
  return index.has_value() ? AppPartitionName(*index) : "none";
}

// NOR flash in memory, as strict as the physics: erased = 0xFF, erase whole sectors only, a
// write may only program erased bytes. Records every operation; can fail the Nth one.
class MemoryFlash final : public port::Flash {
 public:
  struct Op {
    char kind;  // 'E' erase, 'W' write
    uint32_t offset;
    uint32_t size;
    friend bool operator==(const Op&, const Op&) = default;
  };

  explicit MemoryFlash(uint32_t size) : bytes_(size, std::byte{0xFF}) {}

  Status Read(uint32_t offset, ByteSpan out) override {
    if (!InRange(offset, out.size())) {
      return OutOfRange("flash: read past the end", offset);
    }
    std::copy_n(bytes_.begin() + offset, out.size(), out.begin());
    return OkStatus();
  }
  Status Write(uint32_t offset, ConstByteSpan data) override {
    ALOFT_TRY(Count());
    if (!InRange(offset, data.size())) {
      return OutOfRange("flash: write past the end", offset);
    }
    for (size_t i = 0; i < data.size(); ++i) {
      if (bytes_[offset + i] != std::byte{0xFF}) {
        return FailedPrecondition("flash: write over unerased byte",
                                  offset + static_cast<uint32_t>(i));
      }
      bytes_[offset + i] = data[i];
    }
    ops_.push_back({'W', offset, static_cast<uint32_t>(data.size())});
    return OkStatus();
  }
  Status Erase(uint32_t offset, uint32_t size) override {
    ALOFT_TRY(Count());
    if (offset % 0x1000 != 0 || size % 0x1000 != 0) {
      return InvalidArgument("flash: erase not sector-aligned", offset);
    }
    if (!InRange(offset, size)) {
      return OutOfRange("flash: erase past the end", offset);
    }
    std::fill_n(bytes_.begin() + offset, size, std::byte{0xFF});
    ops_.push_back({'E', offset, size});
    return OkStatus();
  }
  uint32_t sector_size() const override { return 0x1000; }
  uint32_t size() const override { return static_cast<uint32_t>(bytes_.size()); }

  // The Nth write or erase (1-based) from now fails with kAborted, and so do all later ones.
  void CutPowerAtOp(int n) { cut_at_ = ops_counted_ + n; }

  Image Slice(uint32_t offset, uint32_t size) const {
    return Image(bytes_.begin() + offset, bytes_.begin() + offset + size);
  }
  void Store(uint32_t offset, const Image& data) {
    std::copy(data.begin(), data.end(), bytes_.begin() + offset);
  }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  bool InRange(uint32_t offset, size_t size) const {
    return offset <= bytes_.size() && size <= bytes_.size() - offset;
  }
  Status Count() {
    ++ops_counted_;
    if (cut_at_.has_value() && ops_counted_ >= *cut_at_) {
      return Aborted("flash: power cut");
    }
    return OkStatus();
  }

  Image bytes_;
  std::vector<Op> ops_;
  int ops_counted_ = 0;
  std::optional<int> cut_at_;
};

}  // namespace aloft::core::testing
