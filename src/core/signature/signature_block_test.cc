#include "core/signature/signature_block.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "core/crc32.h"
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

std::vector<std::byte> KeyDigestFile(const std::string& key) {
  return ReadBinary(VectorPath("app-image/keys/" + key + ".digest.bin"));
}

// Block `index` of the sector at the end of a signed file.
ConstByteSpan Block(const std::vector<std::byte>& file, size_t index) {
  return ConstByteSpan(file).subspan(
      file.size() - kSignatureSectorSize + index * kSignatureBlockSize, kSignatureBlockSize);
}

struct BlockCase {
  const char* file;
  size_t index;
  SignatureScheme scheme;
  const char* key;
};

// Every valid block in the vectors: its scheme and the digest espsecure wrote for its key.
constexpr BlockCase kValidBlocks[] = {
    {"esp32_app_securepad.signed_rsa0.bin", 0, SignatureScheme::kRsa3072, "test_rsa3072_key0"},
    {"esp32_app.signed_rsa0_4kpad.bin", 0, SignatureScheme::kRsa3072, "test_rsa3072_key0"},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 0, SignatureScheme::kRsa3072,
     "test_rsa3072_key0"},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 1, SignatureScheme::kRsa3072,
     "test_rsa3072_key1"},
    {"esp32c3_app_securepad.signed_rsa012.bin", 0, SignatureScheme::kRsa3072, "test_rsa3072_key0"},
    {"esp32c3_app_securepad.signed_rsa012.bin", 1, SignatureScheme::kRsa3072, "test_rsa3072_key1"},
    {"esp32c3_app_securepad.signed_rsa012.bin", 2, SignatureScheme::kRsa3072, "test_rsa3072_key2"},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 0, SignatureScheme::kEcdsaP256,
     "test_ecdsa256_key0"},
    {"esp32s3_app_securepad.signed_ecdsa384.bin", 0, SignatureScheme::kEcdsaP384,
     "test_ecdsa384_key0"},
    {"esp32c3_app_securepad.signed_ecdsa192.bin", 0, SignatureScheme::kEcdsaP192,
     "test_ecdsa192_key0"},
    {"ok_rsa0_block_tail_padding_modified.bin", 0, SignatureScheme::kRsa3072, "test_rsa3072_key0"},
};

TEST(ParseSignatureBlock, EveryValidVectorBlock_SchemeCrcAndKeyDigestMatchEspsecure) {
  host::OpensslCrypto crypto;
  for (const BlockCase& c : kValidBlocks) {
    SCOPED_TRACE(std::string(c.file) + " block " + std::to_string(c.index));
    const std::vector<std::byte> file = Signed(c.file);
    const Result<SignatureBlock> block = ParseSignatureBlock(Block(file, c.index));
    ASSERT_TRUE(block.ok());
    EXPECT_TRUE(block->valid()) << block->validity.reason();
    EXPECT_TRUE(block->crc_ok());
    ASSERT_TRUE(block->scheme.has_value());
    EXPECT_EQ(*block->scheme, c.scheme);
    EXPECT_EQ(block->image_digest.size(), SchemeDigestSize(c.scheme));
    EXPECT_EQ(block->key_fields.size(), SchemeKeyFieldsSize(c.scheme));
    const auto digest = SignatureKeyDigest(crypto, *block);
    ASSERT_TRUE(digest.ok());
    const std::vector<std::byte> expected = KeyDigestFile(c.key);
    EXPECT_EQ(std::vector<std::byte>(digest->begin(), digest->end()), expected);
  }
}

TEST(ParseSignatureBlock, RsaVector_FieldsDecoded) {
  const std::vector<std::byte> file = Signed("esp32c3_app_securepad.signed_rsa012.bin");
  const Result<SignatureBlock> block = ParseSignatureBlock(Block(file, 0));
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->magic, 0xE7);
  EXPECT_EQ(block->version, 0x02);
  EXPECT_EQ(block->crc_stored, 0xf30fcb0du);  // expected.json crc_stored
  EXPECT_EQ(block->rsa_exponent, 65537u);
  EXPECT_EQ(block->rsa_mdash, 0x1636f4bfu);
  EXPECT_EQ(block->rsa_modulus_le.size(), 384u);
  EXPECT_EQ(block->rsa_rinv_le.size(), 384u);
  EXPECT_EQ(block->signature.size(), 384u);
  // image digest = sha256_of_signed_region in expected.json: 0de843cf...
  EXPECT_EQ(block->image_digest[0], std::byte{0x0d});
  EXPECT_EQ(block->image_digest[31], std::byte{0x4d});
}

