// One test per update attack from the Uptane/TUF threat list that applies to aloft (see
// docs/security.md), each run through the REAL device: an emulated ESP32 (tutorial partition
// table, Secure Boot v2 with one trusted ECDSA P-256 release key, rollback enabled) running the
// real agent, StreamInstaller and boot logic (DeviceRuntime), against a hostile server.
//
// The attacker controls the server: it is the agent harness's in-process FakeServer
// (tests/agent/agent_harness.h), which answers check-ins with crafted answers that are correctly
// bound by the freshness MAC to the device and its nonce (as a compromised server could), and
// serves whatever bytes the attacker wants. What it cannot do is sign with a trusted release key.
//
// Each test shows that the device refuses with the specific reason (the agent's error and the
// "failed" event it reports) and that, after a reset, it still boots its current image from
// ota_0 with the passive slot (ota_1) never made bootable: no CRC-valid otadata entry selects it.

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "agent/agent_harness.h"
#include "core/device/device_layout.h"
#include "core/format/otadata.h"
#include "support/status_testing.h"

namespace aloft::testing {
namespace {

using agent::StepResult;

// A release the attacker (or, for the baseline, the release team) puts on the server: an app
// image built from a recipe, signed with `image_key`, and a RELEASE.json signed with
// `manifest_key` describing it (`edit_manifest` may change what the manifest says first).
struct ReleaseSpec {
  std::string version = "2.0.0";
  std::string project = "aloft_test";  // the rig's images' project (AppImageRecipe's default)
  uint16_t chip_id = core::kChipIdEsp32;
  uint32_t secure_version = 0;
  uint32_t payload = 30000;
  uint32_t seed = 2;
  const host::ReleaseKey* image_key = nullptr;     // null: the device's trusted release key
  const host::ReleaseKey* manifest_key = nullptr;  // null: image_key
  std::function<void(core::ReleaseManifest&)> edit_manifest;
};

TestRelease MakeRelease(AgentRig& rig, const ReleaseSpec& spec) {
  const host::ReleaseKey* image_key = spec.image_key != nullptr ? spec.image_key : &rig.key_;
  const host::ReleaseKey* manifest_key =
      spec.manifest_key != nullptr ? spec.manifest_key : image_key;
  core::AppImageRecipe recipe = Recipe(spec.version, spec.payload, spec.chip_id, spec.seed);
  recipe.project_name = spec.project;
  recipe.secure_version = spec.secure_version;
  const std::vector<std::byte> app = MakeImage(rig.crypto_, recipe);
  EXPECT_FALSE(app.empty()) << "recipe refused";
  TestRelease release;
  release.version = spec.version;
  const host::ReleaseKey* image_keys[] = {image_key};
  release.image = host::SignImage(app, image_keys, false).value();
  core::ReleaseManifest& m = release.manifest;
  EXPECT_TRUE(m.project.Assign(spec.project));
  EXPECT_TRUE(m.version.Assign(spec.version));
  m.chip_id = spec.chip_id;
  m.secure_version = spec.secure_version;
  m.size_bytes = static_cast<uint32_t>(release.image.size());
  m.sha256 = Sha256Of(rig.crypto_, release.image);
  if (spec.edit_manifest) {
    spec.edit_manifest(m);
  }
  const host::ReleaseKey* manifest_keys[] = {manifest_key};
  release.json = host::MakeReleaseJson(m, manifest_keys).value();
  return release;
}

// A hostile network between the device and the real server: the first check-in's answer is
// recorded and withheld (the device sees the connection drop); every later check-in gets that
// recording again, MAC and all, whatever nonce it sent.
class ReplayingTransport final : public port::Transport {
 public:
  explicit ReplayingTransport(port::Transport& inner) : inner_(inner) {}

