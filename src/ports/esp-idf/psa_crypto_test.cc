// The Crypto port's contract, run on the ESP-IDF port (PsaCrypto, here over Debian's Mbed TLS
// 2.28) and on the host port (OpensslCrypto): known answers, the Secure Boot v2 vectors with
// their documented device verdicts (tests/vectors/app-image/README.md), and the error codes.

#include "ports/esp-idf/psa_crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/hash.h"
#include "core/signature/signature_block.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/openssl_crypto.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::espidf {
namespace {

using testing::ReadBinary;
using testing::VectorPath;

struct Implementation {
  const char* name;
  std::function<std::unique_ptr<port::Crypto>()> make;
};

class CryptoContract : public ::testing::TestWithParam<Implementation> {
 protected:
  CryptoContract() : crypto_(GetParam().make()) {}
  port::Crypto& crypto() { return *crypto_; }

 private:
  std::unique_ptr<port::Crypto> crypto_;
};

std::vector<std::byte> FromHex(const std::string& hex) {
  std::vector<std::byte> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::byte>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return bytes;
}

std::string ToHex(ConstByteSpan bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (std::byte b : bytes) {
    text += kDigits[static_cast<uint8_t>(b) >> 4];
    text += kDigits[static_cast<uint8_t>(b) & 0xF];
  }
  return text;
}

std::vector<std::byte> Reversed(ConstByteSpan bytes) { return {bytes.rbegin(), bytes.rend()}; }

std::string DigestHex(port::Crypto& crypto, port::HashAlgorithm algorithm,
                      const std::vector<std::string>& pieces) {
  Hash hash(crypto, algorithm);
  EXPECT_TRUE(hash.Begin().ok());
  for (const std::string& piece : pieces) {
    EXPECT_TRUE(hash.Update(AsBytes(piece)).ok());
  }
  std::array<std::byte, 48> digest{};
  EXPECT_TRUE(hash.Finish(digest).ok());
  return ToHex(ConstByteSpan(digest).first(port::DigestSize(algorithm)));
}

// FIPS 180-2 and RFC 1321 known answers ("abc"), fed in pieces to exercise HashUpdate.
TEST_P(CryptoContract, Hash_KnownAnswers) {
  EXPECT_EQ(DigestHex(crypto(), port::HashAlgorithm::kSha256, {"a", "bc"}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestHex(crypto(), port::HashAlgorithm::kSha384, {"ab", "c"}),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(DigestHex(crypto(), port::HashAlgorithm::kMd5, {"abc"}),
            "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(DigestHex(crypto(), port::HashAlgorithm::kSha256, {}),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_P(CryptoContract, HashFinish_BufferTooSmall_InvalidArgumentWithLength) {
  port::HashContext context;
  ASSERT_TRUE(crypto().HashBegin(port::HashAlgorithm::kSha384, context).ok());
  std::array<std::byte, 32> digest{};
  EXPECT_STATUS(crypto().HashFinish(context, digest),
                InvalidArgument("crypto: digest buffer too small", 48));
}

TEST_P(CryptoContract, HashAbort_ThenBeginAgain_FreshHash) {
  port::HashContext context;
  ASSERT_TRUE(crypto().HashBegin(port::HashAlgorithm::kSha256, context).ok());
  ASSERT_TRUE(crypto().HashUpdate(context, AsBytes("garbage")).ok());
  crypto().HashAbort(context);
  crypto().HashAbort(context);  // a no-op on a context that is not running
  ASSERT_TRUE(crypto().HashBegin(port::HashAlgorithm::kSha256, context).ok());
  ASSERT_TRUE(crypto().HashUpdate(context, AsBytes("abc")).ok());
  std::array<std::byte, 32> digest{};
  ASSERT_TRUE(crypto().HashFinish(context, digest).ok());
  EXPECT_EQ(ToHex(digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_P(CryptoContract, HashUpdate_NotStarted_FailedPrecondition) {
  port::HashContext context;
  EXPECT_STATUS(crypto().HashUpdate(context, AsBytes("x")),
                FailedPrecondition("crypto: hash not started"));
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block size).
TEST_P(CryptoContract, HmacSha256_Rfc4231) {
  struct Case {
    std::vector<std::byte> key;
    std::string message;
    const char* mac;
  };
  const Case cases[] = {
      {std::vector<std::byte>(20, std::byte{0x0b}), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {FromHex("4a656665"), "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::vector<std::byte>(131, std::byte{0xaa}),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
  for (const Case& c : cases) {
    std::array<std::byte, 32> mac{};
    ASSERT_TRUE(crypto().HmacSha256(c.key, AsBytes(c.message), mac).ok()) << c.message;
    EXPECT_EQ(ToHex(mac), c.mac) << c.message;
  }
}

TEST_P(CryptoContract, HmacSha256_EmptyKeyOrShortBuffer_InvalidArgument) {
  std::array<std::byte, 32> mac{};
  std::array<std::byte, 31> short_mac{};
  const Status expected = InvalidArgument("crypto: hmac key is empty or mac buffer too small");
  EXPECT_STATUS(crypto().HmacSha256({}, AsBytes("x"), mac), expected);
  EXPECT_STATUS(crypto().HmacSha256(AsBytes("key"), AsBytes("x"), short_mac), expected);
}

// ---- Secure Boot v2: every signed vector with its device verdict ----

core::TrustedKey Key(const std::string& name) {
  const std::vector<std::byte> digest =
      ReadBinary(VectorPath("app-image/keys/" + name + ".digest.bin"));
  core::TrustedKey key;
  EXPECT_EQ(digest.size(), key.digest.size());
  std::copy(digest.begin(), digest.end(), key.digest.begin());
  return key;
}

struct SignedCase {
  const char* file;
  uint32_t image_len;  // the vector's expected.json
  const char* key;
  core::SignatureScheme scheme;
  Status expected;
};

const Status kOk = OkStatus();
const Status kNoValid = Unauthenticated("signature: no valid signature block");
const Status kUntrusted = Unauthenticated("signature: no block signed by a trusted key");
const Status kBadSig = Unauthenticated("signature: signature does not verify");
const Status kDigest = Unauthenticated("signature: image digest mismatch");
constexpr auto kRsa = core::SignatureScheme::kRsa3072;
constexpr auto kP192 = core::SignatureScheme::kEcdsaP192;
constexpr auto kP256 = core::SignatureScheme::kEcdsaP256;
constexpr auto kP384 = core::SignatureScheme::kEcdsaP384;

// tests/vectors/app-image/README.md, "signed/": the "device" column.
const SignedCase kSignedCases[] = {
    {"esp32_app_securepad.signed_rsa0.bin", 131072, "test_rsa3072_key0", kRsa, kOk},
    {"esp32_app_securepad.signed_rsa0.bin", 131072, "test_rsa3072_key1", kRsa, kUntrusted},
    {"esp32_app.signed_rsa0_4kpad.bin", 73808, "test_rsa3072_key0", kRsa, kOk},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 131072, "test_rsa3072_key0", kRsa, kOk},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 131072, "test_rsa3072_key1", kRsa, kOk},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", 131072, "test_rsa3072_key2", kRsa, kUntrusted},
    {"esp32c3_app_securepad.signed_rsa012.bin", 131072, "test_rsa3072_key0", kRsa, kOk},
    {"esp32c3_app_securepad.signed_rsa012.bin", 131072, "test_rsa3072_key1", kRsa, kOk},
    {"esp32c3_app_securepad.signed_rsa012.bin", 131072, "test_rsa3072_key2", kRsa, kOk},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, "test_ecdsa256_key0", kP256, kOk},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, "test_ecdsa256_key1", kP256,
     kUntrusted},
    {"esp32s3_app_securepad.signed_ecdsa384.bin", 131072, "test_ecdsa384_key0", kP384, kOk},
    {"esp32c3_app_securepad.signed_ecdsa192.bin", 131072, "test_ecdsa192_key0", kP192, kOk},
    {"neg_rsa0_image_byte_flipped.bin", 131072, "test_rsa3072_key0", kRsa, kDigest},
    {"neg_rsa0_sig_byte_flipped_crc_stale.bin", 131072, "test_rsa3072_key0", kRsa, kNoValid},
    {"neg_rsa0_sig_byte_flipped_crc_fixed.bin", 131072, "test_rsa3072_key0", kRsa, kBadSig},
    {"neg_rsa0_modulus_byte_flipped_crc_fixed.bin", 131072, "test_rsa3072_key0", kRsa, kUntrusted},
    {"ok_rsa0_block_tail_padding_modified.bin", 131072, "test_rsa3072_key0", kRsa, kOk},
    {"neg_ecdsa256_image_byte_flipped.bin", 65536, "test_ecdsa256_key0", kP256, kDigest},
};

TEST_P(CryptoContract, VerifySignedImage_EveryVector_DeviceVerdict) {
  for (const SignedCase& c : kSignedCases) {
    SCOPED_TRACE(std::string(c.file) + " with " + c.key);
    const std::vector<std::byte> image = ReadBinary(VectorPath("app-image/signed/") / c.file);
    const core::TrustedKey keys[] = {Key(c.key)};
    const core::SignatureVerdict verdict =
        core::VerifySignedImage(crypto(), image, c.image_len, {keys, c.scheme, false});
    EXPECT_STATUS(verdict.status, c.expected);
  }
}

// ---- the verify calls themselves, on keys and signatures taken from the vectors ----

// Block 0 of a signed vector's signature sector.
struct BlockSource {
  std::vector<std::byte> image;
  core::SignatureBlock block;
};

BlockSource Block0(const char* file, uint32_t signed_region) {
  BlockSource source;
  source.image = ReadBinary(VectorPath("app-image/signed/") / file);
  Result<core::SignatureBlock> block =
      core::ParseSignatureBlock(ConstByteSpan(source.image).subspan(signed_region));
  EXPECT_TRUE(block.ok());
  source.block = *block;
  return source;
}

TEST_P(CryptoContract, VerifyEcdsa_P256VectorBlock_VerifiesAndRejectsAnotherDigest) {
  const BlockSource source = Block0("esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536);
  const core::SignatureBlock& b = source.block;
  std::vector<std::byte> key = Reversed(b.ecdsa_x_le);
  const std::vector<std::byte> y = Reversed(b.ecdsa_y_le);
  key.insert(key.end(), y.begin(), y.end());
  std::vector<std::byte> signature = Reversed(b.signature.first(32));
  const std::vector<std::byte> s = Reversed(b.signature.subspan(32, 32));
  signature.insert(signature.end(), s.begin(), s.end());
  std::vector<std::byte> digest(b.image_digest.begin(), b.image_digest.end());

  EXPECT_TRUE(crypto().VerifyEcdsa(port::EcdsaCurve::kP256, key, digest, signature).ok());
  digest[5] ^= std::byte{0x01};
  EXPECT_STATUS(crypto().VerifyEcdsa(port::EcdsaCurve::kP256, key, digest, signature),
                Unauthenticated("crypto: signature does not verify"));
}

TEST_P(CryptoContract, VerifyEcdsa_PointNotOnCurve_InvalidArgument) {
  std::vector<std::byte> key(64, std::byte{0});
  key[31] = std::byte{1};
  key[63] = std::byte{1};  // (1, 1) is not on P-256
  const std::vector<std::byte> digest(32, std::byte{7});
  const std::vector<std::byte> signature(64, std::byte{1});
  EXPECT_STATUS(crypto().VerifyEcdsa(port::EcdsaCurve::kP256, key, digest, signature),
                InvalidArgument("crypto: ecdsa public key is not a point on the curve"));
}

TEST_P(CryptoContract, VerifyEcdsa_WrongLengths_InvalidArgument) {
  const std::vector<std::byte> key64(64), key96(96), digest(32), sig64(64), sig96(96);
  const Status expected = InvalidArgument("crypto: ecdsa key or signature has the wrong length");
  EXPECT_STATUS(crypto().VerifyEcdsa(port::EcdsaCurve::kP256, key96, digest, sig64), expected);
  EXPECT_STATUS(crypto().VerifyEcdsa(port::EcdsaCurve::kP384, key96, digest, sig64), expected);
  EXPECT_STATUS(crypto().VerifyEcdsa(port::EcdsaCurve::kP192, key64, digest, sig64), expected);
}

TEST_P(CryptoContract, VerifyRsaPss_Rsa3072VectorBlock_VerifiesAndRejectsAnotherDigest) {
  const BlockSource source = Block0("esp32_app_securepad.signed_rsa0.bin", 131072);
  const core::SignatureBlock& b = source.block;
  const std::vector<std::byte> modulus = Reversed(b.rsa_modulus_le);
  const std::vector<std::byte> signature = Reversed(b.signature);
  std::vector<std::byte> digest(b.image_digest.begin(), b.image_digest.end());
  ASSERT_EQ(b.rsa_exponent, 65537u);

  EXPECT_TRUE(crypto().VerifyRsaPss(modulus, b.rsa_exponent, digest, signature).ok());
  digest[0] ^= std::byte{0x80};
  EXPECT_STATUS(crypto().VerifyRsaPss(modulus, b.rsa_exponent, digest, signature),
                Unauthenticated("crypto: signature does not verify"));
  digest[0] ^= std::byte{0x80};
  EXPECT_STATUS(crypto().VerifyRsaPss(modulus, 3, digest, signature),
                Unauthenticated("crypto: signature does not verify"));
}

TEST_P(CryptoContract, VerifyRsaPss_WrongLengths_InvalidArgument) {
  const std::vector<std::byte> modulus(384, std::byte{0xC1}), digest(32), short_digest(31);
  const std::vector<std::byte> signature(384), short_signature(383);
  const Status expected =
      InvalidArgument("crypto: rsa modulus, signature or digest has the wrong length");
  EXPECT_STATUS(crypto().VerifyRsaPss({}, 65537, digest, {}), expected);
  EXPECT_STATUS(crypto().VerifyRsaPss(modulus, 65537, digest, short_signature), expected);
  EXPECT_STATUS(crypto().VerifyRsaPss(modulus, 65537, short_digest, signature), expected);
}

INSTANTIATE_TEST_SUITE_P(
    Ports, CryptoContract,
    ::testing::Values(
        Implementation{"PsaCrypto", [] { return std::unique_ptr<port::Crypto>(new PsaCrypto); }},
        Implementation{"OpensslCrypto",
                       [] { return std::unique_ptr<port::Crypto>(new host::OpensslCrypto); }}),
    [](const ::testing::TestParamInfo<Implementation>& param) { return param.param.name; });

// Both ports give the same digests and MACs over inputs of every length up to a few blocks.
TEST(PsaCrypto, HashAndHmac_SameAsOpensslForEveryLength) {
  PsaCrypto psa;
  host::OpensslCrypto openssl;
  std::string message;
  for (int n = 0; n < 300; ++n) {
    const std::string text = message;
    EXPECT_EQ(DigestHex(psa, port::HashAlgorithm::kSha256, {text}),
              DigestHex(openssl, port::HashAlgorithm::kSha256, {text}))
        << n;
    EXPECT_EQ(DigestHex(psa, port::HashAlgorithm::kSha384, {text}),
              DigestHex(openssl, port::HashAlgorithm::kSha384, {text}))
        << n;
    std::array<std::byte, 32> a{}, b{};
    const std::string key = "k" + text;
    ASSERT_TRUE(psa.HmacSha256(AsBytes(key), AsBytes(text), a).ok());
    ASSERT_TRUE(openssl.HmacSha256(AsBytes(key), AsBytes(text), b).ok());
    EXPECT_EQ(ToHex(a), ToHex(b)) << n;
    message += static_cast<char>('a' + n % 26);
  }
}

}  // namespace
}  // namespace aloft::espidf