TEST(ParseSignatureBlock, EcdsaVectors_PointAndSignatureViews) {
  const std::vector<std::byte> p256 = Signed("esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin");
  const Result<SignatureBlock> a = ParseSignatureBlock(Block(p256, 0));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ecdsa_x_le.data(), Block(p256, 0).data() + 37);
  EXPECT_EQ(a->ecdsa_y_le.data(), Block(p256, 0).data() + 69);
  EXPECT_EQ(a->signature.data(), Block(p256, 0).data() + 101);
  EXPECT_EQ(a->signature.size(), 64u);

  const std::vector<std::byte> p384 = Signed("esp32s3_app_securepad.signed_ecdsa384.bin");
  const Result<SignatureBlock> b = ParseSignatureBlock(Block(p384, 0));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->image_digest.size(), 48u);
  EXPECT_EQ(b->ecdsa_x_le.data(), Block(p384, 0).data() + 53);
  EXPECT_EQ(b->ecdsa_y_le.data(), Block(p384, 0).data() + 101);
  EXPECT_EQ(b->signature.data(), Block(p384, 0).data() + 149);
  EXPECT_EQ(b->signature.size(), 96u);

  const std::vector<std::byte> p192 = Signed("esp32c3_app_securepad.signed_ecdsa192.bin");
  const Result<SignatureBlock> c = ParseSignatureBlock(Block(p192, 0));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ecdsa_y_le.data(), Block(p192, 0).data() + 61);
  EXPECT_EQ(c->signature.size(), 48u);
}

TEST(ParseSignatureBlock, ErasedBlock_InvalidMagic) {
  const std::vector<std::byte> file = Signed("esp32_app_securepad.signed_rsa0.bin");
  const Result<SignatureBlock> block = ParseSignatureBlock(Block(file, 1));
  ASSERT_TRUE(block.ok());
  EXPECT_FALSE(block->valid());
  EXPECT_STATUS(block->validity, InvalidArgument("signature block: magic is not 0xE7"));
  EXPECT_FALSE(block->scheme.has_value());
}

TEST(ParseSignatureBlock, StaleCrcVector_CrcMismatchButSchemeKnown) {
  const std::vector<std::byte> file = Signed("neg_rsa0_sig_byte_flipped_crc_stale.bin");
  const Result<SignatureBlock> block = ParseSignatureBlock(Block(file, 0));
  ASSERT_TRUE(block.ok());
  EXPECT_STATUS(block->validity, DataLoss("signature block: crc mismatch"));
  EXPECT_NE(block->crc_stored, block->crc_computed);
  ASSERT_TRUE(block->scheme.has_value());
  EXPECT_EQ(*block->scheme, SignatureScheme::kRsa3072);
}

TEST(ParseSignatureBlock, ShortInput_DataLoss) {
  std::vector<std::byte> bytes(kSignatureBlockSize - 1, std::byte{0});
  EXPECT_STATUS(ParseSignatureBlock(bytes).status(), DataLoss("signature block: truncated", 1215));
  EXPECT_STATUS(ParseSignatureBlock({}).status(), DataLoss("signature block: truncated", 0));
}

// Re-signs the CRC so a test can probe the checks behind it.
void FixCrc(ByteSpan block) {
  StoreLe32(block, kSignatureBlockCrcOffset,
            EspRomCrc32Le(0, ConstByteSpan(block).first(kSignatureBlockCrcOffset)));
}

TEST(ParseSignatureBlock, UnknownVersionOrCurve_NamedReason) {
  const std::vector<std::byte> file = Signed("esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin");
  struct Case {
    size_t offset;
    uint8_t value;
    Status expected;
  };
  const Case cases[] = {
      {1, 0x01, InvalidArgument("signature block: unknown version")},
      {1, 0x04, InvalidArgument("signature block: unknown version")},
      {36, 0x03, InvalidArgument("signature block: unknown ecdsa curve or sha version")},
      {36, 0x00, InvalidArgument("signature block: unknown ecdsa curve or sha version")},
      {2, 0x01, InvalidArgument("signature block: unknown ecdsa curve or sha version")},
      {2, 0x02, InvalidArgument("signature block: unknown ecdsa curve or sha version")},
  };
  for (const Case& c : cases) {
    std::vector<std::byte> block(Block(file, 0).begin(), Block(file, 0).end());
    StoreU8(block, c.offset, c.value);
    FixCrc(block);
    const Result<SignatureBlock> parsed = ParseSignatureBlock(block);
    ASSERT_TRUE(parsed.ok());
    EXPECT_STATUS(parsed->validity, c.expected) << "offset " << c.offset;
    EXPECT_FALSE(parsed->scheme.has_value());
  }
}

