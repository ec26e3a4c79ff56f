// The Store contract, written once and run against every backend: SQLite always, PostgreSQL
// when ALOFT_TEST_PG names a cluster (scripts/with-postgres.sh). Each test gets a fresh
// database (a temp file, or a fresh PostgreSQL schema).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "server/store/migrations.h"
#include "server/store/store.h"
#include "server/store/store_test_backend.h"
#include "support/status_testing.h"

namespace aloft::server {
namespace {

using testing::Backend;
using ::testing::ElementsAre;

constexpr int64_t kT0 = 1'700'000'000'000;  // an arbitrary "now" in ms

// Distinct valid SHA-256 hex strings: the seed's hex digits, repeated.
std::string Hash(int seed) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (int i = 0; i < 64; ++i) {
    hex[static_cast<size_t>(i)] = kHex[(seed * 7 + i * (seed % 5 + 1)) % 16];
  }
  hex[0] = kHex[seed % 16];
  hex[1] = kHex[(seed / 16) % 16];
  hex[2] = kHex[(seed / 256) % 16];
  return hex;
}

class StoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    database_ = testing::MakeTestDatabase(GetParam());
    ALOFT_SKIP_IF_NO_BACKEND(database_);
    auto opened = database_->Open();
    ASSERT_TRUE(opened.ok()) << aloft::testing::DescribeStatus(opened.status());
    store_ = std::move(opened).value();
  }

  Store& store() { return *store_; }

  // A project "p" with one key, one artifact and a release "1.0.0" for esp32; returns its id.
  int64_t AddRelease(const std::string& version = "1.0.0", const std::string& chip = "esp32",
                     const std::string& project = "p") {
    Status key = store().AddReleaseKey(ReleaseKey{project, Hash(900), "PEM", kT0, std::nullopt});
    EXPECT_TRUE(key.ok() || key.code() == Status::Code::kAlreadyExists);
    EXPECT_TRUE(store().RecordArtifact(Artifact{Hash(901), 4096, kT0}).ok());
    Release release = MakeRelease(version, chip, project);
    auto id = store().CreateRelease(release);
    EXPECT_TRUE(id.ok()) << aloft::testing::DescribeStatus(id.status());
    return id.ok() ? *id : 0;
  }

  static Release MakeRelease(const std::string& version, const std::string& chip,
                             const std::string& project) {
    Release release;
    release.project = project;
    release.chip = chip;
    release.chip_id = 9;
    release.version = version;
    release.secure_version = 2;
    release.size_bytes = 4096;
    release.sha256 = Hash(901);
    release.min_running_version = "0.9.0";
    release.signing_key_digest = Hash(900);
    release.manifest_json = "{\"version\":\"" + version + "\"}";
    release.created_at_ms = kT0 + 1;
    return release;
  }

  static Device MakeDevice(const std::string& id, int token_seed,
                           std::vector<std::string> tags = {}, const std::string& project = "p",
                           const std::string& version = "0.9.0") {
    Device device;
    device.id = id;
    device.token_hash = Hash(token_seed);
    device.project = project;
    device.chip = "esp32";
    device.tags = std::move(tags);
    device.current_version = version;
    device.secure_version = 1;
    device.created_at_ms = kT0;
    return device;
  }

  void Register(const std::string& id, int token_seed, std::vector<std::string> tags = {},
                const std::string& project = "p", const std::string& version = "0.9.0") {
    Status status = store().RegisterDevice(MakeDevice(id, token_seed, tags, project, version));
    ASSERT_TRUE(status.ok()) << aloft::testing::DescribeStatus(status);
  }

  int64_t AddRollout(int64_t release_id, uint32_t percent_bp = 1000,
                     RolloutState state = RolloutState::kActive) {
    Rollout rollout;
    rollout.release_id = release_id;
    rollout.percent_bp = percent_bp;
    rollout.state = state;
    rollout.created_at_ms = kT0 + 2;
    auto id = store().CreateRollout(rollout);
    EXPECT_TRUE(id.ok()) << aloft::testing::DescribeStatus(id.status());
    return id.ok() ? *id : 0;
  }

  static Event MakeEvent(const std::string& device_id, const std::string& event_id,
                         UpdateState state, std::optional<int64_t> rollout_id = std::nullopt,
                         int64_t received_at_ms = kT0 + 10) {
    Event event;
    event.device_id = device_id;
    event.event_id = event_id;
    event.rollout_id = rollout_id;
    event.state = state;
    event.version = "0.9.0";
    event.received_at_ms = received_at_ms;
    return event;
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<Store> store_;
};

// --- opening and migrations ---

TEST_P(StoreContractTest, Open_FreshDatabase_AtThisBuildsSchemaVersion) {
  EXPECT_TRUE(store().Ping().ok());
  auto version = store().SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kSchemaVersion);
  EXPECT_EQ(database_->QueryInt("SELECT COUNT(*) FROM schema_migrations"), kSchemaVersion);
}

TEST_P(StoreContractTest, Open_Reopen_AppliesNothingAndKeepsData) {
  Register("dev-1", 1);
  store_.reset();
  auto reopened = database_->Open();
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->GetDevice("dev-1").ok());
  EXPECT_EQ(*(*reopened)->SchemaVersion(), kSchemaVersion);
  EXPECT_EQ(database_->QueryInt("SELECT COUNT(*) FROM schema_migrations"), kSchemaVersion);
}

TEST_P(StoreContractTest, Open_DatabaseNewerThanBuild_FailedPreconditionNamingBothVersions) {
  database_->Exec("INSERT INTO schema_migrations (version, description, applied_at) VALUES (" +
                  std::to_string(kSchemaVersion + 1) + ", 'from the future', 0)");
  auto reopened = database_->Open();
  ASSERT_FALSE(reopened.ok());
  EXPECT_STATUS(reopened.status(), DatabaseNewerError(kSchemaVersion + 1));
  EXPECT_EQ(reopened.status().context(), kSchemaVersion + 1);
  EXPECT_STREQ(reopened.status().reason(),
               "store: database schema is newer than this build (schema 1)");
}

TEST_P(StoreContractTest, Open_ThroughOpenStoreLocation_SameDatabase) {
  Register("dev-1", 1);
  auto opened = OpenStore(database_->location());
  ASSERT_TRUE(opened.ok()) << aloft::testing::DescribeStatus(opened.status());
  EXPECT_TRUE((*opened)->GetDevice("dev-1").ok());
}

constexpr Migration kExtraV2 = {2, "extra table", "CREATE TABLE extra (x INTEGER)",
                                "CREATE TABLE extra (x INTEGER)"};
