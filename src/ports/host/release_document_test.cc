#include "ports/host/release_document.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ports/host/openssl_crypto.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::host {
namespace {

using core::SignatureScheme;
using core::TrustedKey;
using testing::ReadText;
using testing::VectorPath;

ReleaseKey LoadKey(const std::string& name) {
  return ReleaseKey::FromPem(ReadText(VectorPath("app-image/keys/" + name + ".pem"))).value();
}

TrustedKey Trusted(const ReleaseKey& key, bool revoked = false) {
  TrustedKey trusted;
  trusted.digest = key.key_digest();
  trusted.revoked = revoked;
  return trusted;
}

core::ReleaseManifest Example() {
  core::ReleaseManifest m;
  EXPECT_TRUE(m.project.Assign("aloft_vec_c3"));
  m.chip_id = 5;
  EXPECT_TRUE(m.version.Assign("2.3.4-rc1"));
  m.secure_version = 2;
  m.size_bytes = 135168;
  m.sha256.fill(std::byte{0x42});
  EXPECT_TRUE(m.min_running_version.Assign("2.0.0"));
  return m;
}

// Replaces the first occurrence of `from` in `text`.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

class ReleaseDocumentTest : public ::testing::Test {
 protected:
  OpensslCrypto crypto_;
  ReleaseKey rsa0_ = LoadKey("test_rsa3072_key0");
  ReleaseKey rsa1_ = LoadKey("test_rsa3072_key1");
  ReleaseKey p256_ = LoadKey("test_ecdsa256_key0");
  ReleaseKey p384_ = LoadKey("test_ecdsa384_key0");

  std::string Make(std::vector<const ReleaseKey*> keys,
                   const core::ReleaseManifest& m = Example()) {
    Result<std::string> json = MakeReleaseJson(m, keys);
    EXPECT_TRUE(json.ok()) << json.status().reason();
    return json.ok() ? *json : "";
  }
};

TEST_F(ReleaseDocumentTest, Made_HasReadableFieldsAndVerifies) {
  const std::string json = Make({&rsa0_});
  EXPECT_NE(json.find("\"version\": \"2.3.4-rc1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"chip\": \"esp32c3\""), std::string::npos);
  EXPECT_NE(json.find("\"min_running_version\": \"2.0.0\""), std::string::npos);
  EXPECT_NE(
      json.find(
          "\"key_digest\":\"3d2cb6b92fa6f7586827b7a5f35907fac48affeb5b3601a4683b97e9d5229f70\""),
      std::string::npos)
      << json;
  const TrustedKey keys[] = {Trusted(rsa0_)};
  Result<ReleaseDocument> doc =
      VerifyReleaseJson(crypto_, json, {keys, SignatureScheme::kRsa3072, false});
  ASSERT_TRUE(doc.ok()) << doc.status().reason();
  EXPECT_EQ(doc->manifest, Example());
  EXPECT_EQ(doc->signature.size(), core::kSignatureBlockSize);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(doc->canonical.data()), doc->canonical.size()),
      "aloft-release-manifest-v1\nproject=aloft_vec_c3\nchip=esp32c3\nchip_id=5\n"
      "version=2.3.4-rc1\nsecure_version=2\nsize=135168\nsha256=" +
          [] {
            std::string hex;
            for (int i = 0; i < 32; ++i) {
              hex += "42";
            }
            return hex;
          }() +
          "\nmin_running_version=2.0.0\n");
}

TEST_F(ReleaseDocumentTest, NoMinRunningVersion_JsonNull) {
  core::ReleaseManifest m = Example();
  ASSERT_TRUE(m.min_running_version.Assign(""));
  const std::string json = Make({&p256_}, m);
  EXPECT_NE(json.find("\"min_running_version\": null"), std::string::npos) << json;
  Result<ReleaseDocument> doc = ParseReleaseJson(json);
  ASSERT_TRUE(doc.ok()) << doc.status().reason();
  EXPECT_EQ(doc->manifest, m);
}

