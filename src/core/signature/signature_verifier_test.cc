#include "core/signature/signature_verifier.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "core/hash.h"
#include "ports/host/openssl_crypto.h"
#include "support/allocation_counter.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using testing::ReadBinary;
using testing::VectorPath;

std::vector<std::byte> Signed(const std::string& name) {
  return ReadBinary(VectorPath("app-image/signed/" + name));
}

TrustedKey Key(const std::string& name, bool revoked = false) {
  const std::vector<std::byte> digest =
      ReadBinary(VectorPath("app-image/keys/" + name + ".digest.bin"));
  TrustedKey key;
  EXPECT_EQ(digest.size(), key.digest.size());
  std::copy(digest.begin(), digest.end(), key.digest.begin());
  key.revoked = revoked;
  return key;
}

constexpr std::optional<SignatureScheme> kAny = std::nullopt;
constexpr auto kRsa = SignatureScheme::kRsa3072;
constexpr auto kP192 = SignatureScheme::kEcdsaP192;
constexpr auto kP256 = SignatureScheme::kEcdsaP256;
constexpr auto kP384 = SignatureScheme::kEcdsaP384;

struct VectorCase {
  const char* file;
  uint32_t image_len;  // from the vector's expected.json (the app-image parser's image_len)
  const char* key;
  std::optional<SignatureScheme> device_scheme;
  Status expected;
  int accepted_block;  // -1: none
};

const Status kOk = OkStatus();
const Status kNoValid = Unauthenticated("signature: no valid signature block");
const Status kUntrusted = Unauthenticated("signature: no block signed by a trusted key");
const Status kBadSig = Unauthenticated("signature: signature does not verify");
const Status kDigest = Unauthenticated("signature: image digest mismatch");

// tests/vectors/app-image/README.md, "signed/": the device verdict of every file and key, for a
// device configured for the file's scheme and for a host tool ("any scheme").
const VectorCase kVectorCases[] = {
    {"esp32_app_securepad.signed_rsa0.bin", 131072, "test_rsa3072_key0", kRsa, kOk, 0},
    {"esp32_app_securepad.signed_rsa0.bin", 131072, "test_rsa3072_key0", kAny, kOk, 0},
    {"esp32_app_securepad.signed_rsa0.bin", 131072, "test_rsa3072_key1", kRsa, kUntrusted, -1},
    {"esp32_app.signed_rsa0_4kpad.bin", 73808, "test_rsa3072_key0", kRsa, kOk, 0},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 131072, "test_rsa3072_key0", kRsa, kOk, 0},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 131072, "test_rsa3072_key1", kRsa, kOk, 1},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 131072, "test_rsa3072_key2", kRsa, kUntrusted,
     -1},
    {"esp32c3_app_securepad.signed_rsa012.bin", 131072, "test_rsa3072_key0", kRsa, kOk, 0},
    {"esp32c3_app_securepad.signed_rsa012.bin", 131072, "test_rsa3072_key1", kRsa, kOk, 1},
    {"esp32c3_app_securepad.signed_rsa012.bin", 131072, "test_rsa3072_key2", kRsa, kOk, 2},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, "test_ecdsa256_key0", kP256, kOk,
     0},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, "test_ecdsa256_key0", kAny, kOk, 0},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, "test_ecdsa256_key1", kP256,
     kUntrusted, -1},
    {"esp32s3_app_securepad.signed_ecdsa384.bin", 131072, "test_ecdsa384_key0", kP384, kOk, 0},
    {"esp32s3_app_securepad.signed_ecdsa384.bin", 131072, "test_ecdsa384_key0", kAny, kOk, 0},
    {"esp32c3_app_securepad.signed_ecdsa192.bin", 131072, "test_ecdsa192_key0", kP192, kOk, 0},
    {"esp32c3_app_securepad.signed_ecdsa192.bin", 131072, "test_ecdsa192_key0", kAny, kOk, 0},
    {"neg_rsa0_image_byte_flipped.bin", 131072, "test_rsa3072_key0", kRsa, kDigest, -1},
    {"neg_rsa0_sig_byte_flipped_crc_stale.bin", 131072, "test_rsa3072_key0", kRsa, kNoValid, -1},
    {"neg_rsa0_sig_byte_flipped_crc_fixed.bin", 131072, "test_rsa3072_key0", kRsa, kBadSig, -1},
    {"neg_rsa0_sig_sector_truncated_by_100.bin", 131072, "test_rsa3072_key0", kRsa,
     DataLoss("signature: signature sector truncated", 3996), -1},
    // espsecure accepts this one (it ignores the key inside the block); a device does not.
    {"neg_rsa0_modulus_byte_flipped_crc_fixed.bin", 131072, "test_rsa3072_key0", kRsa, kUntrusted,
     -1},
    {"ok_rsa0_block_tail_padding_modified.bin", 131072, "test_rsa3072_key0", kRsa, kOk, 0},
    {"neg_ecdsa256_image_byte_flipped.bin", 65536, "test_ecdsa256_key0", kP256, kDigest, -1},
};