// The first statement is valid, the second is not: the whole migration must roll back.
constexpr Migration kBrokenV3 = {3, "broken", "CREATE TABLE half (x INTEGER); CREATE TABLE (",
                                 "CREATE TABLE half (x INTEGER); CREATE TABLE ("};

TEST_P(StoreContractTest, Migrate_NewVersion_AppliedOnceInOrder) {
  store_.reset();
  const std::array<Migration, 2> v2 = {SchemaMigrations()[0], kExtraV2};
  auto opened = database_->Open({}, v2);
  ASSERT_TRUE(opened.ok()) << aloft::testing::DescribeStatus(opened.status());
  EXPECT_EQ(*(*opened)->SchemaVersion(), 2);
  database_->Exec("INSERT INTO extra (x) VALUES (7)");
  opened->reset();
  auto again = database_->Open({}, v2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(database_->QueryInt("SELECT COUNT(*) FROM schema_migrations"), 2);
  EXPECT_EQ(database_->QueryInt("SELECT x FROM extra"), 7);
  // The build that only knows version 1 now refuses the database.
  auto older = database_->Open();
  EXPECT_STATUS(older.status(), DatabaseNewerError(2));
}

TEST_P(StoreContractTest, Migrate_FailingMigration_RollsBackEntirely) {
  store_.reset();
  const std::array<Migration, 3> broken = {SchemaMigrations()[0], kExtraV2, kBrokenV3};
  auto opened = database_->Open({}, broken);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInternal);
  // Neither v2 nor the first half of v3 stayed: the migrations run in one transaction.
  EXPECT_EQ(database_->QueryInt("SELECT COUNT(*) FROM schema_migrations"), 1);
  auto still_v1 = database_->Open();
  ASSERT_TRUE(still_v1.ok());
  EXPECT_EQ(*(*still_v1)->SchemaVersion(), 1);
}

// --- admin tokens ---

TEST_P(StoreContractTest, AdminToken_AddThenFindByHash_ReturnsIt) {
  auto id = store().AddAdminToken("ci", Hash(1), kT0);
  ASSERT_TRUE(id.ok());
  auto token = store().FindAdminTokenByHash(Hash(1));
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->id, *id);
  EXPECT_EQ(token->name, "ci");
  EXPECT_EQ(token->token_hash, Hash(1));
  EXPECT_EQ(token->created_at_ms, kT0);
}

TEST_P(StoreContractTest, AdminToken_SameHashTwice_AlreadyExists) {
  ASSERT_TRUE(store().AddAdminToken("a", Hash(1), kT0).ok());
  EXPECT_STATUS(store().AddAdminToken("b", Hash(1), kT0).status(),
                AlreadyExists("store: admin token already exists"));
  auto second = store().AddAdminToken("c", Hash(2), kT0);
  ASSERT_TRUE(second.ok());
}

TEST_P(StoreContractTest, AdminToken_UnknownOrMalformed_NotFoundOrInvalid) {
  EXPECT_STATUS(store().FindAdminTokenByHash(Hash(3)).status(),
                NotFound("store: admin token not found"));
  EXPECT_STATUS(store().AddAdminToken("x", "ABC", kT0).status(),
                InvalidArgument("store: token hash is not sha256 hex"));
}

// --- release keys ---

TEST_P(StoreContractTest, ReleaseKey_AddListFind_PerProject) {
  ASSERT_TRUE(store().AddReleaseKey({"p", Hash(2), "PEM2", kT0 + 1, std::nullopt}).ok());
  ASSERT_TRUE(store().AddReleaseKey({"p", Hash(1), "PEM1", kT0, std::nullopt}).ok());
  ASSERT_TRUE(store().AddReleaseKey({"q", Hash(1), "PEM1", kT0, std::nullopt}).ok());
  auto keys = store().ListReleaseKeys("p");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key_digest, Hash(1));  // oldest first
  EXPECT_EQ((*keys)[1].key_digest, Hash(2));
  EXPECT_EQ((*keys)[1].public_pem, "PEM2");
  EXPECT_FALSE((*keys)[1].revoked_at_ms.has_value());
  auto found = store().FindReleaseKey("q", Hash(1));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->project, "q");
  EXPECT_STATUS(store().FindReleaseKey("q", Hash(2)).status(),
                NotFound("store: release key not found"));
  EXPECT_TRUE(store().ListReleaseKeys("none")->empty());
}

TEST_P(StoreContractTest, ReleaseKey_SameProjectAndDigest_AlreadyExists) {
  ASSERT_TRUE(store().AddReleaseKey({"p", Hash(1), "PEM", kT0, std::nullopt}).ok());
  EXPECT_STATUS(store().AddReleaseKey({"p", Hash(1), "OTHER", kT0, std::nullopt}),
                AlreadyExists("store: release key already registered"));
  EXPECT_STATUS(store().AddReleaseKey({"p", "nothex", "PEM", kT0, std::nullopt}),
                InvalidArgument("store: key digest is not sha256 hex"));
}

TEST_P(StoreContractTest, ReleaseKey_Revoke_KeepsFirstRevocationTime) {
  ASSERT_TRUE(store().AddReleaseKey({"p", Hash(1), "PEM", kT0, std::nullopt}).ok());
  ASSERT_TRUE(store().RevokeReleaseKey("p", Hash(1), kT0 + 5).ok());
  ASSERT_TRUE(store().RevokeReleaseKey("p", Hash(1), kT0 + 9).ok());
  EXPECT_EQ(store().FindReleaseKey("p", Hash(1))->revoked_at_ms, kT0 + 5);
  EXPECT_STATUS(store().RevokeReleaseKey("p", Hash(2), kT0),
                NotFound("store: release key not found"));
}

// --- artifacts ---

TEST_P(StoreContractTest, Artifact_RecordTwiceSameSize_OkAndKeepsFirst) {
  ASSERT_TRUE(store().RecordArtifact({Hash(1), 1234, kT0}).ok());
  ASSERT_TRUE(store().RecordArtifact({Hash(1), 1234, kT0 + 50}).ok());
  auto artifact = store().FindArtifact(Hash(1));
  ASSERT_TRUE(artifact.ok());
  EXPECT_EQ(artifact->size_bytes, 1234u);
  EXPECT_EQ(artifact->created_at_ms, kT0);
}

TEST_P(StoreContractTest, Artifact_OtherSizeOrBadHash_Refused) {
  ASSERT_TRUE(store().RecordArtifact({Hash(1), 1234, kT0}).ok());
  EXPECT_STATUS(store().RecordArtifact({Hash(1), 99, kT0}),
                AlreadyExists("store: artifact recorded with another size"));
  EXPECT_STATUS(store().RecordArtifact({"ABCD", 1, kT0}),
                InvalidArgument("store: artifact sha256 is not sha256 hex"));
  EXPECT_STATUS(store().FindArtifact(Hash(2)).status(), NotFound("store: artifact not found"));
  EXPECT_STATUS(store().RecordArtifact({Hash(3), uint64_t{1} << 63, kT0}),
                InvalidArgument("store: size too large"));
}

