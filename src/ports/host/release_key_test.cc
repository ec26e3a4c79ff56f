#include "ports/host/release_key.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/signature/signature_verifier.h"
#include "ports/host/openssl_crypto.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::host {
namespace {

using core::SignatureScheme;
using testing::ReadBinary;
using testing::ReadText;
using testing::VectorPath;

std::string KeyPem(const std::string& name) {
  return ReadText(VectorPath("app-image/keys/" + name + ".pem"));
}

ReleaseKey LoadKey(const std::string& name) {
  Result<ReleaseKey> key = ReleaseKey::FromPem(KeyPem(name));
  EXPECT_TRUE(key.ok()) << name << ": " << key.status().reason();
  return std::move(key).value();
}

std::vector<std::byte> Digest(const std::string& name) {
  return ReadBinary(VectorPath("app-image/keys/" + name + ".digest.bin"));
}

std::vector<std::byte> ToVector(std::span<const std::byte> bytes) {
  return {bytes.begin(), bytes.end()};
}

struct KeyCase {
  const char* name;
  SignatureScheme scheme;
};
constexpr KeyCase kKeys[] = {
    {"test_rsa3072_key0", SignatureScheme::kRsa3072},
    {"test_rsa3072_key1", SignatureScheme::kRsa3072},
    {"test_rsa3072_key2", SignatureScheme::kRsa3072},
    {"test_ecdsa256_key0", SignatureScheme::kEcdsaP256},
    {"test_ecdsa256_key1", SignatureScheme::kEcdsaP256},
    {"test_ecdsa384_key0", SignatureScheme::kEcdsaP384},
    {"test_ecdsa192_key0", SignatureScheme::kEcdsaP192},
};

TEST(ReleaseKey, EveryVectorKeyPrivateAndPublic_DigestEqualsEspsecure) {
  for (const KeyCase& c : kKeys) {
    for (const std::string suffix : {"", ".pub"}) {
      SCOPED_TRACE(std::string(c.name) + suffix);
      Result<ReleaseKey> key = ReleaseKey::FromPem(KeyPem(c.name + suffix));
      ASSERT_TRUE(key.ok()) << key.status().reason();
      EXPECT_EQ(key->scheme(), c.scheme);
      EXPECT_EQ(key->has_private_key(), suffix.empty());
      EXPECT_EQ(ToVector(key->key_digest()), Digest(c.name));
      EXPECT_EQ(key->key_fields().size(), core::SchemeKeyFieldsSize(c.scheme));
    }
  }
}

// espsecure extract-public-key --version 2 output, byte for byte.
TEST(ReleaseKey, PublicPemOfVectorKey_EqualsEspsecurePub) {
  for (const KeyCase& c : kKeys) {
    SCOPED_TRACE(c.name);
    const ReleaseKey key = LoadKey(c.name);
    const Result<std::string> pem = key.PublicPem();
    ASSERT_TRUE(pem.ok());
    EXPECT_EQ(*pem, KeyPem(std::string(c.name) + ".pub"));
  }
}

// The traditional format espsecure itself writes, so our output re-reads to the same bytes.
TEST(ReleaseKey, PrivatePemOfVectorKey_RoundTripsTraditionalFormat) {
  for (const KeyCase& c : kKeys) {
    SCOPED_TRACE(c.name);
    const ReleaseKey key = LoadKey(c.name);
    const Result<std::string> pem = key.PrivatePem();
    ASSERT_TRUE(pem.ok());
    EXPECT_EQ(*pem, KeyPem(c.name));
  }
}

TEST(ReleaseKey, Generate_TraditionalPemThatReloadsToTheSameDigest) {
  struct Case {
    SignatureScheme scheme;
    const char* header;
  };
  const Case cases[] = {
      {SignatureScheme::kRsa3072, "-----BEGIN RSA PRIVATE KEY-----\n"},
      {SignatureScheme::kEcdsaP256, "-----BEGIN EC PRIVATE KEY-----\n"},
      {SignatureScheme::kEcdsaP384, "-----BEGIN EC PRIVATE KEY-----\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(core::SchemeName(c.scheme));
    Result<ReleaseKey> key = ReleaseKey::Generate(c.scheme);
    ASSERT_TRUE(key.ok()) << key.status().reason();
    EXPECT_EQ(key->scheme(), c.scheme);
    const Result<std::string> pem = key->PrivatePem();
    ASSERT_TRUE(pem.ok());
    EXPECT_TRUE(pem->starts_with(c.header)) << *pem;
    Result<ReleaseKey> reloaded = ReleaseKey::FromPem(*pem);
    ASSERT_TRUE(reloaded.ok());
    EXPECT_EQ(reloaded->key_digest(), key->key_digest());
    Result<ReleaseKey> from_public = ReleaseKey::FromPem(*key->PublicPem());
    ASSERT_TRUE(from_public.ok());
    EXPECT_EQ(from_public->key_digest(), key->key_digest());
  }
}

TEST(ReleaseKey, GenerateP192_Refused) {
  EXPECT_STATUS(
      ReleaseKey::Generate(SignatureScheme::kEcdsaP192).status(),
      InvalidArgument("release key: P-192 keys are not generated (ESP-IDF does not offer them)"));
}

// Writes an OpenSSL-generated key of any kind as PEM, for the refusal tests.
std::string GeneratedPem(EVP_PKEY* key, bool traditional, bool public_only = false) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (public_only) {
    PEM_write_bio_PUBKEY(bio, key);
  } else if (traditional) {
    PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(ReleaseKey, BadPems_ClearErrors) {
  const std::string rsa0 = KeyPem("test_rsa3072_key0");
  const std::string ec_pub = KeyPem("test_ecdsa256_key0.pub");
  struct Case {
    std::string name;
    std::string pem;
    Status expected;
  };
  const Case cases[] = {
      {"empty", "", InvalidArgument("release key: not a PEM key")},
      {"garbage", "this is not a key\n\x01\x02", InvalidArgument("release key: not a PEM key")},
      {"certificate label", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
       InvalidArgument("release key: not a PEM key")},
      {"truncated private", rsa0.substr(0, rsa0.size() / 2),
       InvalidArgument("release key: cannot decode the PEM key")},
      {"truncated public", ec_pub.substr(0, 60) + "\n-----END PUBLIC KEY-----\n",
       InvalidArgument("release key: cannot decode the PEM key")},
      {"bad base64",
       "-----BEGIN EC PRIVATE KEY-----\n!!!!notbase64!!!!\n-----END EC PRIVATE KEY-----\n",
       InvalidArgument("release key: cannot decode the PEM key")},
      {"encrypted pkcs8",
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
       InvalidArgument("release key: encrypted keys are not supported")},
      {"rsa-2048", GeneratedPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), true),
       InvalidArgument("release key: RSA key is not 3072 bits", 2048)},
      {"rsa-4096 public",
       GeneratedPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}), false, true),
       InvalidArgument("release key: RSA key is not 3072 bits", 4096)},
      {"secp256k1", GeneratedPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"), true),
       InvalidArgument("release key: ECDSA curve is not P-192, P-256 or P-384")},
      {"P-521 pkcs8", GeneratedPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"), false),
       InvalidArgument("release key: ECDSA curve is not P-192, P-256 or P-384")},
      {"ed25519", GeneratedPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), false),
       InvalidArgument("release key: key type is not RSA or ECDSA")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_STATUS(ReleaseKey::FromPem(c.pem).status(), c.expected);
  }
}

