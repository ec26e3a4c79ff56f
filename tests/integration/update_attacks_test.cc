// One test per update attack from the Uptane/TUF threat list that applies to aloft (see
// docs/security.md), each run through the device-side checks in the order the installer runs
// them, and each showing the device refuses and its boot slot still holds the running image.
//
// integration: `Device::Offer` stands in for the agent's check-in handling and the streaming
// installer (device issue); it calls exactly the core functions they will call, in the same
// order, and "installs" only after every check passed.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <string>
#include <vector>

#include "cli/image_identity.h"
#include "core/release/freshness.h"
#include "core/release/manifest.h"
#include "core/release/version_policy.h"
#include "core/signature/signature_verifier.h"
#include "core/try.h"
#include "ports/host/openssl_crypto.h"
#include "ports/host/release_document.h"
#include "ports/host/release_key.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft {
namespace {

using core::SignatureScheme;

std::array<std::byte, 32> Sha256(ConstByteSpan bytes) {
  std::array<std::byte, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(digest.data()), &size,
             EVP_sha256(), nullptr);
  return digest;
}

host::ReleaseKey VectorKey(const std::string& name) {
  return host::ReleaseKey::FromPem(
             testing::ReadText(testing::VectorPath("app-image/keys/" + name + ".pem")))
      .value();
}

// An ESP32-C3 app image (tests/vectors/app-image/images/esp32c3_app_securepad.bin, image_len
// 131072) with its esp_app_desc_t rewritten, and its checksum and appended SHA-256 fixed, so it
// is a valid image of another version. Unsigned.
std::vector<std::byte> AppImage(const std::string& version, uint32_t secure_version,
                                const std::string& project = "aloft_vec_c3", uint16_t chip_id = 5) {
  std::vector<std::byte> image =
      testing::ReadBinary(testing::VectorPath("app-image/images/esp32c3_app_securepad.bin"));
  constexpr size_t kDesc = 0x20;
  constexpr size_t kChecksum = 131072 - 33;  // last byte of the 16-byte block before the hash
  uint8_t checksum = static_cast<uint8_t>(image[kChecksum]);
  auto patch = [&](size_t offset, uint8_t value) {
    checksum ^= static_cast<uint8_t>(image[offset]) ^ value;  // segment data is XOR-summed
    image[offset] = std::byte{value};
  };
  for (size_t i = 0; i < 32; ++i) {
    patch(kDesc + 16 + i, i < version.size() ? static_cast<uint8_t>(version[i]) : 0);
    patch(kDesc + 48 + i, i < project.size() ? static_cast<uint8_t>(project[i]) : 0);
  }
  for (size_t i = 0; i < 4; ++i) {
    patch(kDesc + 4 + i, static_cast<uint8_t>(secure_version >> (8 * i)));
  }
  StoreLe16(image, 12, chip_id);  // the header is outside the checksum, inside the hash
  image[kChecksum] = std::byte{checksum};
  const auto hash = Sha256(ConstByteSpan(image).first(kChecksum + 1));
  std::copy(hash.begin(), hash.end(), image.begin() + kChecksum + 1);
  return image;
}

// What a release team publishes: a signed image and its RELEASE.json.
struct Release {
  std::vector<std::byte> image;
  std::string json;
};

Release MakeRelease(const std::vector<std::byte>& app, std::vector<const host::ReleaseKey*> keys,
                    std::string min_running = "") {
  Release release;
  release.image = host::SignImage(app, keys, false).value();
  host::OpensslCrypto crypto;
  const cli::ImageIdentity identity = cli::ReadImageIdentity(release.image, crypto).value();
  core::ReleaseManifest m;
  EXPECT_TRUE(m.project.Assign(identity.project));
  EXPECT_TRUE(m.version.Assign(identity.version));
  EXPECT_TRUE(m.min_running_version.Assign(min_running));
  m.chip_id = identity.chip_id;
  m.secure_version = identity.secure_version;
  m.size_bytes = static_cast<uint32_t>(release.image.size());
  m.sha256 = Sha256(release.image);
  release.json = host::MakeReleaseJson(m, keys).value();
  return release;
}

// The server's answer to one check-in: the release document, bound to the device and nonce by
// the freshness MAC, and what the download URL then serves.
struct Answer {
  std::string body;
  uint64_t server_time_ms = 0;
  std::array<std::byte, core::kFreshnessMacSize> mac{};
  std::vector<std::byte> download;
};

class Device {
 public:
  static constexpr uint32_t kSlotSize = 0x40000;