// --- releases ---

TEST_P(StoreContractTest, Release_Create_GetByIdAndVersionReturnEveryField) {
  int64_t id = AddRelease("1.2.3");
  auto by_id = store().GetRelease(id);
  ASSERT_TRUE(by_id.ok());
  Release expected = MakeRelease("1.2.3", "esp32", "p");
  EXPECT_EQ(by_id->id, id);
  EXPECT_EQ(by_id->project, expected.project);
  EXPECT_EQ(by_id->chip, expected.chip);
  EXPECT_EQ(by_id->chip_id, 9u);
  EXPECT_EQ(by_id->version, "1.2.3");
  EXPECT_EQ(by_id->secure_version, 2u);
  EXPECT_EQ(by_id->size_bytes, 4096u);
  EXPECT_EQ(by_id->sha256, Hash(901));
  EXPECT_EQ(by_id->min_running_version, "0.9.0");
  EXPECT_EQ(by_id->signing_key_digest, Hash(900));
  EXPECT_EQ(by_id->manifest_json, "{\"version\":\"1.2.3\"}");
  EXPECT_EQ(by_id->created_at_ms, kT0 + 1);
  auto by_version = store().GetReleaseByVersion("p", "esp32", "1.2.3");
  ASSERT_TRUE(by_version.ok());
  EXPECT_EQ(by_version->id, id);
  EXPECT_STATUS(store().GetRelease(id + 100).status(), NotFound("store: release not found"));
  EXPECT_STATUS(store().GetReleaseByVersion("p", "esp32s3", "1.2.3").status(),
                NotFound("store: release not found"));
}

TEST_P(StoreContractTest, Release_SameProjectChipVersion_AlreadyExists) {
  AddRelease("1.0.0");
  EXPECT_STATUS(store().CreateRelease(MakeRelease("1.0.0", "esp32", "p")).status(),
                AlreadyExists("store: release version already exists"));
  EXPECT_TRUE(store().CreateRelease(MakeRelease("1.0.0", "esp32s3", "p")).ok());
}

TEST_P(StoreContractTest, Release_MissingArtifactOrKey_NotFound_RevokedKey_Refused) {
  Release release = MakeRelease("1.0.0", "esp32", "p");
  EXPECT_STATUS(store().CreateRelease(release).status(),
                NotFound("store: release artifact not recorded"));
  ASSERT_TRUE(store().RecordArtifact({Hash(901), 4096, kT0}).ok());
  EXPECT_STATUS(store().CreateRelease(release).status(),
                NotFound("store: release signing key not registered"));
  ASSERT_TRUE(store().AddReleaseKey({"p", Hash(900), "PEM", kT0, std::nullopt}).ok());
  ASSERT_TRUE(store().RevokeReleaseKey("p", Hash(900), kT0).ok());
  EXPECT_STATUS(store().CreateRelease(release).status(),
                FailedPrecondition("store: release signing key is revoked"));
  EXPECT_TRUE(store().ListReleases({})->empty());
}

TEST_P(StoreContractTest, Release_List_FiltersNewestFirst) {
  int64_t a = AddRelease("1.0.0", "esp32");
  int64_t b = AddRelease("1.1.0", "esp32");
  int64_t c = AddRelease("1.1.0", "esp32s3");
  auto all = store().ListReleases({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, c);
  EXPECT_EQ((*all)[2].id, a);
  auto esp32 = store().ListReleases({"p", "esp32", ""});
  ASSERT_EQ(esp32->size(), 2u);
  EXPECT_EQ((*esp32)[0].id, b);
  auto v110 = store().ListReleases({"", "", "1.1.0"});
  ASSERT_EQ(v110->size(), 2u);
  EXPECT_TRUE(store().ListReleases({"other", "", ""})->empty());
}

// --- devices ---

TEST_P(StoreContractTest, Device_RegisterThenGet_CanonicalTagsAndNoHistory) {
  Register("dev-1", 1, {"zone=b", "beta", "beta", "alpha"});
  auto device = store().GetDevice("dev-1");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->token_hash, Hash(1));
  EXPECT_EQ(device->project, "p");
  EXPECT_EQ(device->chip, "esp32");
  EXPECT_THAT(device->tags, ElementsAre("alpha", "beta", "zone=b"));
  EXPECT_EQ(device->current_version, "0.9.0");
  EXPECT_EQ(device->secure_version, 1u);
  EXPECT_EQ(device->created_at_ms, kT0);
  EXPECT_FALSE(device->last_checkin_at_ms.has_value());
  EXPECT_FALSE(device->last_event_at_ms.has_value());
  EXPECT_FALSE(device->last_event_state.has_value());
  auto by_token = store().FindDeviceByTokenHash(Hash(1));
  ASSERT_TRUE(by_token.ok());
  EXPECT_EQ(by_token->id, "dev-1");
  EXPECT_STATUS(store().GetDevice("dev-2").status(), NotFound("store: device not found"));
  EXPECT_STATUS(store().FindDeviceByTokenHash(Hash(2)).status(),
                NotFound("store: device not found"));
}

TEST_P(StoreContractTest, Device_DuplicateIdOrToken_AlreadyExistsNamingWhich) {
  Register("dev-1", 1);
  EXPECT_STATUS(store().RegisterDevice(MakeDevice("dev-1", 2)),
                AlreadyExists("store: device id already registered"));
  EXPECT_STATUS(store().RegisterDevice(MakeDevice("dev-2", 1)),
                AlreadyExists("store: device token already registered"));
  EXPECT_STATUS(store().GetDevice("dev-2").status(), NotFound("store: device not found"));
}

