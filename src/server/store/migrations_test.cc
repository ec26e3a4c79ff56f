#include "server/store/migrations.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "support/status_testing.h"

namespace aloft::server {
namespace {

constexpr std::array<Migration, 3> kThree = {{
    {1, "one", "a", "a"},
    {2, "two", "b", "b"},
    {3, "three", "c", "c"},
}};

TEST(PlanMigrations, Table) {
  struct Case {
    int64_t database_version;
    bool newer;
    size_t pending;
    int64_t first_pending;
  };
  const Case cases[] = {
      {0, false, 3, 1},                                      // fresh database: everything
      {1, false, 2, 2}, {2, false, 1, 3}, {3, false, 0, 0},  // up to date: nothing
      {4, true, 0, 0},                                       // newer than the code: refuse
      {99, true, 0, 0},
  };
  for (const Case& c : cases) {
    MigrationPlan plan = PlanMigrations(c.database_version, kThree);
    EXPECT_EQ(plan.database_is_newer, c.newer) << c.database_version;
    ASSERT_EQ(plan.pending.size(), c.pending) << c.database_version;
    if (c.pending > 0) {
      EXPECT_EQ(plan.pending.front().version, c.first_pending);
      EXPECT_EQ(plan.pending.back().version, 3);
    }
  }
}

TEST(PlanMigrations, EmptyTable_OnlyVersionZeroIsCurrent) {
  EXPECT_FALSE(PlanMigrations(0, {}).database_is_newer);
  EXPECT_TRUE(PlanMigrations(1, {}).database_is_newer);
}

TEST(SchemaMigrations, VersionsStartAtOneWithoutGapsAndEndAtSchemaVersion) {
  auto migrations = SchemaMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int64_t>(i + 1));
    EXPECT_GT(std::strlen(migrations[i].sqlite_sql), 0u);
    EXPECT_GT(std::strlen(migrations[i].postgres_sql), 0u);
    EXPECT_GT(std::strlen(migrations[i].description), 0u);
  }
  EXPECT_EQ(migrations.back().version, kSchemaVersion);
}

TEST(DatabaseNewerError, NamesBothVersions) {
  Status status = DatabaseNewerError(7);
  EXPECT_STATUS(
      status, FailedPrecondition("store: database schema is newer than this build (schema 1)", 7));
}

}  // namespace
}  // namespace aloft::server