  Result<port::PostResult> Post(std::string_view path, std::string_view body, ByteSpan response,
                                std::span<port::HeaderCapture> headers,
                                uint32_t timeout_ms) override {
    if (path != agent::kCheckinPath) {
      return inner_.Post(path, body, response, headers, timeout_ms);
    }
    if (!recorded_) {
      std::array<char, 2 * core::kFreshnessMacSize> mac{};
      port::HeaderCapture capture[] = {{agent::kFreshnessHeader, mac}};
      std::vector<std::byte> answer(response.size());
      ALOFT_TRY_ASSIGN(const port::PostResult result,
                       inner_.Post(path, body, answer, capture, timeout_ms));
      answer_.assign(answer.begin(),
                     answer.begin() + static_cast<std::ptrdiff_t>(result.body_size));
      mac_.assign(mac.data(), capture[0].size);
      recorded_ = true;
      return Unavailable("transport: connection lost");
    }
    ++replays;
    std::copy(answer_.begin(), answer_.end(), response.begin());
    for (port::HeaderCapture& header : headers) {
      if (header.name == agent::kFreshnessHeader) {
        header.present = true;
        header.size = std::min(header.value.size(), mac_.size());
        std::copy_n(mac_.begin(), header.size, header.value.begin());
      }
    }
    return port::PostResult{200, answer_.size()};
  }
  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
             uint32_t timeout_ms) override {
    return inner_.Get(path, range_start, sink, timeout_ms);
  }

  int replays = 0;

 private:
  port::Transport& inner_;
  bool recorded_ = false;
  std::vector<std::byte> answer_;
  std::string mac_;
};

class UpdateAttackTest : public ::testing::Test {
 protected:
  UpdateAttackTest()
      : attacker_(host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value()) {}

  // Serves `release` and runs the device until it reports a failure; checks the reason (the
  // agent's error and the reported one) and that nothing else was reported.
  void ExpectRefused(const TestRelease& release, Status::Code code, const std::string& reason) {
    rig_.server_.offer = release;
    RunUntilFailed();
    ExpectReason(code, reason);
  }

  void RunUntilFailed() {
    Result<StepResult> r = rig_.RunUntil([&] { return rig_.server_.Received("failed"); });
    ASSERT_TRUE(r.ok()) << DescribeStatus(r.status());
    ASSERT_NE(*r, StepResult::kDead) << DescribeStatus(rig_.runtime_->agent()->last_error());
    ASSERT_TRUE(rig_.server_.Received("failed"));
  }

  void ExpectReason(Status::Code code, const std::string& reason) {
    const Status error = rig_.runtime_->agent()->last_error();
    EXPECT_EQ(error.code(), code) << DescribeStatus(error);
    EXPECT_EQ(std::string(error.reason()), reason);
    const boost::json::object* failed = rig_.server_.Last("failed");
    ASSERT_NE(failed, nullptr);
    EXPECT_EQ(std::string(failed->at("reason").as_string()), reason);
    EXPECT_EQ(failed->at("version").as_string(), "1.0.0");
    EXPECT_FALSE(rig_.server_.Received("verified"));
    EXPECT_FALSE(rig_.server_.Received("rebooting"));
    EXPECT_FALSE(rig_.server_.Received("confirmed"));
    EXPECT_EQ(rig_.runtime_->agent()->phase(), agent::Phase::kIdle);
    EXPECT_EQ(rig_.runtime_->stats().boots, 1u) << "the device must not have rebooted";
  }

  // Refused at check-in: not one byte was downloaded or written to the passive slot.
  void ExpectNothingDownloaded() {
    EXPECT_EQ(rig_.server_.gets, 0);
    const std::vector<std::byte> ota1 = ReadRegion(*rig_.flash_, kTutorialOta1, 0x10000);
    EXPECT_TRUE(std::all_of(ota1.begin(), ota1.end(), [](std::byte b) {
      return b == std::byte{0xFF};
    })) << "the passive slot was written";
  }

  // Whether a CRC-valid otadata entry selects ota_1 (the slot an update installs into).
  bool OtadataSelectsPassiveSlot() {
    Result<core::Otadata> otadata = core::ReadOtadata(*rig_.flash_, rig_.layout_.otadata_offset);
    EXPECT_TRUE(otadata.ok()) << DescribeStatus(otadata.status());
    if (!otadata.ok()) {
      return true;
    }
    for (const core::OtaSelectEntry& entry : otadata->entries) {
      if (entry.seq != core::kOtaSeqErased && core::HasValidCrc(entry) &&
          core::SlotOfSeq(entry.seq, rig_.layout_.slots.app_ota_count) == 1) {
        return true;
      }
    }
    return false;
  }