TEST(VerifySignedImage, EveryVector_DeviceVerdict) {
  host::OpensslCrypto crypto;
  for (const VectorCase& c : kVectorCases) {
    SCOPED_TRACE(std::string(c.file) + " with " + c.key);
    const std::vector<std::byte> image = Signed(c.file);
    const TrustedKey keys[] = {Key(c.key)};
    const SignatureVerdict verdict =
        VerifySignedImage(crypto, image, c.image_len, {keys, c.device_scheme, false});
    EXPECT_STATUS(verdict.status, c.expected) << verdict.status.reason();
    if (c.accepted_block < 0) {
      EXPECT_FALSE(verdict.accepted_block.has_value());
    } else {
      ASSERT_TRUE(verdict.accepted_block.has_value());
      EXPECT_EQ(*verdict.accepted_block, c.accepted_block);
    }
  }
}

// The unsigned image in a partition: the sector position holds erased flash.
TEST(VerifySignedImage, UnsignedImageFollowedByErasedFlash_NoValidBlock) {
  host::OpensslCrypto crypto;
  std::vector<std::byte> partition =
      ReadBinary(VectorPath("app-image/images/esp32_app_securepad.bin"));
  ASSERT_EQ(partition.size(), 131072u);
  const TrustedKey keys[] = {Key("test_rsa3072_key0")};
  EXPECT_STATUS(VerifySignedImage(crypto, partition, 131072, {keys, kRsa, false}).status,
                DataLoss("signature: signature sector truncated", 0));
  partition.resize(partition.size() + 2 * kSignatureSectorSize, std::byte{0xFF});
  const SignatureVerdict verdict =
      VerifySignedImage(crypto, partition, 131072, {keys, kRsa, false});
  EXPECT_STATUS(verdict.status, kNoValid);
  for (const BlockVerdict& block : verdict.blocks) {
    EXPECT_EQ(block.outcome, BlockOutcome::kInvalid);
    EXPECT_STATUS(block.validity, InvalidArgument("signature block: magic is not 0xE7"));
  }
}

TEST(VerifySignedImage, ImageShorterThanItsRegion_DataLoss) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0")};
  EXPECT_STATUS(
      VerifySignedImage(crypto, ConstByteSpan(image).first(100000), 131072, {keys, kRsa, false})
          .status,
      DataLoss("signature: image shorter than its signed region", 100000));
  EXPECT_STATUS(VerifySignedImage(crypto, image, 0, {keys, kRsa, false}).status,
                InvalidArgument("signature: image length is zero"));
}

// Bytes after the sector (the rest of a partition) do not matter.
TEST(VerifySignedImage, TrailingPartitionBytes_Ignored) {
  host::OpensslCrypto crypto;
  std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  image.resize(image.size() + 10000, std::byte{0x5A});
  const TrustedKey keys[] = {Key("test_rsa3072_key0")};
  EXPECT_TRUE(VerifySignedImage(crypto, image, 131072, {keys, kRsa, false}).ok());
}

TEST(VerifySignedImage, DeviceOfAnotherScheme_SkipsBlocksAsInvalid) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0")};
  const SignatureVerdict verdict = VerifySignedImage(crypto, image, 131072, {keys, kP256, false});
  EXPECT_STATUS(verdict.status, kNoValid);
  EXPECT_EQ(verdict.blocks[0].outcome, BlockOutcome::kOtherScheme);
}

TEST(VerifySignedImage, Esp32Eco3OnlyBlockZero_IgnoresLaterBlocks) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32c3_app_securepad.signed_rsa0_rsa1.bin");
  const TrustedKey key1[] = {Key("test_rsa3072_key1")};
  const SignatureVerdict refused = VerifySignedImage(crypto, image, 131072, {key1, kRsa, true});
  EXPECT_STATUS(refused.status, kUntrusted);
  EXPECT_EQ(refused.blocks[1].outcome, BlockOutcome::kNotChecked);
  const TrustedKey key0[] = {Key("test_rsa3072_key0")};
  EXPECT_TRUE(VerifySignedImage(crypto, image, 131072, {key0, kRsa, true}).ok());
}