TEST_F(ReleaseDocumentTest, EachScheme_VerifiesOnADeviceOfThatScheme) {
  struct Case {
    const ReleaseKey* key;
    SignatureScheme scheme;
  };
  const Case cases[] = {{&rsa0_, SignatureScheme::kRsa3072},
                        {&p256_, SignatureScheme::kEcdsaP256},
                        {&p384_, SignatureScheme::kEcdsaP384}};
  for (const Case& c : cases) {
    SCOPED_TRACE(core::SchemeName(c.scheme));
    const std::string json = Make({c.key});
    const TrustedKey keys[] = {Trusted(*c.key)};
    EXPECT_TRUE(VerifyReleaseJson(crypto_, json, {keys, c.scheme, false}).ok());
    // A device of another scheme finds no block it can use.
    const SignatureScheme other = c.scheme == SignatureScheme::kRsa3072
                                      ? SignatureScheme::kEcdsaP256
                                      : SignatureScheme::kRsa3072;
    EXPECT_STATUS(VerifyReleaseJson(crypto_, json, {keys, other, false}).status(),
                  Unauthenticated("signature: no valid signature block"));
  }
}

TEST_F(ReleaseDocumentTest, UntrustedOrRevokedKey_Refused) {
  const std::string json = Make({&rsa0_});
  const TrustedKey other[] = {Trusted(rsa1_)};
  EXPECT_STATUS(VerifyReleaseJson(crypto_, json, {other, std::nullopt, false}).status(),
                Unauthenticated("signature: no block signed by a trusted key"));
  const TrustedKey revoked[] = {Trusted(rsa0_, true), Trusted(rsa1_)};
  EXPECT_STATUS(VerifyReleaseJson(crypto_, json, {revoked, std::nullopt, false}).status(),
                PermissionDenied("signature: signing key is revoked"));
}

// Key rotation: a manifest signed by the old and the new key verifies on devices with either.
TEST_F(ReleaseDocumentTest, TwoKeys_EitherDeviceAccepts) {
  const std::string json = Make({&rsa0_, &rsa1_});
  for (const ReleaseKey* key : {&rsa0_, &rsa1_}) {
    const TrustedKey keys[] = {Trusted(*key)};
    EXPECT_TRUE(VerifyReleaseJson(crypto_, json, {keys, SignatureScheme::kRsa3072, false}).ok());
  }
  const ReleaseKey* four[] = {&rsa0_, &rsa1_, &p256_, &p384_};
  EXPECT_STATUS(MakeReleaseJson(Example(), four).status(),
                InvalidArgument("release: up to 3 signing keys", 4));
  EXPECT_STATUS(MakeReleaseJson(Example(), {}).status(),
                InvalidArgument("release: no signing key"));
}

// Every byte of the signed canonical manifest, changed: the device refuses each one.
TEST_F(ReleaseDocumentTest, EveryCanonicalByteTampered_Refused) {
  Result<ReleaseDocument> doc = ParseReleaseJson(Make({&p256_}));
  ASSERT_TRUE(doc.ok());
  const TrustedKey keys[] = {Trusted(p256_)};
  const core::TrustPolicy policy{keys, SignatureScheme::kEcdsaP256, false};
  ASSERT_TRUE(core::VerifyManifest(crypto_, doc->canonical, doc->signature, policy).ok());
  for (size_t i = 0; i < doc->canonical.size(); ++i) {
    std::vector<std::byte> tampered = doc->canonical;
    tampered[i] ^= std::byte{0x01};
    EXPECT_STATUS(core::VerifyManifest(crypto_, tampered, doc->signature, policy).status(),
                  Unauthenticated("signature: image digest mismatch"))
        << "byte " << i;
  }
  std::vector<std::byte> longer = doc->canonical;
  longer.push_back(std::byte{'\n'});
  EXPECT_FALSE(core::VerifyManifest(crypto_, longer, doc->signature, policy).ok());
}

// A genuine signature of another manifest does not transfer (mix and match at manifest level).
TEST_F(ReleaseDocumentTest, SignatureOfAnotherManifest_Refused) {
  core::ReleaseManifest other = Example();
  ASSERT_TRUE(other.version.Assign("9.9.9"));
  Result<ReleaseDocument> a = ParseReleaseJson(Make({&rsa0_}));
  Result<ReleaseDocument> b = ParseReleaseJson(Make({&rsa0_}, other));
  ASSERT_TRUE(a.ok() && b.ok());
  const TrustedKey keys[] = {Trusted(rsa0_)};
  EXPECT_STATUS(core::VerifyManifest(crypto_, b->canonical, a->signature,
                                     {keys, SignatureScheme::kRsa3072, false})
                    .status(),
                Unauthenticated("signature: image digest mismatch"));
  // And a block whose digest field is rewritten no longer verifies: its signature is over the
  // original digest.
  std::vector<std::byte> forged = a->signature;
  Result<core::SignatureBlock> block = core::ParseSignatureBlock(b->signature);
  ASSERT_TRUE(block.ok());
  const core::SignatureBlock original = core::ParseSignatureBlock(a->signature).value();
  ASSERT_TRUE(core::SerializeSignatureBlock({SignatureScheme::kRsa3072, block->image_digest,
                                             original.key_fields, original.signature},
                                            forged)
                  .ok());
  EXPECT_STATUS(
      core::VerifyManifest(crypto_, b->canonical, forged, {keys, SignatureScheme::kRsa3072, false})
          .status(),
      Unauthenticated("signature: signature does not verify"));
}

