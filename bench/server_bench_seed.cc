// server_bench_seed: registers N devices straight into an aloftd database (through the Store,
// as the API would, minus HTTPS), with fresh random tokens, and writes "ID TOKEN" lines for the
// benchmark's wrk script (bench/server_vs_nginx.sh). Registering 10,000 devices over the API
// costs one fsynced commit each; this does the same commits, faster on a tmpfs data dir.
//
//   server_bench_seed --db LOCATION --devices N --project P --chip C --tokens OUT [--prefix bench-]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/credentials.h"
#include "server/store/store.h"

int main(int argc, char** argv) {
  std::string db;
  std::string project;
  std::string chip;
  std::string tokens_path;
  std::string prefix = "bench-";
  long devices = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--db") {
      db = value;
    } else if (flag == "--devices") {
      devices = std::atol(value);
    } else if (flag == "--project") {
      project = value;
    } else if (flag == "--chip") {
      chip = value;
    } else if (flag == "--tokens") {
      tokens_path = value;
    } else if (flag == "--prefix") {
      prefix = value;
    }
  }
  if (db.empty() || project.empty() || chip.empty() || tokens_path.empty() || devices <= 0) {
    std::fprintf(stderr,
                 "usage: server_bench_seed --db LOCATION --devices N --project P --chip C "
                 "--tokens OUT [--prefix P]\n");
    return 2;
  }
  auto store = aloft::server::OpenStore(db);
  if (!store.ok()) {
    std::fprintf(stderr, "server_bench_seed: cannot open %s: %s\n", db.c_str(),
                 store.status().reason());
    return 1;
  }
  FILE* out = std::fopen(tokens_path.c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "server_bench_seed: cannot write %s\n", tokens_path.c_str());
    return 1;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (long i = 0; i < devices; ++i) {
    char id[64];
    std::snprintf(id, sizeof(id), "%s%05ld", prefix.c_str(), i);
    const std::string token = aloft::server::GenerateToken().value();
    aloft::server::Device device;
    device.id = id;
    device.token_hash = aloft::server::TokenHash(token);
    device.project = project;
    device.chip = chip;
    device.current_version = "1.0.0";
    device.secure_version = 1;
    device.created_at_ms = now;
    const aloft::Status registered = (*store)->RegisterDevice(device);
    if (!registered.ok()) {
      std::fprintf(stderr, "server_bench_seed: %s: %s\n", id, registered.reason());
      return 1;
    }
    std::fprintf(out, "%s %s\n", id, token.c_str());
  }
  std::fclose(out);
  std::printf("registered %ld devices\n", devices);
  return 0;
}