TEST(VerifySignedImage, RevokedKey_PermissionDenied) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0", /*revoked=*/true), Key("test_rsa3072_key1")};
  const SignatureVerdict verdict = VerifySignedImage(crypto, image, 131072, {keys, kRsa, false});
  EXPECT_STATUS(verdict.status, PermissionDenied("signature: signing key is revoked"));
  EXPECT_EQ(verdict.blocks[0].outcome, BlockOutcome::kRevokedKey);
  EXPECT_FALSE(verdict.blocks[0].trusted);
}

// A digest listed both ways counts as revoked (fail safe).
TEST(VerifySignedImage, KeyListedRevokedAndNot_Revoked) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0"), Key("test_rsa3072_key0", true)};
  EXPECT_STATUS(VerifySignedImage(crypto, image, 131072, {keys, kRsa, false}).status,
                PermissionDenied("signature: signing key is revoked"));
}

// Key rotation: key0 revoked, the image also signed by key1, which the device trusts.
TEST(VerifySignedImage, RevokedFirstKeySecondTrusted_AcceptsBlockOne) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32c3_app_securepad.signed_rsa0_rsa1.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0", true), Key("test_rsa3072_key1")};
  const SignatureVerdict verdict = VerifySignedImage(crypto, image, 131072, {keys, kRsa, false});
  EXPECT_TRUE(verdict.ok());
  EXPECT_EQ(verdict.blocks[0].outcome, BlockOutcome::kRevokedKey);
  EXPECT_EQ(verdict.blocks[1].outcome, BlockOutcome::kVerified);
  EXPECT_EQ(*verdict.accepted_block, 1);
}

TEST(VerifySignedImage, NoTrustedKeys_Untrusted) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  EXPECT_STATUS(VerifySignedImage(crypto, image, 131072, {{}, kRsa, false}).status, kUntrusted);
}

TEST(VerifySignatureBlocks, MoreThanThreeTrustedKeys_InvalidArgument) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32_app_securepad.signed_rsa0.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0"), Key("test_rsa3072_key1"),
                             Key("test_rsa3072_key2"), Key("test_ecdsa256_key0")};
  EXPECT_STATUS(VerifySignedImage(crypto, image, 131072, {keys, kRsa, false}).status,
                InvalidArgument("signature: more than 3 trusted keys", 4));
}

TEST(VerifySignatureBlocks, PerBlockVerdicts_Reported) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32c3_app_securepad.signed_rsa0_rsa1.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key0")};
  const SignatureVerdict verdict = VerifySignedImage(crypto, image, 131072, {keys, kRsa, false});
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(verdict.block_count, 3u);
  EXPECT_EQ(verdict.blocks[0].outcome, BlockOutcome::kVerified);
  EXPECT_TRUE(verdict.blocks[0].trusted);
  EXPECT_TRUE(verdict.blocks[0].crc_ok());
  EXPECT_EQ(verdict.blocks[1].outcome, BlockOutcome::kUntrustedKey);
  ASSERT_TRUE(verdict.blocks[1].key_digest.has_value());
  EXPECT_EQ(*verdict.blocks[1].key_digest, Key("test_rsa3072_key1").digest);
  EXPECT_EQ(verdict.blocks[2].outcome, BlockOutcome::kInvalid);
  EXPECT_FALSE(verdict.blocks[2].key_digest.has_value());
  EXPECT_STREQ(BlockOutcomeName(verdict.blocks[1].outcome), "untrusted_key");
}

// The streaming installer's path: the region hashed in chunks as it arrives, then the sector.
TEST(VerifySignatureBlocks, IncrementalDigestAndSector_SameVerdictAsWholeImage) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32s3_app_securepad.signed_ecdsa384.bin");
  const ConstByteSpan bytes(image);
  Hash hash(crypto, port::HashAlgorithm::kSha384);
  ASSERT_TRUE(hash.Begin().ok());
  for (size_t at = 0; at < 131072; at += 1000) {
    ASSERT_TRUE(hash.Update(bytes.subspan(at, std::min<size_t>(1000, 131072 - at))).ok());
  }
  std::array<std::byte, 48> digest;
  ASSERT_TRUE(hash.Finish(digest).ok());
  SignedRegionDigests digests;
  digests.sha384 = digest;
  const TrustedKey keys[] = {Key("test_ecdsa384_key0")};
  const SignatureVerdict verdict = VerifySignatureBlocks(
      crypto, digests, bytes.subspan(131072, kSignatureSectorSize), {keys, kP384, false});
  EXPECT_TRUE(verdict.ok());
  // Without the SHA-384 the block cannot be checked, and that is not a pass.
  const SignatureVerdict missing =
      VerifySignatureBlocks(crypto, SignedRegionDigests{},
                            bytes.subspan(131072, kSignatureSectorSize), {keys, kAny, false});
  EXPECT_STATUS(missing.status, InvalidArgument("signature: no digest of the signed region"));
}

