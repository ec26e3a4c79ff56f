#pragma once
// FaultProxy: a TCP proxy on loopback that sits between emulated devices and the update server
// and breaks connections on purpose, as a flaky cellular or Wi-Fi link would. It forwards bytes
// both ways untouched (TLS runs end to end through it: it sees only ciphertext) and, per
// connection, with the probabilities of a FaultSpec, injects one fault into the server's answer
// stream at a byte offset drawn log-uniformly from [min_fault_offset, max_fault_offset], so
// short answers (check-ins) and long ones (downloads) are both hit, early and late:
//
//   reset     the bytes before the offset are delivered, then both sides get a TCP reset
//   stall     the bytes before the offset are delivered, then nothing more for `stall` (the
//             device's stall timeout fires first), then a reset
//   truncate  the bytes before the offset are delivered, then a clean close (FIN): a body cut
//             short, or a TLS stream without its close_notify
//   corrupt   the byte at the offset is flipped and the stream goes on: TLS's record MAC fails,
//             so the device sees a broken connection, never a corrupted byte
//
// An answer shorter than its fault's offset escapes it (stats() counts faults actually
// injected). Devices that open one connection per request (CurlTransport with
// reuse_connection = false) therefore see each fault with its probability per request at most.
//
// Threads: one accept thread and one thread per connection (blocking sockets and poll); Stop()
// wakes and joins them all. Every method is thread-safe.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace aloft::emulator {

enum class FaultKind : uint8_t { kNone, kReset, kStall, kTruncate, kCorrupt };
inline constexpr size_t kFaultKindCount = 5;
// "none", "reset", "stall", "truncate", "corrupt".
const char* FaultKindName(FaultKind kind);

// Probability per connection of each fault; at most one fault per connection.
struct FaultSpec {
  double reset = 0;
  double stall = 0;
  double truncate = 0;
  double corrupt = 0;

  bool any() const { return reset + stall + truncate + corrupt > 0; }
};

// Parses "reset=0.01,stall=0.005,truncate=0.01,corrupt=0.01" (any subset, any order; "" or
// "none": no faults). kInvalidArgument "faults: expected KIND=PROBABILITY", "faults: unknown
// kind (reset, stall, truncate, corrupt)", "faults: kind given twice", "faults: probability is
// not a number in [0, 1]", "faults: probabilities add up to more than 1".
Result<FaultSpec> ParseFaultSpec(std::string_view text);
// The spec as ParseFaultSpec reads it ("reset=0.01,stall=0,...").
std::string FormatFaultSpec(const FaultSpec& spec);

// A fault chosen in advance (tests): for the next connection, `kind` at byte `at_byte` of the
// server's answer stream.
struct ScriptedFault {
  FaultKind kind = FaultKind::kNone;
  uint64_t at_byte = 0;
};

struct FaultProxyOptions {
  std::string upstream_address = "127.0.0.1";  // IPv4 literal
  uint16_t upstream_port = 0;
  FaultSpec faults;
  uint64_t seed = 1;
  uint64_t min_fault_offset = 64;
  uint64_t max_fault_offset = 4 << 20;
  std::chrono::milliseconds stall{30'000};
};

struct FaultProxyStats {
  uint64_t connections = 0;
  uint64_t bytes_to_server = 0;  // forwarded from devices
  uint64_t bytes_to_client = 0;  // forwarded from the server (TLS records, handshakes included)
  std::array<uint64_t, kFaultKindCount> injected{};  // by FaultKind

  uint64_t faults() const { return injected[1] + injected[2] + injected[3] + injected[4]; }
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port) and starts the accept thread.
  // kUnavailable "proxy: cannot listen" (context: errno); kInvalidArgument "proxy: bad upstream
  // address".
  static Result<std::unique_ptr<FaultProxy>> Start(FaultProxyOptions options);
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  ~FaultProxy();  // Stop()

  uint16_t port() const;
  // Faults for the next connections, in order, instead of the random draw (tests).
  void Script(std::vector<ScriptedFault> next);
  FaultProxyStats stats() const;
  // Closes the listener and every connection, joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aloft::emulator
