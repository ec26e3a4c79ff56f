// Fuzzes InspectAppImage + VerifyAppImage against AppImageValidator: the same bytes, whole and
// streamed in chunks derived from the input, must get the same verdict (the exact status when
// the image is structurally sound) and, when valid, the same summary. Also checks that a
// Reset() validator fed with different chunk boundaries answers identically.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "core/format/app_image.h"
#include "core/format/app_image_validator.h"
#include "ports/host/openssl_crypto.h"

namespace {

using aloft::core::AppImageExpectations;
using aloft::core::AppImageInfo;
using aloft::core::AppImageSummary;
using aloft::core::AppImageValidator;
using aloft::ConstByteSpan;
using aloft::Result;
using aloft::Status;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "app_image_fuzz: %s\n", what);
    __builtin_trap();
  }
}

bool SameStatus(const Status& a, const Status& b) {
  return a.code() == b.code() && std::strcmp(a.reason(), b.reason()) == 0 &&
         a.has_context() == b.has_context() && a.context() == b.context();
}

// Feeds `bytes` in chunks from a small PRNG seeded by `seed`, then finishes.
Result<AppImageSummary> Stream(AppImageValidator& validator, ConstByteSpan bytes, uint32_t seed) {
  uint32_t state = seed | 1;
  size_t offset = 0;
  while (offset < bytes.size()) {
    state = state * 1664525u + 1013904223u;
    // Mostly tiny chunks (boundaries inside headers), sometimes large ones.
    const size_t want = (state >> 28) < 12 ? 1 + ((state >> 8) % 40) : 1 + ((state >> 8) % 70000);
    const size_t size = want < bytes.size() - offset ? want : bytes.size() - offset;
    if (Status status = validator.Feed(bytes.subspan(offset, size)); !status.ok()) {
      return status;
    }
    offset += size;
  }
  return validator.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aloft::host::OpensslCrypto crypto;
  const ConstByteSpan bytes(reinterpret_cast<const std::byte*>(data), size);

  AppImageExpectations expectations;
  expectations.require_hash = false;  // judge by the bootloader's rules, like VerifyAppImage
  aloft::core::ImageRequirements requirements;
  requirements.slot_size = expectations.slot_size;

  const Result<AppImageInfo> info = aloft::core::InspectAppImage(bytes, crypto);
  const Status expected = info.ok() ? aloft::core::VerifyAppImage(*info, requirements) : info.status();

  uint32_t seed = static_cast<uint32_t>(size);
  for (size_t i = 0; i < size && i < 4; ++i) {
    seed = seed * 31 + data[size - 1 - i];
  }
  AppImageValidator validator(crypto, expectations);
  const Result<AppImageSummary> streamed = Stream(validator, bytes, seed);
  validator.Reset();
  const Result<AppImageSummary> restreamed = Stream(validator, bytes, seed ^ 0x5bd1e995u);
  Require(SameStatus(streamed.status(), restreamed.status()), "Reset changed the verdict");

  if (expected.ok()) {
    Require(streamed.ok(), "validator refused an image Inspect+Verify accept");
    const AppImageSummary& summary = *streamed;
    Require(summary.image_len == info->image_len, "image_len differs");
    Require(summary.total_len == size, "total_len differs");
    Require(summary.checksum == info->checksum_stored, "checksum differs");
    Require(summary.sha256 == info->sha256_computed, "sha256 differs");
    Require(summary.header == info->header, "header differs");
    Require(summary.app_description == *info->app_description, "app description differs");
    Require(restreamed.ok() && restreamed->sha256 == summary.sha256, "restream differs");
    return 0;
  }
  Require(!streamed.ok(), "validator accepted an image Inspect+Verify refuse");
  if (info.ok()) {
    // Structurally sound: both judge the same first failing check.
    Require(SameStatus(streamed.status(), expected), "validator and Verify disagree on why");
  }
  return 0;
}
