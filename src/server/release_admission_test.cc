#include "server/release_admission.h"

#include <gtest/gtest.h>

#include "ports/host/openssl_crypto.h"
#include "support/aloftd_harness.h"
#include "support/status_testing.h"

namespace aloft::server {
namespace {

using aloft::testing::MakeSignedRelease;
using aloft::testing::SignedRelease;
using aloft::testing::WithVersion;

ReleaseKey Registered(const host::ReleaseKey& key, bool revoked = false) {
  ReleaseKey record;
  record.project = "thermo";
  record.key_digest = HexEncode(key.key_digest());
  record.public_pem = key.PublicPem().value();
  if (revoked) {
    record.revoked_at_ms = 1;
  }
  return record;
}

class ReleaseAdmissionTest : public ::testing::Test {
 protected:
  host::OpensslCrypto crypto_;
  host::ReleaseKey key_ = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  host::ReleaseKey other_ = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
};

TEST_F(ReleaseAdmissionTest, SignedMatchingRelease_IsAdmittedWithItsFields) {
  const SignedRelease release = MakeSignedRelease(key_);
  const host::ReleaseDocument document = host::ParseReleaseJson(release.json).value();
  const std::vector<ReleaseKey> keys = {Registered(other_), Registered(key_)};
  Result<Release> admitted = AdmitRelease(crypto_, document, release.json, keys, release.image);
  ASSERT_TRUE(admitted.ok()) << aloft::testing::DescribeStatus(admitted.status());
  EXPECT_EQ(admitted->project, "thermo");
  EXPECT_EQ(admitted->chip, "esp32c3");
  EXPECT_EQ(admitted->chip_id, 5u);
  EXPECT_EQ(admitted->version, "2.0.0");
  EXPECT_EQ(admitted->secure_version, 1u);
  EXPECT_EQ(admitted->size_bytes, release.image.size());
  EXPECT_EQ(admitted->sha256, release.sha256);
  EXPECT_EQ(admitted->signing_key_digest, HexEncode(key_.key_digest()));
  EXPECT_EQ(admitted->manifest_json, release.json);
}

TEST_F(ReleaseAdmissionTest, Refusals_Table) {
  const SignedRelease release = MakeSignedRelease(key_);
  const host::ReleaseDocument document = host::ParseReleaseJson(release.json).value();
  std::vector<std::byte> flipped = release.image;
  flipped[100] ^= std::byte{1};
  std::vector<std::byte> truncated(release.image.begin(), release.image.end() - 1);
  const std::vector<ReleaseKey> none;
  const std::vector<ReleaseKey> other = {Registered(other_)};
  const std::vector<ReleaseKey> revoked = {Registered(key_, true)};
  const std::vector<ReleaseKey> good = {Registered(key_)};
  EXPECT_STATUS(AdmitRelease(crypto_, document, release.json, none, release.image).status(),
                FailedPrecondition("release: the project has no registered release key"));
  EXPECT_STATUS(
      AdmitRelease(crypto_, document, release.json, other, release.image).status(),
      Unauthenticated("release: manifest is not signed by a registered key of the project"));
  EXPECT_STATUS(AdmitRelease(crypto_, document, release.json, revoked, release.image).status(),
                PermissionDenied("release: manifest signed by a revoked key"));
  EXPECT_STATUS(AdmitRelease(crypto_, document, release.json, good, flipped).status(),
                Unauthenticated("update: image sha256 differs from the manifest"));
  EXPECT_STATUS(AdmitRelease(crypto_, document, release.json, good, truncated).status(),
                DataLoss("update: image is shorter than its manifest says",
                         static_cast<uint32_t>(truncated.size())));
}

TEST_F(ReleaseAdmissionTest, ImageSignedByAnotherKey_IsRefusedEvenWithAValidManifest) {
  // The manifest (signed by the registered key) names an image signed only by another key.
  const SignedRelease foreign_image = MakeSignedRelease(other_, WithVersion("2.0.0"));
  core::ReleaseManifest manifest =
      host::ParseReleaseJson(MakeSignedRelease(key_).json).value().manifest;
  manifest.size_bytes = static_cast<uint32_t>(foreign_image.image.size());
  manifest.sha256 = Sha256Digest(foreign_image.image);
  const host::ReleaseKey* keys[] = {&key_};
  const std::string json = host::MakeReleaseJson(manifest, keys).value();
  const host::ReleaseDocument document = host::ParseReleaseJson(json).value();
  const std::vector<ReleaseKey> good = {Registered(key_)};
  EXPECT_STATUS(AdmitRelease(crypto_, document, json, good, foreign_image.image).status(),
                Unauthenticated("signature: no block signed by a trusted key"));
}

}  // namespace
}  // namespace aloft::server