TEST_P(StoreContractTest, Device_InvalidFields_InvalidArgument) {
  struct Case {
    Device device;
    Status expected;
  };
  std::vector<std::string> too_many;
  for (int i = 0; i < 33; ++i) {
    too_many.push_back("t" + std::to_string(i));
  }
  const Case cases[] = {
      {MakeDevice("", 1), InvalidArgument("store: invalid device id")},
      {MakeDevice("has space", 1), InvalidArgument("store: invalid device id")},
      {MakeDevice(std::string(65, 'a'), 1), InvalidArgument("store: invalid device id")},
      {MakeDevice("ok", 1, {"a,b"}), InvalidArgument("store: invalid tag", 0)},
      {MakeDevice("ok", 1, {"fine", ""}), InvalidArgument("store: invalid tag", 1)},
      {MakeDevice("ok", 1, too_many), InvalidArgument("store: too many tags", 33)},
  };
  for (const Case& c : cases) {
    EXPECT_STATUS(store().RegisterDevice(c.device), c.expected) << c.device.id;
  }
  Device bad_token = MakeDevice("ok", 1);
  bad_token.token_hash = "short";
  EXPECT_STATUS(store().RegisterDevice(bad_token),
                InvalidArgument("store: token hash is not sha256 hex"));
  Device nul = MakeDevice("ok", 1);
  nul.current_version = std::string("1.0\0x", 5);
  EXPECT_EQ(store().RegisterDevice(nul).code(), Status::Code::kInvalidArgument);
  EXPECT_STATUS(store().GetDevice("ok").status(), NotFound("store: device not found"));
}

TEST_P(StoreContractTest, Device_Checkin_UpdatesVersionTagsAndTime) {
  Register("dev-1", 1, {"old"});
  ASSERT_TRUE(store().RecordCheckin({"dev-1", "1.0.0", 3, {"new", "b"}, kT0 + 100}).ok());
  auto device = store().GetDevice("dev-1");
  EXPECT_EQ(device->current_version, "1.0.0");
  EXPECT_EQ(device->secure_version, 3u);
  EXPECT_THAT(device->tags, ElementsAre("b", "new"));
  EXPECT_EQ(device->last_checkin_at_ms, kT0 + 100);
  EXPECT_STATUS(store().RecordCheckin({"dev-2", "1.0.0", 3, {}, kT0}),
                NotFound("store: device not found"));
  EXPECT_STATUS(store().RecordCheckin({"dev-1", "1.0.0", 3, {"bad tag"}, kT0}),
                InvalidArgument("store: invalid tag", 0));
}

TEST_P(StoreContractTest, Device_CheckinBatch_UpdatesKnownSkipsUnknownLastEntryWins) {
  Register("b", 1);
  Register("a", 2);
  std::vector<DeviceCheckin> batch = {
      {"b", "2.0.0", 1, {}, kT0 + 1},
      {"ghost", "2.0.0", 1, {}, kT0 + 1},
      {"a", "2.0.0", 1, {"x"}, kT0 + 2},
      {"b", "2.0.1", 1, {"y"}, kT0 + 3},
  };
  auto updated = store().RecordCheckins(batch);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(*updated, 2u);  // a and b (b once, from its last entry); ghost skipped
  EXPECT_EQ(store().GetDevice("b")->current_version, "2.0.1");
  EXPECT_EQ(store().GetDevice("b")->last_checkin_at_ms, kT0 + 3);
  EXPECT_THAT(store().GetDevice("a")->tags, ElementsAre("x"));
  // All or nothing: one bad entry refuses the whole batch.
  std::vector<DeviceCheckin> bad = {{"a", "9.9.9", 1, {}, kT0}, {"b", "9.9.9", 1, {","}, kT0}};
  EXPECT_EQ(store().RecordCheckins(bad).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store().GetDevice("a")->current_version, "2.0.0");
  EXPECT_EQ(*store().RecordCheckins({}), 0u);
}

TEST_P(StoreContractTest, Device_ListPages_EveryDeviceOnceInIdOrder) {
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "dev-%02d", 24 - i);
    Register(id, 100 + i);
  }
  DeviceQuery query;
  query.limit = 10;
  std::vector<std::string> seen;
  std::vector<size_t> page_sizes;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = store().ListDevices(query);
    ASSERT_TRUE(page.ok());
    page_sizes.push_back(page->devices.size());
    for (const Device& device : page->devices) {
      seen.push_back(device.id);
    }
    if (page->next_after_id.empty()) {
      break;
    }
    query.after_id = page->next_after_id;
  }
  EXPECT_THAT(page_sizes, ElementsAre(10u, 10u, 5u));
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "dev-00");
  EXPECT_EQ(seen.back(), "dev-24");
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_P(StoreContractTest, Device_ListFilters_PrefixVersionTagProjectCombine) {
  Register("lab-1", 1, {"beta", "zone=a"}, "p", "1.0.0");
  Register("lab-2", 2, {"zone=b"}, "p", "1.0.0");
  Register("lab_3", 3, {"beta"}, "p", "2.0.0");
  Register("field-1", 4, {"beta"}, "q", "1.0.0");
  Register("LAB-9", 5, {}, "p", "1.0.0");
  auto ids = [&](DeviceQuery query) {
    std::vector<std::string> out;
    auto page = store().ListDevices(query);
    EXPECT_TRUE(page.ok());
    for (const Device& device : page->devices) {
      out.push_back(device.id);
    }
    return out;
  };
  DeviceQuery q;
  q.id_prefix = "lab-";
  EXPECT_THAT(ids(q), ElementsAre("lab-1", "lab-2"));  // byte-exact: not "LAB-9", not "lab_3"
  q = {};
  q.id_prefix = "lab";
  EXPECT_THAT(ids(q), ElementsAre("lab-1", "lab-2", "lab_3"));
  q = {};
  q.tag = "beta";
  EXPECT_THAT(ids(q), ElementsAre("field-1", "lab-1", "lab_3"));
  q.tag = "bet";  // a tag matches whole, never as a substring
  EXPECT_TRUE(ids(q).empty());
  q = {};
  q.version = "1.0.0";
  q.project = "p";
  EXPECT_THAT(ids(q), ElementsAre("LAB-9", "lab-1", "lab-2"));
  q.tag = "zone=b";
  EXPECT_THAT(ids(q), ElementsAre("lab-2"));
  q = {};
  q.limit = 0;
  EXPECT_STATUS(store().ListDevices(q).status(),
                InvalidArgument("store: page limit out of range", 0));
  q.limit = kMaxPageSize + 1;
  EXPECT_EQ(store().ListDevices(q).status().code(), Status::Code::kInvalidArgument);
  q = {};
  q.id_prefix = "a%";
  EXPECT_STATUS(store().ListDevices(q).status(),
                InvalidArgument("store: invalid device id prefix"));
  q = {};
  q.tag = "a,b";
  EXPECT_STATUS(store().ListDevices(q).status(), InvalidArgument("store: invalid tag"));
}