  Device(std::vector<core::TrustedKey> keys, std::vector<std::byte> running)
      : keys_(std::move(keys)), boot_slot_(std::move(running)) {
    RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), secret_.size());
  }

  // Starts a check-in: a fresh random nonce the device keeps until the answer arrives.
  std::array<std::byte, core::kCheckinNonceSize> CheckIn() {
    RAND_bytes(reinterpret_cast<unsigned char*>(nonce_.data()), nonce_.size());
    return nonce_;
  }

  // Handles an answer; installs only if every check passes.
  Status Offer(const Answer& answer) {
    host::OpensslCrypto crypto;
    // 1. Fresh: the MAC binds this device, the nonce it holds and the body.
    const auto body_digest = Sha256(AsBytes(answer.body));
    ALOFT_TRY(core::VerifyFreshness(
        crypto, secret_, {kDeviceId, nonce_, answer.server_time_ms, body_digest}, answer.mac));
    // 2. Authentic manifest (the transport's JSON is only a carrier for these bytes).
    ALOFT_TRY_ASSIGN(const host::ReleaseDocument document, host::ParseReleaseJson(answer.body));
    const core::TrustPolicy policy{keys_, SignatureScheme::kRsa3072, false};
    ALOFT_TRY_ASSIGN(const core::ReleaseManifest manifest,
                     core::VerifyManifest(crypto, document.canonical, document.signature, policy));
    // 3. For this device, and allowed.
    ALOFT_TRY_ASSIGN(const cli::ImageIdentity running, cli::ReadImageIdentity(boot_slot_, crypto));
    const core::DeviceFacts facts{5, running.project, running.version, kSecureVersionFloor,
                                  kSlotSize};
    ALOFT_TRY(core::EvaluateUpdate(facts, manifest, options_));
    // 4. Download into the passive slot, never past what the manifest promised.
    std::vector<std::byte> passive;
    for (size_t at = 0; at < answer.download.size(); at += 4096) {
      const size_t chunk = std::min<size_t>(4096, answer.download.size() - at);
      if (passive.size() + chunk > manifest.size_bytes) {
        ALOFT_TRY(core::CheckDownloadAgainstManifest(manifest, passive.size() + chunk, {}));
      }
      passive.insert(passive.end(), answer.download.begin() + static_cast<std::ptrdiff_t>(at),
                     answer.download.begin() + static_cast<std::ptrdiff_t>(at + chunk));
    }
    ALOFT_TRY(core::CheckDownloadAgainstManifest(manifest, passive.size(), Sha256(passive)));
    // 5. The image itself: Secure Boot v2 signature, and its header says what the manifest says.
    ALOFT_TRY_ASSIGN(const cli::ImageIdentity image, cli::ReadImageIdentity(passive, crypto));
    ALOFT_TRY(core::VerifySignedImage(crypto, passive, image.image_len, policy).status);
    ALOFT_TRY(core::CheckImageMatchesManifest(
        manifest, {image.chip_id, image.project, image.version, image.secure_version}));
    // 6. Only now would otadata select the new slot.
    boot_slot_ = std::move(passive);
    return OkStatus();
  }

  // The server side of freshness: it shares the device's secret.
  Answer Serve(const Release& release, const std::array<std::byte, 16>& nonce,
               uint64_t time_ms = 1767225600000) const {
    Answer answer;
    answer.body = release.json;
    answer.server_time_ms = time_ms;
    answer.download = release.image;
    host::OpensslCrypto crypto;
    answer.mac = core::ComputeFreshnessMac(
                     crypto, secret_, {kDeviceId, nonce, time_ms, Sha256(AsBytes(answer.body))})
                     .value();
    return answer;
  }

  const std::vector<std::byte>& boot_slot() const { return boot_slot_; }
  core::UpdateOptions& options() { return options_; }

  static constexpr std::string_view kDeviceId = "c3-0001";
  static constexpr uint32_t kSecureVersionFloor = 2;

 private:
  std::vector<core::TrustedKey> keys_;
  std::vector<std::byte> boot_slot_;
  std::array<std::byte, 32> secret_{};
  std::array<std::byte, core::kCheckinNonceSize> nonce_{};
  core::UpdateOptions options_;
};

class UpdateAttackTest : public ::testing::Test {
 protected:
  UpdateAttackTest()
      : key0_(VectorKey("test_rsa3072_key0")),
        key1_(VectorKey("test_rsa3072_key1")),
        attacker_(VectorKey("test_rsa3072_key2")),
        running_(MakeRelease(AppImage("1.0.0", 2), {&key0_})),
        device_({Trusted(key0_)}, running_.image) {}

