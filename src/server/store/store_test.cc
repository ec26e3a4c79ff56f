// ParseStoreLocation: which backend a location string selects. (The Store contract itself is
// store_contract_test.cc.)
#include "server/store/store.h"

#include <gtest/gtest.h>

#include <string>

#include "support/status_testing.h"

namespace aloft::server {
namespace {

TEST(ParseStoreLocation, Table) {
  struct Case {
    std::string location;
    StoreBackend backend;
    std::string target;
  };
  const Case cases[] = {
      {"sqlite:/var/lib/aloft/aloft.db", StoreBackend::kSqlite, "/var/lib/aloft/aloft.db"},
      {"sqlite:///var/lib/aloft/aloft.db", StoreBackend::kSqlite, "/var/lib/aloft/aloft.db"},
      {"sqlite:relative.db", StoreBackend::kSqlite, "relative.db"},
      {"/data/aloft.db", StoreBackend::kSqlite, "/data/aloft.db"},
      {"aloft.db", StoreBackend::kSqlite, "aloft.db"},
      {"sqlite:host=x.db", StoreBackend::kSqlite, "host=x.db"},
      {"postgresql://u@db/aloft", StoreBackend::kPostgres, "postgresql://u@db/aloft"},
      {"postgres://db/aloft?sslmode=require", StoreBackend::kPostgres,
       "postgres://db/aloft?sslmode=require"},
      {"host=/tmp dbname=aloft", StoreBackend::kPostgres, "host=/tmp dbname=aloft"},
      {"dbname = aloft", StoreBackend::kPostgres, "dbname = aloft"},
      {"service_name=x", StoreBackend::kPostgres, "service_name=x"},
      {"./a=b.db", StoreBackend::kSqlite, "./a=b.db"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseStoreLocation(c.location);
    ASSERT_TRUE(parsed.ok()) << c.location;
    EXPECT_EQ(parsed->backend, c.backend) << c.location;
    EXPECT_EQ(parsed->target, c.target) << c.location;
  }
}

TEST(ParseStoreLocation, EmptyOrEmptyPath_InvalidArgument) {
  EXPECT_STATUS(ParseStoreLocation("").status(), InvalidArgument("store: empty location"));
  EXPECT_STATUS(ParseStoreLocation("sqlite:").status(),
                InvalidArgument("store: sqlite path is empty"));
  EXPECT_STATUS(ParseStoreLocation("sqlite://").status(),
                InvalidArgument("store: sqlite path is empty"));
}

TEST(OpenStore, SqlitePathInMissingDirectory_Unavailable) {
  auto opened = OpenStore("sqlite:/nonexistent-aloft-dir/x/aloft.db");
  EXPECT_STATUS(opened.status(), Unavailable("store: cannot open sqlite database"));
}

}  // namespace
}  // namespace aloft::server