TEST_P(StoreContractTest, Device_CountByVersion_GroupsByProjectChipVersionInByteOrder) {
  auto empty = store().CountDevicesByVersion();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  Register("a", 1, {}, "p", "1.0.0");
  Register("b", 2, {}, "p", "1.0.0");
  Register("c", 3, {}, "p", "1.0.0-rc1");
  Register("d", 4, {}, "p", "1.0.0-rc1");
  Register("e", 5, {}, "Q", "1.0.0");
  Register("f", 6, {}, "p", "");
  Device c3 = MakeDevice("g", 7, {}, "p", "1.0.0");
  c3.chip = "esp32c3";
  ASSERT_TRUE(store().RegisterDevice(c3).ok());
  DeviceCheckin checkin;
  checkin.device_id = "b";
  checkin.current_version = "2.0.0";
  checkin.at_ms = kT0 + 5;
  ASSERT_TRUE(store().RecordCheckin(checkin).ok());
  auto counts = store().CountDevicesByVersion();
  ASSERT_TRUE(counts.ok()) << aloft::testing::DescribeStatus(counts.status());
  // "Q" < "p" bytewise; "" first; a check-in moves a device to its new version.
  EXPECT_THAT(*counts,
              ElementsAre(VersionCount{"Q", "esp32", "1.0.0", 1}, VersionCount{"p", "esp32", "", 1},
                          VersionCount{"p", "esp32", "1.0.0", 1},
                          VersionCount{"p", "esp32", "1.0.0-rc1", 2},
                          VersionCount{"p", "esp32", "2.0.0", 1},
                          VersionCount{"p", "esp32c3", "1.0.0", 1}));
}

// --- rollouts ---

TEST_P(StoreContractTest, Rollout_Create_GetReturnsEveryFieldAndFirstHistoryEntry) {
  int64_t release = AddRelease();
  Rollout rollout;
  rollout.release_id = release;
  rollout.percent_bp = 500;
  rollout.tags = {"beta", "alpha"};
  rollout.min_version = "0.5.0";
  rollout.halt_failure_rate = 0.25;
  rollout.min_sample = 20;
  rollout.created_at_ms = kT0 + 7;
  auto id = store().CreateRollout(rollout);
  ASSERT_TRUE(id.ok());
  auto got = store().GetRollout(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, *id);
  EXPECT_EQ(got->release_id, release);
  EXPECT_EQ(got->percent_bp, 500u);
  EXPECT_THAT(got->tags, ElementsAre("alpha", "beta"));
  EXPECT_EQ(got->min_version, "0.5.0");
  EXPECT_DOUBLE_EQ(got->halt_failure_rate, 0.25);
  EXPECT_EQ(got->min_sample, 20u);
  EXPECT_EQ(got->state, RolloutState::kActive);
  EXPECT_EQ(got->state_reason, "");
  EXPECT_EQ(got->created_at_ms, kT0 + 7);
  EXPECT_EQ(got->updated_at_ms, kT0 + 7);
  auto history = store().ListRolloutPercentChanges(*id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].percent_bp, 500u);
  EXPECT_EQ((*history)[0].at_ms, kT0 + 7);
  EXPECT_STATUS(store().GetRollout(*id + 1).status(), NotFound("store: rollout not found"));
}

TEST_P(StoreContractTest, Rollout_InvalidFieldsOrUnknownRelease_Refused) {
  int64_t release = AddRelease();
  Rollout rollout;
  rollout.release_id = release + 1;
  EXPECT_STATUS(store().CreateRollout(rollout).status(), NotFound("store: release not found"));
  rollout.release_id = release;
  rollout.percent_bp = 10001;
  EXPECT_STATUS(store().CreateRollout(rollout).status(),
                InvalidArgument("store: rollout percent above 10000 basis points", 10001));
  rollout.percent_bp = 10000;
  for (double rate : {-0.1, 1.5, std::nan("")}) {
    rollout.halt_failure_rate = rate;
    EXPECT_STATUS(store().CreateRollout(rollout).status(),
                  InvalidArgument("store: halt failure rate outside 0..1"));
  }
  rollout.halt_failure_rate = 1.0;
  EXPECT_TRUE(store().CreateRollout(rollout).ok());
  EXPECT_EQ(store().ListRollouts({})->size(), 1u);
}

TEST_P(StoreContractTest, Rollout_SetPercent_UpdatesAndAppendsHistory) {
  int64_t id = AddRollout(AddRelease(), 500);
  ASSERT_TRUE(store().SetRolloutPercent(id, 2000, kT0 + 20).ok());
  ASSERT_TRUE(store().SetRolloutPercent(id, 10000, kT0 + 30).ok());
  auto got = store().GetRollout(id);
  EXPECT_EQ(got->percent_bp, 10000u);
  EXPECT_EQ(got->updated_at_ms, kT0 + 30);
  auto history = store().ListRolloutPercentChanges(id);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[1].percent_bp, 2000u);
  EXPECT_EQ((*history)[1].at_ms, kT0 + 20);
  EXPECT_EQ((*history)[2].percent_bp, 10000u);
  EXPECT_STATUS(store().SetRolloutPercent(id, 10001, kT0),
                InvalidArgument("store: rollout percent above 10000 basis points", 10001));
  EXPECT_STATUS(store().SetRolloutPercent(id + 1, 10, kT0), NotFound("store: rollout not found"));
  EXPECT_STATUS(store().ListRolloutPercentChanges(id + 1).status(),
                NotFound("store: rollout not found"));
}

TEST_P(StoreContractTest, Rollout_SetState_CompareAndSetWithReason) {
  int64_t id = AddRollout(AddRelease());
  ASSERT_TRUE(store()
                  .SetRolloutState(id, RolloutState::kHalted, "halted: 3 of 12 failed", kT0 + 40,
                                   RolloutState::kActive)
                  .ok());
  auto got = store().GetRollout(id);
  EXPECT_EQ(got->state, RolloutState::kHalted);
  EXPECT_EQ(got->state_reason, "halted: 3 of 12 failed");
  EXPECT_EQ(got->updated_at_ms, kT0 + 40);
  // A second automatic halt (or a pause) expecting kActive loses the race and changes nothing.
  EXPECT_STATUS(
      store().SetRolloutState(id, RolloutState::kPaused, "", kT0 + 50, RolloutState::kActive),
      FailedPrecondition("store: rollout is not in the expected state"));
  EXPECT_EQ(store().GetRollout(id)->state, RolloutState::kHalted);
  ASSERT_TRUE(
      store().SetRolloutState(id, RolloutState::kActive, "resumed", kT0 + 60, std::nullopt).ok());
  EXPECT_EQ(store().GetRollout(id)->state, RolloutState::kActive);
  EXPECT_STATUS(store().SetRolloutState(id + 1, RolloutState::kPaused, "", kT0, std::nullopt),
                NotFound("store: rollout not found"));
}

