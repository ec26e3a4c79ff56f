#pragma once
// Fleet: many emulated ESP32s in one process against a real update server, for `aloft fleet
// sim`, the fleet test and the fleet benchmark. Each device is a DeviceRuntime (the core boot
// logic and the real agent) over its own PooledFlash (so a thousand 4 MiB chips share the
// firmware's sectors), a MemoryKeyValue and a CurlTransport that pins the server's CA and
// opens one connection per request (a device that sleeps between requests), optionally through
// a FaultProxy that resets, stalls, truncates and corrupts a share of those connections.
//
// Prepare does what a factory does before devices ship, through the admin API with the admin
// token: it finds the published release `initial_version` (its project and chip become the
// fleet's), downloads its artifact, reads the project's release keys (the devices trust those
// digests, for manifests and Secure Boot), writes a flash image — partition table
// (kFleetPartitionCsv), blank otadata, the release in ota_0 — and registers each device
// (POST /api/v1/devices), keeping its token and freshness secret. Run then lets the devices
// live in real time on `concurrency` worker threads (each device belongs to one worker), until
// `until_idle` finds nothing left to do, the timeout passes or the caller stops it.
//
// Threads: Prepare and Run are called from one thread; Run's progress callback is called on
// that thread. Host only (heap, threads).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "emulator/fault_proxy.h"

namespace aloft::emulator {

// The fleet's partition table: two 1984 KiB OTA slots in 4 MiB (room for a 1.5 MiB image and
// its signature sector).
inline constexpr std::string_view kFleetPartitionCsv =
    "# Name, Type, SubType, Offset, Size\n"
    "nvs, data, nvs, , 0x4000\n"
    "otadata, data, ota, , 0x2000\n"
    "phy_init, data, phy, , 0x1000\n"
    "app0, app, ota_0, , 0x1F0000\n"
    "app1, app, ota_1, , 0x1F0000\n";
inline constexpr uint32_t kFleetFlashSize = 4 << 20;

struct FleetOptions {
  std::string server_url;  // https://HOST:PORT
  std::string ca_pem;      // the CA the devices pin (PEM text)
  std::string admin_token;
  uint32_t devices = 100;
  std::string initial_version;
  std::string project;  // optional: which release, when several have initial_version
  std::string chip;
  uint32_t concurrency = 16;  // worker threads (devices talking to the server at once)
  FaultSpec faults;
  bool always_proxy = false;  // route through the proxy even without faults (it counts bytes)
  uint64_t seed = 1;
  std::string id_prefix = "sim";  // devices are PREFIX-0001, PREFIX-0002, ...
  bool until_idle = false;
  uint32_t timeout_ms = 0;  // 0: no limit
  // The devices' schedule and timeouts (short: a simulation has no time to lose).
  uint32_t check_interval_ms = 5000;  // plus up to 20% jitter; also the startup spread
  uint32_t request_timeout_ms = 15000;
  uint32_t download_stall_ms = 3000;  // a download silent this long is dropped
  uint32_t proxy_stall_ms = 2000;     // a stalled connection is reset after this
};

// A snapshot while running.
struct FleetProgress {
  uint32_t devices = 0;
  uint32_t settled = 0;      // nothing left to do (up to date, or nothing offered)
  uint32_t downloading = 0;  // devices in the downloading phase
  uint32_t updated = 0;
  uint32_t rolled_back = 0;
  uint32_t failed = 0;
  uint32_t bricked = 0;
  uint64_t checkins = 0;
  uint64_t bytes_downloaded = 0;
  uint64_t faults = 0;  // injected by the proxy
  double elapsed_s = 0;
};

struct FleetSummary {
  uint32_t devices = 0;
  std::map<std::string, uint32_t> versions;  // version -> devices running it at the end
  uint32_t updated = 0;                      // devices that confirmed at least one update
  uint32_t rolled_back = 0;                  // devices that rolled an update back at least once
  uint32_t failed = 0;                       // devices that refused a release or could not go on
  uint32_t bricked = 0;                      // devices with no bootable image
  uint32_t refused = 0;                      // devices that refused a check-in answer at least once
  uint64_t bytes_downloaded = 0;             // firmware bytes the agents received
  double duration_s = 0;
  double p50_update_s = 0;  // from the offer to the confirmation, over confirmed updates
  double p99_update_s = 0;
  bool idle = false;  // every device had nothing left to do when the run stopped
  uint64_t checkins = 0;
  std::string initial_version;
  std::string project;
  std::string chip;
  uint32_t image_size = 0;  // the initial release's artifact
  std::optional<FaultProxyStats> proxy;
  uint64_t agent_bytes = 0;     // sizeof(agent::Agent): the agent's whole RAM, static
  uint64_t peak_rss_bytes = 0;  // of this process
};

struct SimDevice;  // fleet.cc

class Fleet {
 public:
  // Everything before the devices start (above). On failure `error` (never null) holds one
  // line naming the request or the input and what went wrong; the Status is kInvalidArgument
  // "fleet: bad options", kNotFound "fleet: no such release", kFailedPrecondition "fleet: the
  // server refused", kUnavailable "fleet: server unreachable" or kInternal.
  static Result<std::unique_ptr<Fleet>> Prepare(const FleetOptions& options, std::string* error);
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;
  ~Fleet();

  // Runs the devices until idle (with until_idle), the timeout, or `stop`; calls `progress`
  // about four times a second. Callable once.
  FleetSummary Run(const std::atomic<bool>& stop,
                   const std::function<void(const FleetProgress&)>& progress = {});

  // The registered device ids, in order.
  std::vector<std::string> device_ids() const;

 private:
  friend struct SimDevice;
  struct State;
  explicit Fleet(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Parses "https://HOST:PORT" (PORT defaults to 443). nullopt if it is not that.
struct ServerAddress {
  std::string host;
  uint16_t port = 443;
};
std::optional<ServerAddress> ParseServerUrl(std::string_view url);

// The p-quantile (0..1) of `values` by the nearest-rank method; 0 when empty.
double Quantile(std::vector<double> values, double p);

}  // namespace aloft::emulator