  static core::TrustedKey Trusted(const host::ReleaseKey& key, bool revoked = false) {
    core::TrustedKey trusted;
    trusted.digest = key.key_digest();
    trusted.revoked = revoked;
    return trusted;
  }

  // Offers `answer` and checks the refusal and that the running image still boots.
  void ExpectRefused(const Answer& answer, const Status& expected) {
    EXPECT_STATUS(device_.Offer(answer), expected);
    EXPECT_EQ(device_.boot_slot(), running_.image) << "the running image must still boot";
  }

  host::ReleaseKey key0_;
  host::ReleaseKey key1_;
  host::ReleaseKey attacker_;  // a well-formed RSA-3072 key the device does not trust
  Release running_;
  Device device_;
};

// The baseline the refusals are measured against: a genuine, newer release is installed.
TEST_F(UpdateAttackTest, GenuineNewerRelease_Installed) {
  const Release release = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  EXPECT_STATUS(device_.Offer(device_.Serve(release, device_.CheckIn())), OkStatus());
  EXPECT_EQ(device_.boot_slot(), release.image);
}

// Arbitrary software: the attacker signs their own image and manifest with their own key.
TEST_F(UpdateAttackTest, ArbitrarySoftware_AttackerKey_Refused) {
  const Release evil = MakeRelease(AppImage("9.9.9", 9), {&attacker_});
  ExpectRefused(device_.Serve(evil, device_.CheckIn()),
                Unauthenticated("signature: no block signed by a trusted key"));
}

// Arbitrary software behind a genuine manifest: the manifest names another image's hash.
TEST_F(UpdateAttackTest, ArbitrarySoftware_GenuineManifestOtherBytes_Refused) {
  const Release genuine = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  Release evil = genuine;
  const host::ReleaseKey* attacker[] = {&attacker_};
  evil.image = host::SignImage(AppImage("1.1.0", 2), attacker, false).value();
  ExpectRefused(device_.Serve(evil, device_.CheckIn()),
                Unauthenticated("update: image sha256 differs from the manifest"));
  // One flipped byte in transit or at rest: the same.
  Release flipped = genuine;
  flipped.image[0x3000] ^= std::byte{1};
  ExpectRefused(device_.Serve(flipped, device_.CheckIn()),
                Unauthenticated("update: image sha256 differs from the manifest"));
}

// A manifest whose signed bytes were edited (here: the version made higher).
TEST_F(UpdateAttackTest, ArbitrarySoftware_EditedManifest_Refused) {
  const Release genuine = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  Release edited = genuine;
  host::ReleaseDocument document = host::ParseReleaseJson(genuine.json).value();
  const std::string text(reinterpret_cast<const char*>(document.canonical.data()),
                         document.canonical.size());
  std::string forged = text;
  forged.replace(forged.find("version=1.1.0"), 13, "version=9.1.0");
  const std::string old_b64 = host::Base64Encode(document.canonical);
  const std::string new_b64 = host::Base64Encode(AsBytes(forged));
  edited.json.replace(edited.json.find(old_b64), old_b64.size(), new_b64);
  edited.json.replace(edited.json.find("\"version\": \"1.1.0\""), 18, "\"version\": \"9.1.0\"");
  ExpectRefused(device_.Serve(edited, device_.CheckIn()),
                Unauthenticated("signature: image digest mismatch"));
}

// Rollback: a genuine but older release.
TEST_F(UpdateAttackTest, Rollback_OlderGenuineRelease_Refused) {
  const Release older = MakeRelease(AppImage("0.9.0", 2), {&key0_});
  ExpectRefused(device_.Serve(older, device_.CheckIn()),
                PermissionDenied("update: release version is older than the running version"));
}

// Rollback below the anti-rollback floor: refused even in a deliberate downgrade flow.
TEST_F(UpdateAttackTest, Rollback_BelowSecureVersionFloor_RefusedEvenWhenDowngradeAllowed) {
  device_.options().allow_downgrade = true;
  const Release vulnerable = MakeRelease(AppImage("0.8.0", 1), {&key0_});
  ExpectRefused(device_.Serve(vulnerable, device_.CheckIn()),
                PermissionDenied("update: secure_version is below the anti-rollback floor", 1));
}

// Freeze / replay: an old genuine answer (for an earlier check-in) is replayed.
TEST_F(UpdateAttackTest, Replay_OldAnswer_Refused) {
  const Release release = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  const auto old_nonce = device_.CheckIn();
  const Answer old_answer = device_.Serve(release, old_nonce, 1767225600000);
  device_.CheckIn();  // the next check-in: a new nonce
  ExpectRefused(old_answer, Unauthenticated("freshness: answer mac does not verify"));
}