TEST_P(StoreContractTest, Rollout_ListAndListActive_Filter) {
  int64_t r1 = AddRelease("1.0.0", "esp32");
  int64_t r2 = AddRelease("2.0.0", "esp32");
  int64_t r3 = AddRelease("2.0.0", "esp32s3");
  int64_t a = AddRollout(r1);
  int64_t b = AddRollout(r2, 100, RolloutState::kPaused);
  int64_t c = AddRollout(r2);
  int64_t d = AddRollout(r3);
  auto all = store().ListRollouts({});
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, d);  // newest first
  auto of_r2 = store().ListRollouts({r2, std::nullopt});
  ASSERT_EQ(of_r2->size(), 2u);
  EXPECT_EQ((*of_r2)[0].id, c);
  EXPECT_EQ((*of_r2)[1].id, b);
  auto paused = store().ListRollouts({std::nullopt, RolloutState::kPaused});
  ASSERT_EQ(paused->size(), 1u);
  EXPECT_EQ((*paused)[0].id, b);
  auto active = store().ListActiveRollouts("p", "esp32");
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].rollout.id, a);
  EXPECT_EQ((*active)[0].release.version, "1.0.0");
  EXPECT_EQ((*active)[1].rollout.id, c);
  EXPECT_EQ((*active)[1].release.id, r2);
  EXPECT_EQ((*active)[1].release.sha256, Hash(901));
  EXPECT_TRUE(store().ListActiveRollouts("q", "esp32")->empty());
  ASSERT_EQ(store().ListActiveRollouts("p", "esp32s3")->size(), 1u);
}

// --- rollout devices ---

TEST_P(StoreContractTest, RolloutDevice_Upsert_ReplaceOverwritesKeepDoesNot) {
  int64_t rollout = AddRollout(AddRelease());
  Register("dev-1", 1);
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({rollout, "dev-1", UpdateState::kOffered, "", kT0},
                                       OnExisting::kKeep)
                  .ok());
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({rollout, "dev-1", UpdateState::kDownloading, "", kT0 + 1},
                                       OnExisting::kReplace)
                  .ok());
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({rollout, "dev-1", UpdateState::kOffered, "", kT0 + 2},
                                       OnExisting::kKeep)
                  .ok());
  auto entry = store().GetRolloutDevice(rollout, "dev-1");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->state, UpdateState::kDownloading);
  EXPECT_EQ(entry->updated_at_ms, kT0 + 1);
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({rollout, "dev-1", UpdateState::kFailed, "hash", kT0 + 3},
                                       OnExisting::kReplace)
                  .ok());
  entry = store().GetRolloutDevice(rollout, "dev-1");
  EXPECT_EQ(entry->state, UpdateState::kFailed);
  EXPECT_EQ(entry->reason, "hash");
  EXPECT_STATUS(store().GetRolloutDevice(rollout, "dev-2").status(),
                NotFound("store: rollout device not found"));
}

TEST_P(StoreContractTest, RolloutDevice_UnknownRolloutOrDevice_NotFound) {
  int64_t rollout = AddRollout(AddRelease());
  Register("dev-1", 1);
  EXPECT_STATUS(store().UpsertRolloutDevice({rollout, "ghost", UpdateState::kOffered, "", kT0},
                                            OnExisting::kReplace),
                NotFound("store: device not found"));
  EXPECT_STATUS(store().UpsertRolloutDevice({rollout + 1, "dev-1", UpdateState::kOffered, "", kT0},
                                            OnExisting::kKeep),
                NotFound("store: rollout not found"));
  EXPECT_EQ(store().CountRolloutDevices(rollout)->total(), 0);
}

TEST_P(StoreContractTest, RolloutDevice_Counts_OneGroupPerState) {
  int64_t rollout = AddRollout(AddRelease());
  int64_t other = AddRollout(AddRelease("2.0.0"));
  const UpdateState states[] = {UpdateState::kOffered,    UpdateState::kConfirmed,
                                UpdateState::kConfirmed,  UpdateState::kFailed,
                                UpdateState::kRolledBack, UpdateState::kConfirmed};
  for (int i = 0; i < 6; ++i) {
    std::string id = "dev-" + std::to_string(i);
    Register(id, 10 + i);
    ASSERT_TRUE(
        store().UpsertRolloutDevice({rollout, id, states[i], "", kT0}, OnExisting::kReplace).ok());
  }
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({other, "dev-0", UpdateState::kFailed, "", kT0},
                                       OnExisting::kReplace)
                  .ok());
  auto counts = store().CountRolloutDevices(rollout);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->of(UpdateState::kOffered), 1);
  EXPECT_EQ(counts->of(UpdateState::kConfirmed), 3);
  EXPECT_EQ(counts->of(UpdateState::kFailed), 1);
  EXPECT_EQ(counts->of(UpdateState::kRolledBack), 1);
  EXPECT_EQ(counts->of(UpdateState::kDownloading), 0);
  EXPECT_EQ(counts->total(), 6);
  EXPECT_EQ(store().CountRolloutDevices(other)->total(), 1);
  EXPECT_EQ(store().CountRolloutDevices(other + 1)->total(), 0);
}

TEST_P(StoreContractTest, RolloutDevice_ListFailed_LatestStateFailedOrRolledBackInByteOrder) {
  int64_t rollout = AddRollout(AddRelease());
  int64_t other = AddRollout(AddRelease("2.0.0"));
  // Ids chosen so byte order differs from a case-insensitive or natural order.
  const std::string ids[] = {"dev-b", "dev-A", "dev-a", "dev-10", "dev-9", "dev-c"};
  const UpdateState states[] = {UpdateState::kFailed,    UpdateState::kRolledBack,
                                UpdateState::kConfirmed, UpdateState::kRolledBack,
                                UpdateState::kFailed,    UpdateState::kOffered};
  for (int i = 0; i < 6; ++i) {
    Register(ids[i], 20 + i);
    if (states[i] == UpdateState::kOffered) {  // the server's mark, not a device event
      ASSERT_TRUE(store()
                      .UpsertRolloutDevice({rollout, ids[i], states[i], "", kT0}, OnExisting::kKeep)
                      .ok());
    } else {
      ASSERT_TRUE(store()
                      .RecordEvent(MakeEvent(ids[i], "e-" + std::to_string(i), states[i], rollout))
                      .ok());
    }
  }
  // Per rollout: dev-c failed only the other one.
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({other, "dev-c", UpdateState::kFailed, "", kT0},
                                       OnExisting::kReplace)
                  .ok());
  auto failed = store().ListFailedRolloutDevices(rollout);
  ASSERT_TRUE(failed.ok()) << aloft::testing::DescribeStatus(failed.status());
  EXPECT_THAT(*failed, ElementsAre("dev-10", "dev-9", "dev-A", "dev-b"));
  EXPECT_THAT(*store().ListFailedRolloutDevices(other), ElementsAre("dev-c"));
  EXPECT_TRUE(store().ListFailedRolloutDevices(other + 1)->empty());

  // The latest state counts: a later event that is not a failure takes the device off the list,
  // an offered mark (kKeep) does not.
  ASSERT_TRUE(
      store().RecordEvent(MakeEvent("dev-9", "e-later", UpdateState::kDownloading, rollout)).ok());
  ASSERT_TRUE(store()
                  .UpsertRolloutDevice({rollout, "dev-b", UpdateState::kOffered, "", kT0 + 20},
                                       OnExisting::kKeep)
                  .ok());
  EXPECT_THAT(*store().ListFailedRolloutDevices(rollout), ElementsAre("dev-10", "dev-A", "dev-b"));
}