// Corrupting any byte of a valid block's CRC-covered part or of the CRC itself makes it invalid
// with a specific reason; the 16-byte tail is outside the CRC and changes nothing.
TEST(ParseSignatureBlock, EveryByteCorrupted_InvalidOrTailIgnored) {
  const std::vector<std::byte> file = Signed("esp32s3_app_securepad.signed_ecdsa384.bin");
  for (size_t i = 0; i < kSignatureBlockSize; ++i) {
    std::vector<std::byte> block(Block(file, 0).begin(), Block(file, 0).end());
    block[i] ^= std::byte{0x01};
    testing::AllocationGuard guard;
    const Result<SignatureBlock> parsed = ParseSignatureBlock(block);
    ASSERT_TRUE(parsed.ok());
    if (i >= kSignatureBlockCrcOffset + 4) {
      EXPECT_TRUE(parsed->valid()) << "tail byte " << i;
    } else if (i == 0) {
      EXPECT_STATUS(parsed->validity, InvalidArgument("signature block: magic is not 0xE7"));
    } else {
      EXPECT_STATUS(parsed->validity, DataLoss("signature block: crc mismatch")) << "byte " << i;
    }
  }
}

// Serializing a parsed vector block from its fields gives back espsecure's bytes, for every
// scheme (the vectors' 16-byte tails are zero, except the one modified on purpose).
TEST(SerializeSignatureBlock, FromParsedVectorFields_ByteIdentical) {
  for (const BlockCase& c : kValidBlocks) {
    if (std::string(c.file).starts_with("ok_rsa0_block_tail")) {
      continue;
    }
    SCOPED_TRACE(std::string(c.file) + " block " + std::to_string(c.index));
    const std::vector<std::byte> file = Signed(c.file);
    const ConstByteSpan original = Block(file, c.index);
    const Result<SignatureBlock> parsed = ParseSignatureBlock(original);
    ASSERT_TRUE(parsed.ok());
    std::array<std::byte, kSignatureBlockSize> out;
    out.fill(std::byte{0xAA});
    ASSERT_TRUE(
        SerializeSignatureBlock(
            {*parsed->scheme, parsed->image_digest, parsed->key_fields, parsed->signature}, out)
            .ok());
    EXPECT_TRUE(std::equal(out.begin(), out.end(), original.begin()));
  }
}

TEST(SerializeSignatureBlock, WrongSizes_InvalidArgument) {
  std::array<std::byte, 48> digest{};
  std::array<std::byte, kRsaKeyFieldsSize> rsa_key{};
  std::array<std::byte, 384> rsa_sig{};
  std::array<std::byte, 65> ec_key{};
  ec_key[0] = std::byte{kCurveIdP256};
  std::array<std::byte, 64> ec_sig{};
  std::array<std::byte, kSignatureBlockSize> out{};
  const ConstByteSpan d32 = ConstByteSpan(digest).first(32);
  EXPECT_STATUS(SerializeSignatureBlock({SignatureScheme::kRsa3072, digest, rsa_key, rsa_sig}, out),
                InvalidArgument("signature block: image digest has the wrong size", 48));
  EXPECT_STATUS(SerializeSignatureBlock({SignatureScheme::kRsa3072, d32, ec_key, rsa_sig}, out),
                InvalidArgument("signature block: key fields have the wrong size", 65));
  EXPECT_STATUS(SerializeSignatureBlock({SignatureScheme::kEcdsaP256, d32, ec_key, rsa_sig}, out),
                InvalidArgument("signature block: signature has the wrong size", 384));
  EXPECT_STATUS(
      SerializeSignatureBlock(
          {SignatureScheme::kEcdsaP192, d32, ec_key, ConstByteSpan(ec_sig).first(48)}, out),
      InvalidArgument("signature block: key fields name another curve"));
  EXPECT_STATUS(SerializeSignatureBlock({SignatureScheme::kEcdsaP256, d32, ec_key, ec_sig},
                                        ByteSpan(out).first(1215)),
                InvalidArgument("signature block: output buffer too small", 1215));
  EXPECT_TRUE(
      SerializeSignatureBlock({SignatureScheme::kEcdsaP256, d32, ec_key, ec_sig}, out).ok());
}

TEST(SignatureScheme, NamesAndSizes) {
  struct Case {
    SignatureScheme scheme;
    const char* name;
    size_t digest, key_fields, signature;
  };
  constexpr Case kCases[] = {
      {SignatureScheme::kRsa3072, "rsa-3072", 32, 776, 384},
      {SignatureScheme::kEcdsaP192, "ecdsa-p192", 32, 65, 48},
      {SignatureScheme::kEcdsaP256, "ecdsa-p256", 32, 65, 64},
      {SignatureScheme::kEcdsaP384, "ecdsa-p384", 48, 97, 96},
  };
  for (const Case& c : kCases) {
    EXPECT_STREQ(SchemeName(c.scheme), c.name);
    EXPECT_EQ(SchemeDigestSize(c.scheme), c.digest);
    EXPECT_EQ(SchemeKeyFieldsSize(c.scheme), c.key_fields);
    EXPECT_EQ(SchemeSignatureSize(c.scheme), c.signature);
  }
}

}  // namespace
}  // namespace aloft::core
