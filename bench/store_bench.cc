// Store micro-benchmarks (Google Benchmark) with 10,000 registered devices: the calls a
// check-in and an event report make. SQLite always (a temp dir); PostgreSQL too when
// ALOFT_TEST_PG holds a conninfo (e.g. under scripts/with-postgres.sh), in a fresh schema.
//   scripts/with-postgres.sh build/release/bench/store_bench
// The devices are inserted with one SQL statement (not through the Store, whose registrations
// are flushed one by one): the benchmark measures lookups and updates, not provisioning.

#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server/store/store.h"

namespace aloft::server {
namespace {

constexpr int kDevices = 10'000;
constexpr int64_t kT0 = 1'700'000'000'000;

// Device i: id "dev-%05d", token hash = i in 64 hex digits (as the seeding SQL writes them).
std::string DeviceId(int i) {
  char id[16];
  std::snprintf(id, sizeof(id), "dev-%05d", i);
  return id;
}
std::string TokenHash(int i) {
  char hex[65];
  std::snprintf(hex, sizeof(hex), "%064x", i);
  return hex;
}

constexpr const char kSeedSqlite[] =
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)"
    " INSERT INTO devices (id, token_hash, project, chip, tags, current_version, secure_version,"
    " created_at) SELECT printf('dev-%05d', i), printf('%064x', i), 'p', 'esp32', ',beta,',"
    " '1.0.0', 1, 0 FROM n";
constexpr const char kSeedPostgres[] =
    "INSERT INTO devices (id, token_hash, project, chip, tags, current_version, secure_version,"
    " created_at) SELECT 'dev-' || lpad(i::text, 5, '0'), lpad(to_hex(i), 64, '0'), 'p',"
    " 'esp32', ',beta,', '1.0.0', 1, 0 FROM generate_series(0, 9999) AS i";

struct Backend {
  std::string name;
  std::unique_ptr<Store> store;
};

std::unique_ptr<Store> OpenOrDie(const std::string& location) {
  auto opened = OpenStore(location);
  if (!opened.ok()) {
    std::fprintf(stderr, "store_bench: cannot open %s: %s\n", location.c_str(),
                 opened.status().reason());
    std::exit(1);
  }
  return std::move(opened).value();
}

Backend OpenSqlite(const std::filesystem::path& dir) {
  std::string path = (dir / "bench.db").string();
  auto store = OpenOrDie("sqlite:" + path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, kSeedSqlite, nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "store_bench: seeding sqlite: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
  sqlite3_close(db);
  return {"sqlite", std::move(store)};
}

// A fresh schema in the ALOFT_TEST_PG database, dropped at exit.
class PostgresSchema {
 public:
  explicit PostgresSchema(const std::string& conninfo)
      : conninfo_(conninfo), schema_("aloft_bench_" + std::to_string(getpid())) {
    admin_ = PQconnectdb(conninfo.c_str());
    PQsetNoticeProcessor(
        admin_, [](void*, const char*) {}, nullptr);
    Run("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
  }
  ~PostgresSchema() {
    Run("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    PQfinish(admin_);
  }
  std::string location() const { return conninfo_ + " options='-csearch_path=" + schema_ + "'"; }
  void Run(const std::string& sql) {
    PGresult* result = PQexec(admin_, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      std::fprintf(stderr, "store_bench: %s: %s\n", sql.c_str(), PQresultErrorMessage(result));
      std::exit(1);
    }
    PQclear(result);
  }
  void Seed() { Run("SET search_path TO " + schema_ + "; " + kSeedPostgres + "; ANALYZE devices"); }

 private:
  std::string conninfo_;
  std::string schema_;
  PGconn* admin_ = nullptr;
};

void BM_FindDeviceByTokenHash(benchmark::State& state, Store* store) {
  std::mt19937 random(1);
  std::vector<std::string> hashes;
  for (int i = 0; i < 1024; ++i) {
    hashes.push_back(TokenHash(static_cast<int>(random() % kDevices)));
  }
  size_t next = 0;
  for (auto _ : state) {
    auto device = store->FindDeviceByTokenHash(hashes[next++ % hashes.size()]);
    if (!device.ok()) {
      state.SkipWithError("lookup failed");
      return;
    }
    benchmark::DoNotOptimize(device->id.data());
  }
}

void BM_RecordCheckin(benchmark::State& state, Store* store) {
  int i = 0;
  for (auto _ : state) {
    Status status = store->RecordCheckin(
        {DeviceId(i % kDevices), "1.0." + std::to_string(i % 7), 1, {"beta"}, kT0 + i});
    if (!status.ok()) {
      state.SkipWithError("check-in failed");
      return;
    }
    ++i;
  }
}

// A batch of 100 check-ins in one transaction; reported per check-in.
void BM_RecordCheckinsBatch100(benchmark::State& state, Store* store) {
  int i = 0;
  std::vector<DeviceCheckin> batch(100);
  for (auto _ : state) {
    for (DeviceCheckin& checkin : batch) {
      checkin = {DeviceId(i % kDevices), "1.0.1", 1, {"beta"}, kT0 + i};
      ++i;
    }
    auto updated = store->RecordCheckins(batch);
    if (!updated.ok() || *updated != batch.size()) {
      state.SkipWithError("batch failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

void BM_RecordEvent(benchmark::State& state, Store* store) {
  static std::atomic<int64_t> sequence{0};
  for (auto _ : state) {
    int64_t n = sequence++;
    Event event;
    event.device_id = DeviceId(static_cast<int>(n % kDevices));
    event.event_id = "bench-" + std::to_string(n);
    event.state = UpdateState::kDownloading;
    event.received_at_ms = kT0 + n;
    auto outcome = store->RecordEvent(event);
    if (!outcome.ok()) {
      state.SkipWithError("event failed");
      return;
    }
  }
}

}  // namespace
}  // namespace aloft::server

int main(int argc, char** argv) {
  using namespace aloft::server;
  benchmark::Initialize(&argc, argv);
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("aloft-store-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  std::vector<Backend> backends;
  backends.push_back(OpenSqlite(dir));
  std::unique_ptr<PostgresSchema> schema;
  if (const char* conninfo = std::getenv("ALOFT_TEST_PG")) {
    schema = std::make_unique<PostgresSchema>(conninfo);
    auto store = OpenOrDie(schema->location());
    schema->Seed();
    backends.push_back({"postgres", std::move(store)});
  } else {
    std::fprintf(stderr, "store_bench: ALOFT_TEST_PG unset, PostgreSQL skipped\n");
  }
  for (Backend& backend : backends) {
    Store* store = backend.store.get();
    benchmark::RegisterBenchmark(("FindDeviceByTokenHash/" + backend.name).c_str(),
                                 BM_FindDeviceByTokenHash, store);
    benchmark::RegisterBenchmark(("FindDeviceByTokenHash/" + backend.name).c_str(),
                                 BM_FindDeviceByTokenHash, store)
        ->Threads(4)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("RecordCheckin/" + backend.name).c_str(), BM_RecordCheckin,
                                 store);
    benchmark::RegisterBenchmark(("RecordCheckinsBatch100/" + backend.name).c_str(),
                                 BM_RecordCheckinsBatch100, store);
    benchmark::RegisterBenchmark(("RecordEvent/" + backend.name).c_str(), BM_RecordEvent, store);
    benchmark::RegisterBenchmark(("RecordEvent/" + backend.name).c_str(), BM_RecordEvent, store)
        ->Threads(4)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  backends.clear();
  schema.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