// --- events ---

TEST_P(StoreContractTest, Event_New_StoredWithDeviceAndRolloutStateInOneGo) {
  int64_t release = AddRelease();
  int64_t rollout = AddRollout(release);
  Register("dev-1", 1);
  Event event = MakeEvent("dev-1", "e-1", UpdateState::kDownloading, rollout, kT0 + 10);
  event.release_id = release;
  event.progress_bytes = 2048;
  event.device_time_ms = 5000;
  auto outcome = store().RecordEvent(event);
  ASSERT_TRUE(outcome.ok()) << aloft::testing::DescribeStatus(outcome.status());
  EXPECT_EQ(*outcome, EventInsert::kNew);
  auto device = store().GetDevice("dev-1");
  EXPECT_EQ(device->last_event_at_ms, kT0 + 10);
  EXPECT_EQ(device->last_event_state, UpdateState::kDownloading);
  auto entry = store().GetRolloutDevice(rollout, "dev-1");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->state, UpdateState::kDownloading);
  EXPECT_EQ(entry->updated_at_ms, kT0 + 10);
  auto events = store().ListDeviceEvents("dev-1", 10);
  ASSERT_EQ(events->size(), 1u);
  const Event& stored = (*events)[0];
  EXPECT_EQ(stored.event_id, "e-1");
  EXPECT_EQ(stored.rollout_id, rollout);
  EXPECT_EQ(stored.release_id, release);
  EXPECT_EQ(stored.state, UpdateState::kDownloading);
  EXPECT_EQ(stored.progress_bytes, 2048);
  EXPECT_EQ(stored.version, "0.9.0");
  EXPECT_EQ(stored.device_time_ms, 5000);
  EXPECT_EQ(stored.received_at_ms, kT0 + 10);
}

TEST_P(StoreContractTest, Event_SameIdTwice_StoredOnceSecondIsDuplicateAndChangesNothing) {
  int64_t rollout = AddRollout(AddRelease());
  Register("dev-1", 1);
  ASSERT_EQ(
      *store().RecordEvent(MakeEvent("dev-1", "e-1", UpdateState::kFailed, rollout, kT0 + 10)),
      EventInsert::kNew);
  Event retry = MakeEvent("dev-1", "e-1", UpdateState::kConfirmed, rollout, kT0 + 99);
  auto again = store().RecordEvent(retry);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, EventInsert::kDuplicate);
  auto events = store().ListDeviceEvents("dev-1", 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].state, UpdateState::kFailed);
  EXPECT_EQ(store().GetDevice("dev-1")->last_event_at_ms, kT0 + 10);
  EXPECT_EQ(store().GetRolloutDevice(rollout, "dev-1")->state, UpdateState::kFailed);
  // The same event id from another device is another event.
  Register("dev-2", 2);
  EXPECT_EQ(*store().RecordEvent(MakeEvent("dev-2", "e-1", UpdateState::kFailed)),
            EventInsert::kNew);
}

TEST_P(StoreContractTest, Event_UnknownReferences_NotFoundAndNothingStored) {
  int64_t release = AddRelease();
  int64_t rollout = AddRollout(release);
  Register("dev-1", 1);
  EXPECT_STATUS(store().RecordEvent(MakeEvent("ghost", "e-1", UpdateState::kFailed)).status(),
                NotFound("store: device not found"));
  EXPECT_STATUS(
      store().RecordEvent(MakeEvent("dev-1", "e-1", UpdateState::kFailed, rollout + 5)).status(),
      NotFound("store: rollout not found"));
  Event bad_release = MakeEvent("dev-1", "e-1", UpdateState::kFailed, rollout);
  bad_release.release_id = release + 5;
  EXPECT_STATUS(store().RecordEvent(bad_release).status(), NotFound("store: release not found"));
  EXPECT_TRUE(store().ListDeviceEvents("dev-1", 10)->empty());
  EXPECT_FALSE(store().GetDevice("dev-1")->last_event_at_ms.has_value());
  EXPECT_EQ(store().CountRolloutDevices(rollout)->total(), 0);
}

TEST_P(StoreContractTest, Event_InvalidIdOrOfferedState_InvalidArgument) {
  Register("dev-1", 1);
  EXPECT_STATUS(store().RecordEvent(MakeEvent("dev-1", "", UpdateState::kFailed)).status(),
                InvalidArgument("store: invalid event id"));
  EXPECT_STATUS(store().RecordEvent(MakeEvent("dev-1", "a/b", UpdateState::kFailed)).status(),
                InvalidArgument("store: invalid event id"));
  EXPECT_STATUS(store().RecordEvent(MakeEvent("dev-1", "e", UpdateState::kOffered)).status(),
                InvalidArgument("store: offered is not a device event"));
}

TEST_P(StoreContractTest, Event_WithoutRollout_UpdatesDeviceOnly) {
  int64_t rollout = AddRollout(AddRelease());
  Register("dev-1", 1);
  ASSERT_TRUE(store().RecordEvent(MakeEvent("dev-1", "boot", UpdateState::kConfirmed)).ok());
  EXPECT_EQ(store().GetDevice("dev-1")->last_event_state, UpdateState::kConfirmed);
  EXPECT_EQ(store().CountRolloutDevices(rollout)->total(), 0);
}

TEST_P(StoreContractTest, Event_List_NewestFirstWithLimit) {
  Register("dev-1", 1);
  Register("dev-2", 2);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store()
                    .RecordEvent(MakeEvent("dev-1", "e" + std::to_string(i),
                                           UpdateState::kDownloading, std::nullopt, kT0 + i))
                    .ok());
  }
  ASSERT_TRUE(store().RecordEvent(MakeEvent("dev-2", "x", UpdateState::kFailed)).ok());
  auto events = store().ListDeviceEvents("dev-1", 3);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].event_id, "e4");
  EXPECT_EQ((*events)[1].event_id, "e3");
  EXPECT_EQ((*events)[2].event_id, "e2");
  EXPECT_EQ(store().ListDeviceEvents("dev-1", 100)->size(), 5u);
  EXPECT_TRUE(store().ListDeviceEvents("ghost", 10)->empty());
  EXPECT_STATUS(store().ListDeviceEvents("dev-1", 0).status(),
                InvalidArgument("store: page limit out of range", 0));
}