// Freeze: a stale "no update" answer cannot be passed off either; nor one altered in transit.
TEST_F(UpdateAttackTest, Replay_AlteredBodyOrOtherDevice_Refused) {
  const Release release = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  Answer answer = device_.Serve(release, device_.CheckIn());
  answer.body += " ";
  ExpectRefused(answer, Unauthenticated("freshness: answer mac does not verify"));
  Device other({Trusted(key0_)}, running_.image);
  const Answer for_other = other.Serve(release, device_.CheckIn());
  ExpectRefused(for_other, Unauthenticated("freshness: answer mac does not verify"));
}

// Endless data: the download keeps coming past the size the manifest promised.
TEST_F(UpdateAttackTest, EndlessData_DownloadLongerThanManifest_Refused) {
  const Release release = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  Answer answer = device_.Serve(release, device_.CheckIn());
  answer.download.resize(answer.download.size() + 1000000, std::byte{0xFF});
  ExpectRefused(answer, OutOfRange("update: image is larger than its manifest says",
                                   static_cast<uint32_t>(release.image.size())));
}

// Endless data: a (genuinely signed) manifest promising more than the slot holds.
TEST_F(UpdateAttackTest, EndlessData_ReleaseLargerThanSlot_RefusedBeforeDownload) {
  std::vector<std::byte> big = AppImage("1.1.0", 2);
  big.resize(Device::kSlotSize, std::byte{0xFF});  // signing adds the 4 KiB sector on top
  const Release release = MakeRelease(big, {&key0_});
  ExpectRefused(device_.Serve(release, device_.CheckIn()),
                OutOfRange("update: release does not fit the update slot",
                           static_cast<uint32_t>(release.image.size())));
}

// Mix and match: a genuine manifest with a different genuine image (both signed by key0).
TEST_F(UpdateAttackTest, MixAndMatch_GenuineManifestWithAnotherGenuineImage_Refused) {
  const Release a = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  const Release b = MakeRelease(AppImage("1.0.1", 2), {&key0_});
  Release mixed = a;
  mixed.image = b.image;
  ExpectRefused(device_.Serve(mixed, device_.CheckIn()),
                Unauthenticated("update: image sha256 differs from the manifest"));
}

// Wrong chip: a genuine release built for the ESP32-S3.
TEST_F(UpdateAttackTest, WrongChip_Refused) {
  const Release s3 = MakeRelease(AppImage("1.1.0", 2, "aloft_vec_c3", 9), {&key0_});
  ExpectRefused(device_.Serve(s3, device_.CheckIn()),
                PermissionDenied("update: release is for another chip", 9));
}

// Wrong project: a genuine release of another product signed with the same key.
TEST_F(UpdateAttackTest, WrongProject_Refused) {
  const Release doorbell = MakeRelease(AppImage("1.1.0", 2, "doorbell"), {&key0_});
  ExpectRefused(device_.Serve(doorbell, device_.CheckIn()),
                PermissionDenied("update: release is for another project"));
}

// Key revocation: after key0 is revoked (and key1 trusted), a release signed only by key0 is
// refused, one signed by key0 and key1 is installed through key1.
TEST_F(UpdateAttackTest, RevokedKey_RefusedButRotatedReleaseInstalled) {
  Device rotated({Trusted(key0_, /*revoked=*/true), Trusted(key1_)}, running_.image);
  const Release old_key_only = MakeRelease(AppImage("1.1.0", 2), {&key0_});
  EXPECT_STATUS(rotated.Offer(rotated.Serve(old_key_only, rotated.CheckIn())),
                PermissionDenied("signature: signing key is revoked"));
  EXPECT_EQ(rotated.boot_slot(), running_.image);
  const Release both = MakeRelease(AppImage("1.1.0", 2), {&key0_, &key1_});
  EXPECT_STATUS(rotated.Offer(rotated.Serve(both, rotated.CheckIn())), OkStatus());
  EXPECT_EQ(rotated.boot_slot(), both.image);
}

// The minimum-running-version rule: a release that needs an intermediate step first.
TEST_F(UpdateAttackTest, BelowMinRunningVersion_Refused) {
  const Release needs_step = MakeRelease(AppImage("3.0.0", 3), {&key0_}, "2.0.0");
  ExpectRefused(device_.Serve(needs_step, device_.CheckIn()),
                PermissionDenied("update: running version is below min_running_version"));
}

}  // namespace
}  // namespace aloft