TEST_F(ReleaseDocumentTest, JsonFieldDiffersFromSignedManifest_Refused) {
  const std::string json = Make({&rsa0_});
  struct Case {
    std::string from, to;
    Status expected;
  };
  const Case cases[] = {
      {"\"project\": \"aloft_vec_c3\"", "\"project\": \"aloft_vec_c4\"",
       InvalidArgument("release: field project does not match the signed manifest")},
      {"\"chip\": \"esp32c3\"", "\"chip\": \"esp32s3\"",
       InvalidArgument("release: field chip does not match the signed manifest")},
      {"\"chip_id\": 5", "\"chip_id\": 9",
       InvalidArgument("release: field chip_id does not match the signed manifest")},
      {"\"chip_id\": 5", "\"chip_id\": \"5\"",
       InvalidArgument("release: field chip_id does not match the signed manifest")},
      {"\"version\": \"2.3.4-rc1\"", "\"version\": \"2.3.5\"",
       InvalidArgument("release: field version does not match the signed manifest")},
      {"\"secure_version\": 2", "\"secure_version\": 3",
       InvalidArgument("release: field secure_version does not match the signed manifest")},
      {"\"size\": 135168", "\"size\": 135169",
       InvalidArgument("release: field size does not match the signed manifest")},
      {"\"sha256\": \"4242", "\"sha256\": \"4342",
       InvalidArgument("release: field sha256 does not match the signed manifest")},
      {"\"min_running_version\": \"2.0.0\"", "\"min_running_version\": null",
       InvalidArgument("release: field min_running_version does not match the signed manifest")},
      {"\"key_digest\":\"3d2c", "\"key_digest\":\"3d2d",
       InvalidArgument("release: field signed_by does not match the signature blocks")},
      {"\"format\": \"aloft-release-v1\"", "\"format\": \"aloft-release-v2\"",
       InvalidArgument("release: format is not aloft-release-v1")},
      {"\"format\"", "\"extra\": 1,\n  \"format\"", InvalidArgument("release: unknown field")},
      {"\"manifest\": \"", "\"manifest\": \"!", InvalidArgument("release: manifest is not base64")},
      {"\"signature\": \"", "\"signature\": \"AAAA",
       InvalidArgument("release: signature is not 1 to 3 blocks", 1219)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.to);
    EXPECT_STATUS(ParseReleaseJson(Replace(json, c.from, c.to)).status(), c.expected);
  }
  EXPECT_STATUS(ParseReleaseJson("{").status(), InvalidArgument("release: not JSON"));
  EXPECT_STATUS(ParseReleaseJson("[]").status(), InvalidArgument("release: not a JSON object"));
  EXPECT_STATUS(ParseReleaseJson("{\"format\": \"aloft-release-v1\"}").status(),
                InvalidArgument("release: field manifest is missing or has the wrong type"));
}

TEST(Base64, RoundTripAndStrictness) {
  const std::string text = "any carnal pleas";
  for (size_t n = 0; n <= text.size(); ++n) {
    const std::string encoded = Base64Encode(AsBytes(std::string_view(text).substr(0, n)));
    Result<std::vector<std::byte>> decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(decoded->data()), decoded->size()),
              text.substr(0, n));
  }
  EXPECT_EQ(Base64Encode(AsBytes("any carnal pleas")), "YW55IGNhcm5hbCBwbGVhcw==");
  EXPECT_STATUS(Base64Decode("YW55").status(), OkStatus());
  EXPECT_STATUS(Base64Decode("YW5").status(),
                InvalidArgument("base64: length is not a multiple of 4"));
  EXPECT_STATUS(Base64Decode("YW*5").status(), InvalidArgument("base64: invalid character"));
  EXPECT_STATUS(Base64Decode("YW4=").status(), OkStatus());
  EXPECT_STATUS(Base64Decode("YW5/").status(), OkStatus());
  EXPECT_STATUS(Base64Decode("YW5=").status(),  // non-zero padding bits
                InvalidArgument("base64: not the canonical encoding"));
}

}  // namespace
}  // namespace aloft::host