// --- concurrency ---

// 8 threads × 200 new events over 4 shared devices in one rollout, and every thread also
// retries one shared event id: exact totals, no errors, and exactly one thread's copy of the
// shared event is new.
TEST_P(StoreContractTest, Concurrency_EightThreadsRecordingEvents_ExactTotalsNoErrors) {
  constexpr int kThreads = 8;
  constexpr int kEventsPerThread = 200;
  int64_t rollout = AddRollout(AddRelease());
  for (int d = 0; d < 4; ++d) {
    Register("dev-" + std::to_string(d), d + 1);
  }
  std::atomic<int> errors{0};
  std::atomic<int> shared_new{0};
  std::atomic<int> shared_duplicate{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEventsPerThread; ++i) {
        std::string device = "dev-" + std::to_string(i % 4);
        Event event = MakeEvent(device, "t" + std::to_string(t) + "-" + std::to_string(i),
                                i % 2 == 0 ? UpdateState::kDownloading : UpdateState::kConfirmed,
                                rollout, kT0 + i);
        auto outcome = store().RecordEvent(event);
        if (!outcome.ok() || *outcome != EventInsert::kNew) {
          ++errors;
        }
        if (i == kEventsPerThread / 2) {
          auto shared = store().RecordEvent(MakeEvent("dev-0", "shared", UpdateState::kFailed));
          if (!shared.ok()) {
            ++errors;
          } else if (*shared == EventInsert::kNew) {
            ++shared_new;
          } else {
            ++shared_duplicate;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(shared_new.load(), 1);
  EXPECT_EQ(shared_duplicate.load(), kThreads - 1);
  EXPECT_EQ(database_->QueryInt("SELECT COUNT(*) FROM events"), kThreads * kEventsPerThread + 1);
  for (int d = 0; d < 4; ++d) {
    EXPECT_EQ(store().ListDeviceEvents("dev-" + std::to_string(d), kMaxPageSize)->size(),
              static_cast<size_t>(kThreads * kEventsPerThread / 4 + (d == 0 ? 1 : 0)));
  }
  EXPECT_EQ(store().CountRolloutDevices(rollout)->total(), 4);
}

// Readers and writers at once: a reader never sees an error or a half-written batch.
TEST_P(StoreContractTest, Concurrency_ReadsDuringBatchedCheckins_SeeWholeBatches) {
  constexpr int kDevices = 20;
  for (int d = 0; d < kDevices; ++d) {
    Register("dev-" + std::to_string(d), d + 1);
  }
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::atomic<int> torn{0};
  std::thread writer([&] {
    for (int round = 1; round <= 50; ++round) {
      std::vector<DeviceCheckin> batch;
      for (int d = 0; d < kDevices; ++d) {
        batch.push_back({"dev-" + std::to_string(d), "v" + std::to_string(round), 1, {}, kT0});
      }
      if (!store().RecordCheckins(batch).ok()) {
        ++errors;
      }
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        DeviceQuery query;
        query.limit = kDevices;
        auto page = store().ListDevices(query);
        if (!page.ok() || page->devices.size() != kDevices) {
          ++errors;
          continue;
        }
        for (const Device& device : page->devices) {
          if (device.current_version != page->devices[0].current_version) {
            ++torn;
          }
        }
      }
    });
  }
  writer.join();
  for (std::thread& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(store().GetDevice("dev-7")->current_version, "v50");
}

// --- connections (PostgreSQL only: SQLite has no server connection to lose) ---

class StoreConnectionTest : public StoreContractTest {};

TEST_P(StoreConnectionTest, Reconnect_ServerConnectionsTerminated_NextCallWorks) {
  Register("dev-1", 1);
  // Several connections in the pool, all idle.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { EXPECT_TRUE(store().GetDevice("dev-1").ok()); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  database_->TerminateConnections();
  // The backends have exited, so the pool sees its idle connections closed and replaces them
  // before use: even the first call works.
  EXPECT_TRUE(store().RecordCheckin({"dev-1", "2.0.0", 1, {}, kT0 + 1}).ok());
  EXPECT_TRUE(store().RecordCheckin({"dev-1", "2.0.1", 1, {}, kT0 + 2}).ok());
  auto device = store().GetDevice("dev-1");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->current_version, "2.0.1");
  // Again, with multi-statement transactions after it.
  database_->TerminateConnections();
  int64_t rollout = AddRollout(AddRelease());
  EXPECT_EQ(*store().RecordEvent(MakeEvent("dev-1", "after", UpdateState::kFailed, rollout)),
            EventInsert::kNew);
}

// The connection dies while a call is using it: that call fails with kUnavailable (and
// changed nothing), the next one reconnects.
TEST_P(StoreConnectionTest, Reconnect_ConnectionLostDuringCall_ThatCallUnavailableNextWorks) {
  Register("dev-1", 1);
  // Hold a lock the store's next statement must wait for, so the call is in flight for sure
  // when its backend is terminated.
  database_->Exec("BEGIN; LOCK TABLE devices IN ACCESS EXCLUSIVE MODE");
  Status in_flight;
  std::thread caller([&] { in_flight = store().RecordCheckin({"dev-1", "3.0", 1, {}, kT0}); });
  const std::string waiting =
      "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
      " AND application_name = '" +
      database_->application_name() + "'";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (database_->QueryInt(waiting) != 1 && std::chrono::steady_clock::now() < deadline) {
  }
  database_->TerminateConnections();
  database_->Exec("ROLLBACK");
  caller.join();
  EXPECT_STATUS(in_flight, Unavailable("store: postgresql connection lost"));
  auto device = store().GetDevice("dev-1");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->current_version, "0.9.0");
  EXPECT_TRUE(store().RecordCheckin({"dev-1", "3.0", 1, {}, kT0}).ok());
}

TEST_P(StoreConnectionTest, Reconnect_ServerUnreachable_Unavailable) {
  auto opened = OpenStore("host=/nonexistent-aloft-socket-dir dbname=x connect_timeout=2");
  EXPECT_STATUS(opened.status(), Unavailable("store: cannot connect to postgresql"));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, StoreConnectionTest, ::testing::Values(Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace aloft::server
