// Fuzzes the Secure Boot v2 sector parser and device verifier: the input's last 4096 bytes are
// the sector, everything before it the signed region. The vector keys are trusted, so mutated
// blocks that keep a real key reach the RSA/ECDSA math. Checks invariants: no crash, a verdict
// always, OK only with a verified block.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/signature/signature_block.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/openssl_crypto.h"

namespace {

constexpr uint8_t kTrusted[][32] = {
    // test_rsa3072_key0, test_ecdsa256_key0, test_ecdsa384_key0 (tests/vectors/app-image/README)
    {0x3d, 0x2c, 0xb6, 0xb9, 0x2f, 0xa6, 0xf7, 0x58, 0x68, 0x27, 0xb7,
     0xa5, 0xf3, 0x59, 0x07, 0xfa, 0xc4, 0x8a, 0xff, 0xeb, 0x5b, 0x36,
     0x01, 0xa4, 0x68, 0x3b, 0x97, 0xe9, 0xd5, 0x22, 0x9f, 0x70},
    {0xdf, 0x2e, 0x2f, 0xb2, 0x8b, 0x31, 0x7e, 0xd5, 0xf4, 0x6c, 0x82,
     0x23, 0x07, 0xf4, 0x82, 0xf3, 0x02, 0xc1, 0x8b, 0xbc, 0x6c, 0xdf,
     0x58, 0xcd, 0x06, 0x6d, 0x2d, 0x8f, 0xc9, 0x83, 0xf4, 0xff},
    {0x10, 0x34, 0xb3, 0x8b, 0x6f, 0x6a, 0xa0, 0x5c, 0xf2, 0x89, 0x79,
     0xe9, 0xe4, 0x48, 0xe4, 0x58, 0x9b, 0x6e, 0xd9, 0x0d, 0xc4, 0x16,
     0xdb, 0xe2, 0xb0, 0x7e, 0x87, 0xbd, 0xd6, 0x1e, 0x82, 0xd1},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aloft;
  const ConstByteSpan input(reinterpret_cast<const std::byte*>(data), size);
  for (size_t at = 0; at + core::kSignatureBlockSize <= size; at += core::kSignatureBlockSize) {
    const Result<core::SignatureBlock> block = core::ParseSignatureBlock(input.subspan(at));
    if (!block.ok() || (block->valid() && !block->scheme.has_value())) {
      std::abort();
    }
  }
  if (size < core::kSignatureSectorSize + 1) {
    return 0;
  }
  std::array<core::TrustedKey, 3> keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = 0; j < 32; ++j) {
      keys[i].digest[j] = std::byte{kTrusted[i][j]};
    }
  }
  host::OpensslCrypto crypto;
  const uint32_t image_len = static_cast<uint32_t>(size - core::kSignatureSectorSize);
  const core::SignatureVerdict verdict =
      core::VerifySignedImage(crypto, input, image_len, {keys, std::nullopt, false});
  if (verdict.ok() != verdict.accepted_block.has_value()) {
    std::abort();
  }
  if (verdict.ok() && !verdict.blocks[*verdict.accepted_block].verified()) {
    std::abort();
  }
  return 0;
}