// PKCS#8 private keys and PKCS#1 "RSA PUBLIC KEY" files load too, to the same digest.
TEST(ReleaseKey, Pkcs8AndPkcs1Forms_SameDigest) {
  const std::string rsa_pem = KeyPem("test_rsa3072_key0");
  BIO* in = BIO_new_mem_buf(rsa_pem.data(), static_cast<int>(rsa_pem.size()));
  EVP_PKEY* rsa = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(rsa, nullptr);
  // "type-specific" public structure of RSA = PKCS#1 RSAPublicKey.
  OSSL_ENCODER_CTX* encoder =
      OSSL_ENCODER_CTX_new_for_pkey(rsa, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", nullptr);
  unsigned char* data = nullptr;
  size_t size = 0;
  ASSERT_EQ(OSSL_ENCODER_to_data(encoder, &data, &size), 1);
  OSSL_ENCODER_CTX_free(encoder);
  const std::string pkcs1(reinterpret_cast<char*>(data), size);
  OPENSSL_free(data);
  ASSERT_TRUE(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
  Result<ReleaseKey> from_pkcs1 = ReleaseKey::FromPem(pkcs1);
  ASSERT_TRUE(from_pkcs1.ok()) << from_pkcs1.status().reason();
  EXPECT_EQ(ToVector(from_pkcs1->key_digest()), Digest("test_rsa3072_key0"));

  const std::string pkcs8 = GeneratedPem(rsa, /*traditional=*/false);
  ASSERT_TRUE(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
  Result<ReleaseKey> from_pkcs8 = ReleaseKey::FromPem(pkcs8);
  ASSERT_TRUE(from_pkcs8.ok());
  EXPECT_TRUE(from_pkcs8->has_private_key());
  EXPECT_EQ(ToVector(from_pkcs8->key_digest()), Digest("test_rsa3072_key0"));
}

// A PEM file with an "EC PARAMETERS" block first (openssl ecparam -genkey) still loads.
TEST(ReleaseKey, EcParametersBlockBeforeKey_Loads) {
  const std::string pem =
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
      KeyPem("test_ecdsa256_key0");
  Result<ReleaseKey> key = ReleaseKey::FromPem(pem);
  ASSERT_TRUE(key.ok()) << key.status().reason();
  EXPECT_EQ(ToVector(key->key_digest()), Digest("test_ecdsa256_key0"));
}

TEST(ReleaseKey, PublicKeyOrP192_CannotSign) {
  const ReleaseKey pub = LoadKey("test_ecdsa256_key0.pub");
  const std::array<std::byte, 32> digest{};
  EXPECT_STATUS(pub.SignDigest(digest).status(), FailedPrecondition("release key: no private key"));
  EXPECT_STATUS(pub.PrivatePem().status(), FailedPrecondition("release key: no private key"));
  const ReleaseKey p192 = LoadKey("test_ecdsa192_key0");
  EXPECT_STATUS(
      p192.SignBlock(digest).status(),
      InvalidArgument("release key: P-192 keys cannot sign (ESP-IDF does not offer them)"));
  const ReleaseKey p384 = LoadKey("test_ecdsa384_key0");
  EXPECT_STATUS(p384.SignDigest(digest).status(),
                InvalidArgument("release key: digest has the wrong size", 32));
}

// ---- SignImage against espsecure's vectors ----

std::vector<std::byte> Image(const std::string& name) {
  return ReadBinary(VectorPath("app-image/images/" + name));
}
std::vector<std::byte> Signed(const std::string& name) {
  return ReadBinary(VectorPath("app-image/signed/" + name));
}

// Byte ranges (relative to a block) that are randomized: the signature and the CRC.
std::pair<size_t, size_t> SignatureRange(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kRsa3072:
      return {812, 1196};
    case SignatureScheme::kEcdsaP192:
    case SignatureScheme::kEcdsaP256:
      return {101, 165};
    case SignatureScheme::kEcdsaP384:
      return {149, 245};
  }
  return {0, 0};
}

// Every byte equal except, in each of the first `blocks` blocks, the signature and the CRC.
void ExpectSameLayout(const std::vector<std::byte>& ours, const std::vector<std::byte>& theirs,
                      SignatureScheme scheme, size_t blocks) {
  ASSERT_EQ(ours.size(), theirs.size());
  const size_t sector = ours.size() - core::kSignatureSectorSize;
  const auto [sig_begin, sig_end] = SignatureRange(scheme);
  size_t differing_outside = 0;
  size_t differing_inside = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    bool randomized = false;
    if (i >= sector) {
      const size_t block = (i - sector) / core::kSignatureBlockSize;
      const size_t at = (i - sector) % core::kSignatureBlockSize;
      randomized = block < blocks && ((at >= sig_begin && at < sig_end) ||
                                      (at >= core::kSignatureBlockCrcOffset && at < 1200));
    }
    if (ours[i] != theirs[i]) {
      (randomized ? differing_inside : differing_outside)++;
      if (!randomized) {
        ADD_FAILURE() << "byte " << i << " differs";
        if (differing_outside > 5) {
          return;
        }
      }
    }
  }
  EXPECT_EQ(differing_outside, 0u);
  EXPECT_GT(differing_inside, 0u);  // fresh randomized signatures, not copies
}

core::SignatureVerdict Verify(const std::vector<std::byte>& image, uint32_t image_len,
                              const std::vector<std::string>& trusted) {
  OpensslCrypto crypto;
  std::vector<core::TrustedKey> keys;
  for (const std::string& name : trusted) {
    core::TrustedKey key;
    const std::vector<std::byte> digest = Digest(name);
    std::copy(digest.begin(), digest.end(), key.digest.begin());
    keys.push_back(key);
  }
  return core::VerifySignedImage(crypto, image, image_len, {keys, std::nullopt, false});
}

struct SignCase {
  const char* input;  // under images/, or the first `input_len` bytes of a signed vector
  size_t input_len;
  const char* key;
  SignatureScheme scheme;
  const char* expected;  // espsecure's output for the same input and key
};

const SignCase kSignCases[] = {
    {"esp32_app_securepad.bin", 0, "test_rsa3072_key0", SignatureScheme::kRsa3072,
     "esp32_app_securepad.signed_rsa0.bin"},
    {"esp32_app.bin", 0, "test_rsa3072_key0", SignatureScheme::kRsa3072,
     "esp32_app.signed_rsa0_4kpad.bin"},
    {"signed:esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, "test_ecdsa256_key0",
     SignatureScheme::kEcdsaP256, "esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin"},
    {"esp32s3_app_securepad.bin", 0, "test_ecdsa384_key0", SignatureScheme::kEcdsaP384,
     "esp32s3_app_securepad.signed_ecdsa384.bin"},
};

std::vector<std::byte> Input(const SignCase& c) {
  const std::string input = c.input;
  if (input.starts_with("signed:")) {
    std::vector<std::byte> bytes = Signed(input.substr(7));
    bytes.resize(c.input_len);
    return bytes;
  }
  return Image(input);
}

TEST(SignImage, OneKey_SameBytesAsEspsecureExceptSignatureAndCrc_AndVerifies) {
  for (const SignCase& c : kSignCases) {
    SCOPED_TRACE(c.expected);
    const std::vector<std::byte> input = Input(c);
    const ReleaseKey key = LoadKey(c.key);
    const ReleaseKey* keys[] = {&key};
    Result<std::vector<std::byte>> ours = SignImage(input, keys, /*append=*/false);
    ASSERT_TRUE(ours.ok()) << ours.status().reason();
    ExpectSameLayout(*ours, Signed(c.expected), c.scheme, 1);
    const core::SignatureVerdict verdict =
        Verify(*ours, static_cast<uint32_t>(input.size()), {c.key});
    EXPECT_TRUE(verdict.ok()) << verdict.status.reason();
  }
}

// The ECDSA signatures checked with OpenSSL directly, independent of our verifier: the public
// key from espsecure's .pub.pem, (r, s) from the block turned into DER.
TEST(SignImage, EcdsaSignatures_VerifyWithOpensslDirectly) {
  for (const SignCase& c : kSignCases) {
    if (c.scheme == SignatureScheme::kRsa3072) {
      continue;
    }
    SCOPED_TRACE(c.expected);
    const std::vector<std::byte> input = Input(c);
    const ReleaseKey key = LoadKey(c.key);
    const ReleaseKey* keys[] = {&key};
    Result<std::vector<std::byte>> ours = SignImage(input, keys, false);
    ASSERT_TRUE(ours.ok());
    const size_t region = ours->size() - core::kSignatureSectorSize;
    const auto* block = reinterpret_cast<const unsigned char*>(ours->data() + region);
    const bool p384 = c.scheme == SignatureScheme::kEcdsaP384;
    const size_t field = p384 ? 48 : 32;
    const size_t sig_offset = p384 ? 149 : 101;

    unsigned char digest[48];
    unsigned int digest_size = 0;
    ASSERT_EQ(EVP_Digest(ours->data(), region, digest, &digest_size,
                         p384 ? EVP_sha384() : EVP_sha256(), nullptr),
              1);
    ASSERT_EQ(std::memcmp(digest, block + 4, digest_size), 0) << "block digest field";

    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_lebin2bn(block + sig_offset, static_cast<int>(field), nullptr),
                   BN_lebin2bn(block + sig_offset + field, static_cast<int>(field), nullptr));
    unsigned char* der = nullptr;
    const int der_size = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    const std::string pub = KeyPem(std::string(c.key) + ".pub");
    BIO* bio = BIO_new_mem_buf(pub.data(), static_cast<int>(pub.size()));
    EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
    ASSERT_EQ(EVP_PKEY_verify_init(ctx), 1);
    EXPECT_EQ(EVP_PKEY_verify(ctx, der, static_cast<size_t>(der_size), digest, digest_size), 1);
    // And a flipped digest byte does not verify: the check can fail.
    digest[0] ^= 1;
    EXPECT_NE(EVP_PKEY_verify(ctx, der, static_cast<size_t>(der_size), digest, digest_size), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
  }
}

TEST(SignImage, TwoKeysInOneCall_LayoutOfEspsecureTwoKeySigning) {
  const ReleaseKey key0 = LoadKey("test_rsa3072_key0");
  const ReleaseKey key1 = LoadKey("test_rsa3072_key1");
  const ReleaseKey* keys[] = {&key0, &key1};
  Result<std::vector<std::byte>> ours = SignImage(Image("esp32c3_app_securepad.bin"), keys, false);
  ASSERT_TRUE(ours.ok());
  ExpectSameLayout(*ours, Signed("esp32c3_app_securepad.signed_rsa0_rsa1.bin"),
                   SignatureScheme::kRsa3072, 2);
  EXPECT_EQ(*Verify(*ours, 131072, {"test_rsa3072_key0"}).accepted_block, 0);
  EXPECT_EQ(*Verify(*ours, 131072, {"test_rsa3072_key1"}).accepted_block, 1);
  EXPECT_FALSE(Verify(*ours, 131072, {"test_rsa3072_key2"}).ok());
}

TEST(SignImage, AppendTwice_LayoutOfEspsecureAppendAndFourthRefused) {
  const ReleaseKey key0 = LoadKey("test_rsa3072_key0");
  const ReleaseKey key1 = LoadKey("test_rsa3072_key1");
  const ReleaseKey key2 = LoadKey("test_rsa3072_key2");
  const ReleaseKey* first[] = {&key0};
  const ReleaseKey* second[] = {&key1};
  const ReleaseKey* third[] = {&key2};
  Result<std::vector<std::byte>> one = SignImage(Image("esp32c3_app_securepad.bin"), first, false);
  ASSERT_TRUE(one.ok());
  Result<std::vector<std::byte>> two = SignImage(*one, second, /*append=*/true);
  ASSERT_TRUE(two.ok());
  // Block 0 is carried over untouched.
  EXPECT_TRUE(
      std::equal(one->begin() + 131072, one->begin() + 131072 + 1216, two->begin() + 131072));
  ExpectSameLayout(*two, Signed("esp32c3_app_securepad.signed_rsa0_rsa1.bin"),
                   SignatureScheme::kRsa3072, 2);
  Result<std::vector<std::byte>> three = SignImage(*two, third, true);
  ASSERT_TRUE(three.ok());
  ExpectSameLayout(*three, Signed("esp32c3_app_securepad.signed_rsa012.bin"),
                   SignatureScheme::kRsa3072, 3);
  for (const char* key : {"test_rsa3072_key0", "test_rsa3072_key1", "test_rsa3072_key2"}) {
    EXPECT_TRUE(Verify(*three, 131072, {key}).ok()) << key;
  }
  EXPECT_STATUS(SignImage(*three, first, true).status(),
                ResourceExhausted("sign: up to 3 signature blocks are supported", 4));
  // Appending to espsecure's own three-block vector is refused the same way.
  EXPECT_STATUS(SignImage(Signed("esp32c3_app_securepad.signed_rsa012.bin"), first, true).status(),
                ResourceExhausted("sign: up to 3 signature blocks are supported", 4));
}

TEST(SignImage, AppendTwoKeysToTwoBlocks_Refused) {
  const ReleaseKey key0 = LoadKey("test_rsa3072_key0");
  const ReleaseKey key2 = LoadKey("test_rsa3072_key2");
  const ReleaseKey* keys[] = {&key0, &key2};
  EXPECT_STATUS(
      SignImage(Signed("esp32c3_app_securepad.signed_rsa0_rsa1.bin"), keys, true).status(),
      ResourceExhausted("sign: up to 3 signature blocks are supported", 4));
  const ReleaseKey* four[] = {&key0, &key2, &key0, &key2};
  EXPECT_STATUS(SignImage(Image("esp32_app.bin"), four, false).status(),
                ResourceExhausted("sign: up to 3 signature blocks are supported", 4));
}

// espsecure appends to an ECDSA-signed image just the same (blocks of any scheme are kept).
TEST(SignImage, AppendEcdsaToEspsecureEcdsaVector_KeepsItsBlock) {
  const std::vector<std::byte> theirs = Signed("esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin");
  const ReleaseKey key1 = LoadKey("test_ecdsa256_key1");
  const ReleaseKey* keys[] = {&key1};
  Result<std::vector<std::byte>> ours = SignImage(theirs, keys, true);
  ASSERT_TRUE(ours.ok());
  ASSERT_EQ(ours->size(), theirs.size());
  EXPECT_TRUE(std::equal(theirs.begin(), theirs.begin() + 65536 + 1216, ours->begin()));
  EXPECT_EQ(*Verify(*ours, 65536, {"test_ecdsa256_key0"}).accepted_block, 0);
  EXPECT_EQ(*Verify(*ours, 65536, {"test_ecdsa256_key1"}).accepted_block, 1);
}

// An aligned input without valid blocks is signed afresh, whole (espsecure: "Discarding
// --append-signature and proceeding to sign the image afresh").
TEST(SignImage, AppendToUnsignedAlignedInput_SignsWholeInputAfresh) {
  const std::vector<std::byte> input = Image("esp32_app_securepad.bin");
  const ReleaseKey key0 = LoadKey("test_rsa3072_key0");
  const ReleaseKey* keys[] = {&key0};
  Result<std::vector<std::byte>> ours = SignImage(input, keys, true);
  ASSERT_TRUE(ours.ok());
  ExpectSameLayout(*ours, Signed("esp32_app_securepad.signed_rsa0.bin"), SignatureScheme::kRsa3072,
                   1);
}

TEST(SignImage, BadArguments_Refused) {
  const ReleaseKey key0 = LoadKey("test_rsa3072_key0");
  const ReleaseKey pub = LoadKey("test_rsa3072_key0.pub");
  const ReleaseKey* keys[] = {&key0};
  const ReleaseKey* public_only[] = {&key0, &pub};
  EXPECT_STATUS(SignImage({}, keys, false).status(), InvalidArgument("sign: input is empty"));
  EXPECT_STATUS(SignImage(Image("esp32_app.bin"), {}, false).status(),
                InvalidArgument("sign: no signing key"));
  EXPECT_STATUS(SignImage(Image("esp32_app.bin"), public_only, false).status(),
                InvalidArgument("sign: a key has no private part", 1));
}

}  // namespace
}  // namespace aloft::host
