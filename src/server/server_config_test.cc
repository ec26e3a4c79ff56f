#include "server/server_config.h"

#include <gtest/gtest.h>

#include "support/status_testing.h"

namespace aloft::server {
namespace {

TEST(ParseServerConfig, EmptyObject_GivesDefaults) {
  ApiResult<ServerConfig> config = ParseServerConfig("{}");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->listen, "127.0.0.1:8443");
  EXPECT_EQ(config->db, "sqlite:aloft.db");
  EXPECT_EQ(config->checkin_flush_interval_ms, 1000);
  EXPECT_FALSE(config->access_log);
}

TEST(ParseServerConfig, EveryKey_IsRead) {
  ApiResult<ServerConfig> config = ParseServerConfig(
      R"({"listen":"[::1]:9443","db":"postgresql://db/aloft","io_threads":4,
          "handler_threads":8,"log_format":"json","log_level":"debug","access_log":true,
          "rollout_cache_ttl_ms":500,"max_artifact_bytes":1048576,"client_ca":""})");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen, "[::1]:9443");
  EXPECT_EQ(config->db, "postgresql://db/aloft");
  EXPECT_EQ(config->io_threads, 4);
  EXPECT_EQ(config->handler_threads, 8);
  EXPECT_EQ(config->log_format, "json");
  EXPECT_TRUE(config->access_log);
  EXPECT_EQ(config->rollout_cache_ttl_ms, 500);
  EXPECT_EQ(config->max_artifact_bytes, 1048576u);
  EXPECT_EQ(config->client_ca, "");
}

TEST(ParseServerConfig, Mistakes_NameTheKey) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({"listen":8443})", "aloftd.conf: field 'listen' must be a string"},
      {R"({"listen":"localhost:8443"})",
       "aloftd.conf: field 'listen' must be ADDRESS:PORT (127.0.0.1:8443, [::1]:8443)"},
      {R"({"log_format":"xml"})", "aloftd.conf: field 'log_format' must be text or json"},
      {R"({"access_log":"yes"})", "aloftd.conf: field 'access_log' must be true or false"},
      {R"({"io_threads":-1})", "aloftd.conf: field 'io_threads' must be from 0 to 256"},
      {R"({"lissten":"127.0.0.1:1"})", "aloftd.conf: unknown field 'lissten'"},
      {R"(not json)", nullptr},
  };
  for (const Case& c : cases) {
    ApiResult<ServerConfig> config = ParseServerConfig(c.json);
    ASSERT_FALSE(config.ok()) << c.json;
    if (c.message != nullptr) {
      EXPECT_EQ(config.error().message, c.message);
    }
  }
}

TEST(ParseListenAddress, Table) {
  EXPECT_EQ(ParseListenAddress("127.0.0.1:8443")->port, 8443);
  EXPECT_EQ(ParseListenAddress("0.0.0.0:0")->address, "0.0.0.0");
  EXPECT_EQ(ParseListenAddress("[::1]:443")->address, "::1");
  for (const char* bad : {"127.0.0.1", ":8443", "127.0.0.1:", "127.0.0.1:65536", "::1:443",
                          "host:443", "127.0.0.1:8x"}) {
    EXPECT_STATUS(ParseListenAddress(bad).status(),
                  InvalidArgument("config: listen is not ADDRESS:PORT"))
        << bad;
  }
}

TEST(ResolveDbLocation, RelativeSqlitePathsLiveInTheDataDir) {
  EXPECT_EQ(ResolveDbLocation("sqlite:aloft.db", "/d"), "sqlite:/d/aloft.db");
  EXPECT_EQ(ResolveDbLocation("sqlite", "/d"), "sqlite:/d/aloft.db");
  EXPECT_EQ(ResolveDbLocation("other.db", "/d"), "sqlite:/d/other.db");
  EXPECT_EQ(ResolveDbLocation("sqlite:/abs/x.db", "/d"), "sqlite:/abs/x.db");
  EXPECT_EQ(ResolveDbLocation("sqlite:///abs/x.db", "/d"), "sqlite:/abs/x.db");
  EXPECT_EQ(ResolveDbLocation("postgresql://h/db", "/d"), "postgresql://h/db");
  EXPECT_EQ(ResolveDbLocation("host=/tmp dbname=x", "/d"), "host=/tmp dbname=x");
}

TEST(DefaultServerConfigJson, ParsesBack) {
  ApiResult<ServerConfig> config = ParseServerConfig(DefaultServerConfigJson("0.0.0.0:443"));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->listen, "0.0.0.0:443");
}

}  // namespace
}  // namespace aloft::server