TEST(VerifySignatureBlocks, SectorSizes_WholeSectorOrWholeBlocksOnly) {
  host::OpensslCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32c3_app_securepad.signed_rsa012.bin");
  const ConstByteSpan sector = ConstByteSpan(image).subspan(131072);
  TrustPolicy policy;
  const TrustedKey keys[] = {Key("test_rsa3072_key2")};
  policy.keys = keys;
  policy.scheme = kRsa;
  Result<SignedRegionDigests> digests =
      DigestForPolicy(crypto, ConstByteSpan(image).first(131072), policy);
  ASSERT_TRUE(digests.ok());
  EXPECT_TRUE(VerifySignatureBlocks(crypto, *digests, sector, policy).ok());
  EXPECT_TRUE(VerifySignatureBlocks(crypto, *digests, sector.first(3 * 1216), policy).ok());
  // Two blocks: key2's block 2 is not among them.
  EXPECT_STATUS(VerifySignatureBlocks(crypto, *digests, sector.first(2 * 1216), policy).status,
                kUntrusted);
  for (size_t size : {size_t{0}, size_t{1215}, size_t{1217}, size_t{4095}, size_t{4097}}) {
    const ConstByteSpan blocks =
        size <= sector.size() ? sector.first(size) : ConstByteSpan(image).last(size);
    EXPECT_STATUS(VerifySignatureBlocks(crypto, *digests, blocks, policy).status,
                  DataLoss("signature: signature sector truncated", static_cast<uint32_t>(size)));
  }
}

// Real hashes, and signature math that answers without allocating, so the guard measures the
// verifier alone: the streaming path borrows every buffer.
class NoAllocCrypto final : public port::Crypto {
 public:
  Status HashBegin(port::HashAlgorithm a, port::HashContext& c) override {
    return real_.HashBegin(a, c);
  }
  Status HashUpdate(port::HashContext& c, ConstByteSpan d) override {
    return real_.HashUpdate(c, d);
  }
  Status HashFinish(port::HashContext& c, ByteSpan d) override { return real_.HashFinish(c, d); }
  void HashAbort(port::HashContext& c) override { real_.HashAbort(c); }
  Status VerifyEcdsa(port::EcdsaCurve, ConstByteSpan, ConstByteSpan, ConstByteSpan) override {
    return OkStatus();
  }
  Status VerifyRsaPss(ConstByteSpan, uint32_t, ConstByteSpan, ConstByteSpan) override {
    return OkStatus();
  }
  Status HmacSha256(ConstByteSpan, ConstByteSpan, ByteSpan) override {
    return Unimplemented("test: no hmac");
  }

 private:
  host::OpensslCrypto real_;  // OpenSSL allocates with malloc, which the guard does not count
};

TEST(VerifySignatureBlocks, WholeVerification_NoHeapAllocation) {
  NoAllocCrypto crypto;
  const std::vector<std::byte> image = Signed("esp32c3_app_securepad.signed_rsa012.bin");
  const TrustedKey keys[] = {Key("test_rsa3072_key2")};
  const TrustPolicy policy{keys, kRsa, false};
  testing::AllocationGuard guard;
  const SignatureVerdict verdict = VerifySignedImage(crypto, image, 131072, policy);
  EXPECT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict.accepted_block, 2);
}

TEST(SignedRegionSize, AlignsUpTo4096) {
  struct Case {
    uint32_t image_len;
    Result<uint32_t> expected;
  };
  const Case cases[] = {
      {1, 4096u},
      {4095, 4096u},
      {4096, 4096u},
      {4097, 8192u},
      {73808, 77824u},
      {131072, 131072u},
      {0xFFFFE000, 0xFFFFE000u},
      {0, InvalidArgument("signature: image length is zero")},
      {0xFFFFE001, OutOfRange("signature: image length overflows", 0xFFFFE001)},
      {0xFFFFFFFF, OutOfRange("signature: image length overflows", 0xFFFFFFFF)},
  };
  for (const Case& c : cases) {
    const Result<uint32_t> got = SignedRegionSize(c.image_len);
    EXPECT_STATUS(got.status(), c.expected.status()) << c.image_len;
    if (got.ok() && c.expected.ok()) {
      EXPECT_EQ(*got, *c.expected) << c.image_len;
    }
  }
}

}  // namespace
}  // namespace aloft::core