  // The passive slot was never made bootable, and a reset boots the current image from ota_0.
  void ExpectStillBootsCurrentImage() {
    EXPECT_FALSE(OtadataSelectsPassiveSlot()) << "otadata selects the passive slot";
    rig_.PowerOn();  // a reset: nothing survives but flash and the KeyValue
    const Status booted = rig_.runtime_->Boot();
    ASSERT_TRUE(booted.ok()) << DescribeStatus(booted);
    const core::BootReport& report = *rig_.runtime_->last_boot();
    EXPECT_EQ(report.index, 0);
    EXPECT_EQ(report.app_description.version.view(), "1.0.0");
    EXPECT_FALSE(report.rolled_back);
    EXPECT_EQ(ReadRegion(*rig_.flash_, kTutorialOta0, static_cast<uint32_t>(rig_.v1_.image.size())),
              rig_.v1_.image);
  }

  AgentRig rig_;
  host::ReleaseKey attacker_;  // a well-formed ECDSA P-256 key the device does not trust
};

// The baseline the refusals are measured against: a genuine, newer release is installed,
// booted, self-tested and confirmed by the same device and server.
TEST_F(UpdateAttackTest, GenuineNewerRelease_InstalledAndConfirmed) {
  rig_.server_.offer = MakeRelease(rig_, {});
  Result<StepResult> r = rig_.RunUntil([&] { return rig_.Settled(); });
  ASSERT_TRUE(r.ok()) << DescribeStatus(r.status());
  EXPECT_EQ(rig_.RunningVersion(), "2.0.0");
  EXPECT_EQ(rig_.BootedVersion(), "2.0.0");
  EXPECT_TRUE(rig_.server_.Received("confirmed"));
  EXPECT_FALSE(rig_.server_.Received("failed"));
  EXPECT_TRUE(OtadataSelectsPassiveSlot());  // what every refusal below must never lead to
}

// Arbitrary software: the attacker signs their own image and manifest with their own key.
TEST_F(UpdateAttackTest, ArbitrarySoftware_SignedByUntrustedKey_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.version = "9.9.9";
  spec.image_key = &attacker_;
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kUnauthenticated,
                "signature: no block signed by a trusted key");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Arbitrary software behind a manifest that verifies (say the manifest key leaked, not the
// image key): Secure Boot v2 refuses the image itself before the boot slot changes.
TEST_F(UpdateAttackTest, ArbitrarySoftware_ImageSignedByUntrustedKey_RefusedAtInstall) {
  ReleaseSpec spec;
  spec.image_key = &attacker_;
  spec.manifest_key = &rig_.key_;
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kUnauthenticated,
                "signature: no block signed by a trusted key");
  EXPECT_TRUE(rig_.server_.Received("downloaded"));  // refused after the download, at Finish
  ExpectStillBootsCurrentImage();
}

// Arbitrary software: a genuine manifest whose signed bytes the attacker edited (a higher
// version): the manifest's signature no longer verifies.
TEST_F(UpdateAttackTest, ArbitrarySoftware_EditedManifest_RefusedAtCheckin) {
  rig_.server_.offer = MakeRelease(rig_, {});
  rig_.server_.edit_body = [](std::string& body) {
    // One character of the base64 canonical manifest (the MAC is computed after: the server
    // is the attacker's).
    const size_t at = body.find("\"manifest\": \"") + 20;
    body[at] = body[at] == 'A' ? 'B' : 'A';
  };
  RunUntilFailed();
  ExpectReason(Status::Code::kUnauthenticated, "signature: image digest mismatch");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Rollback: a genuine but older release.
TEST_F(UpdateAttackTest, Rollback_OlderGenuineRelease_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.version = "0.9.0";
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "update: release version is older than the running version");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Rollback below the anti-rollback floor: a genuine release with a newer version number but a
// secure_version below the device's eFuse counter (a vulnerable build relabelled), refused
// even when the device allows deliberate downgrades.
TEST_F(UpdateAttackTest, Rollback_SecureVersionBelowEfuseFloor_RefusedAtCheckin) {
  rig_.device_config_.anti_rollback_enabled = true;
  rig_.device_config_.efuse_secure_version = 2;
  rig_.config_.update_options.allow_downgrade = true;
  rig_.v1_ = MakeTestRelease(rig_.crypto_, rig_.key_, "1.0.0", 20000, 1, /*secure_version=*/2);
  ASSERT_TRUE(WriteRegion(*rig_.flash_, kTutorialOta0, rig_.v1_.image).ok());
  ReleaseSpec spec;
  spec.version = "3.0.0";
  spec.secure_version = 1;
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "update: secure_version is below the anti-rollback floor");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
  EXPECT_EQ(rig_.runtime_->last_boot()->efuse_secure_version, 2u);
}

// Indefinite freeze / replay: a genuine answer offering a release, recorded from an earlier
// check-in and withheld, is replayed for the device's later check-ins (new nonces).
TEST_F(UpdateAttackTest, Replay_OldOfferAnswerForANewNonce_Refused) {
  rig_.server_.offer = MakeRelease(rig_, {});
  ReplayingTransport replaying(rig_.transport_);
  rig_.runtime_ = std::make_unique<emulator::DeviceRuntime>(
      *rig_.flash_, rig_.crypto_, rig_.layout_, rig_.device_config_, replaying, rig_.kv_,
      rig_.system_, rig_.self_test_, rig_.config_);
  RunUntilFailed();
  EXPECT_GE(replaying.replays, 1);
  ExpectReason(Status::Code::kUnauthenticated, "freshness: answer mac does not verify");
  EXPECT_TRUE(rig_.server_.Last("failed")->at("release_id").is_null())
      << "nothing from an unverified answer is believed";
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Indefinite freeze: the attacker keeps replaying an old "no update" answer to hide a new
// release; the device notices (and says so) instead of believing it is up to date.
TEST_F(UpdateAttackTest, Freeze_OldNoUpdateAnswerReplayed_Refused) {
  Result<StepResult> r = rig_.RunUntil([&] { return rig_.Settled(); });  // one "no update"
  ASSERT_TRUE(r.ok());
  rig_.server_.offer = MakeRelease(rig_, {});
  rig_.server_.replay_previous_answer = true;
  RunUntilFailed();
  ExpectReason(Status::Code::kUnauthenticated, "freshness: answer mac does not verify");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Endless data: the server keeps sending past the size the signed manifest promised, saying
// so in Content-Length or not. The device stops reading at that size.
TEST_F(UpdateAttackTest, EndlessData_MoreBytesThanTheManifestAnnounced_Refused) {
  const TestRelease release = MakeRelease(rig_, {});
  rig_.server_.extra_bytes = 4 << 20;
  ExpectRefused(release, Status::Code::kOutOfRange,
                "download: artifact is larger than its manifest says");
  EXPECT_EQ(rig_.server_.bytes_served, 0u) << "refused on the announced size";
  ExpectStillBootsCurrentImage();
}

TEST_F(UpdateAttackTest, EndlessData_MoreBytesThanTheManifestUnannounced_Refused) {
  const TestRelease release = MakeRelease(rig_, {});
  rig_.server_.extra_bytes = 4 << 20;
  rig_.server_.announce_total = false;
  ExpectRefused(release, Status::Code::kOutOfRange,
                "download: more bytes than the manifest's size");
  EXPECT_LE(rig_.server_.bytes_served, release.manifest.size_bytes + rig_.server_.chunk_size);
  ExpectStillBootsCurrentImage();
}

// Endless data: a genuinely signed release larger than the update slot (1536 KiB), refused
// before a byte is downloaded.
TEST_F(UpdateAttackTest, EndlessData_ReleaseLargerThanTheSlot_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.payload = kTutorialSlotSize;
  const TestRelease release = MakeRelease(rig_, spec);
  ASSERT_GT(release.manifest.size_bytes, kTutorialSlotSize);
  ExpectRefused(release, Status::Code::kOutOfRange, "update: release does not fit the update slot");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Mix and match: the genuine manifest of one release served with the genuine image of another
// (same key, same size): the bytes are not the ones the manifest names.
TEST_F(UpdateAttackTest, MixAndMatch_GenuineManifestWithAnotherGenuineImage_Refused) {
  TestRelease mixed = MakeRelease(rig_, {});
  ReleaseSpec other;
  other.version = "2.0.1";
  other.seed = 3;
  const TestRelease b = MakeRelease(rig_, other);
  ASSERT_EQ(b.image.size(), mixed.image.size());
  mixed.image = b.image;
  ExpectRefused(mixed, Status::Code::kUnauthenticated,
                "update: image sha256 differs from the manifest");
  EXPECT_TRUE(rig_.server_.Received("downloaded"));
  ExpectStillBootsCurrentImage();
}

// Mix and match: a signed manifest that names an image's exact bytes but says another version
// than the image does (an old, vulnerable image relabelled as 2.0.0): the image's own
// esp_app_desc_t must agree with its manifest.
TEST_F(UpdateAttackTest, MixAndMatch_ManifestRelabelsAnOlderImage_Refused) {
  ReleaseSpec spec;
  spec.version = "0.5.0";
  spec.edit_manifest = [](core::ReleaseManifest& m) { EXPECT_TRUE(m.version.Assign("2.0.0")); };
  TestRelease relabelled = MakeRelease(rig_, spec);
  relabelled.version = "2.0.0";
  ExpectRefused(relabelled, Status::Code::kPermissionDenied,
                "update: image version differs from the manifest");
  ExpectStillBootsCurrentImage();
}

// Wrong chip: a genuine release of the same project built for the ESP32-S3.
TEST_F(UpdateAttackTest, WrongChip_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.chip_id = 9;  // esp32s3
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "update: release is for another chip");
  EXPECT_STATUS(rig_.runtime_->agent()->last_error(),
                PermissionDenied("update: release is for another chip", 9));
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Wrong project: a genuine release of another product signed with the same key.
TEST_F(UpdateAttackTest, WrongProject_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.project = "doorbell";
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "update: release is for another project");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Skipping a required step: a genuine release that needs 2.x running first (a data migration,
// a bootloader change) offered to a device on 1.0.0.
TEST_F(UpdateAttackTest, BelowMinRunningVersion_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.version = "3.0.0";
  spec.edit_manifest = [](core::ReleaseManifest& m) {
    EXPECT_TRUE(m.min_running_version.Assign("2.0.0"));
  };
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "update: running version is below min_running_version");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// Key revocation: the device trusts its current release key and holds the digest of a retired,
// leaked one as revoked. A release signed by the revoked key is refused at check-in.
class KeyRevocationTest : public UpdateAttackTest {
 protected:
  KeyRevocationTest()
      : retired_(host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value()) {
    trusted_[0].digest = rig_.key_.key_digest();
    trusted_[1].digest = retired_.key_digest();
    trusted_[1].revoked = true;
    rig_.policy_.keys = trusted_;
  }
  host::ReleaseKey retired_;
  std::array<core::TrustedKey, 2> trusted_{};
};

TEST_F(KeyRevocationTest, ReleaseSignedByRevokedKey_RefusedAtCheckin) {
  ReleaseSpec spec;
  spec.image_key = &retired_;
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "signature: signing key is revoked");
  ExpectNothingDownloaded();
  ExpectStillBootsCurrentImage();
}

// The manifest is signed by the current key but the image only by the revoked one: Secure Boot
// v2 in Finish refuses it, so the boot slot never changes.
TEST_F(KeyRevocationTest, ImageSignedByRevokedKey_RefusedAtInstall) {
  ReleaseSpec spec;
  spec.image_key = &retired_;
  spec.manifest_key = &rig_.key_;
  ExpectRefused(MakeRelease(rig_, spec), Status::Code::kPermissionDenied,
                "signature: signing key is revoked");
  EXPECT_TRUE(rig_.server_.Received("downloaded"));
  ExpectStillBootsCurrentImage();
}

}  // namespace
}  // namespace aloft::testing
