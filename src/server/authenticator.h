#pragma once
// Authenticator: who is calling. Admins present "Authorization: Bearer <admin token>"; devices
// present their own bearer token or a client certificate (verified by the TLS layer against
// the server CA) whose CN is their device id. Tokens are looked up by their SHA-256 (the store
// keeps nothing else), through a small cache with a TTL, so a check-in costs a hash and a map
// lookup instead of a database query. A device's freshness secret is derived once per cache
// entry. Roles never mix: a device token cannot call an admin endpoint, and an admin token
// cannot act as a device (403).
//
// Thread-safe: Authenticate may be called from every handler thread at once.

#include <array>
#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>

#include "server/api_error.h"
#include "server/credentials.h"
#include "server/http/http_types.h"
#include "server/store/store.h"

namespace aloft::server {

// The authenticated caller of one request.
struct Caller {
  enum class Role : uint8_t { kAdmin, kDevice };
  Role role = Role::kDevice;
  std::string name;       // the device id, or the admin token's name
  DeviceSecret secret{};  // devices only: the key of their freshness MACs
};

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

struct AuthenticatorOptions {
  std::chrono::milliseconds cache_ttl{30'000};  // how long a looked-up credential is trusted
  size_t max_cached = 200'000;                  // the cache is emptied when it grows past this
  SteadyClock clock;                            // default: std::chrono::steady_clock::now
};

class Authenticator {
 public:
  Authenticator(Store& store, const MasterKey& master_key, AuthenticatorOptions options = {});

  // The caller, from the bearer token if there is an Authorization field, else from the client
  // certificate. 401 "unauthenticated" (no credentials), "invalid_token" (malformed or unknown
  // token), "unknown_device" (a certificate for an unregistered device); 503 if the store
  // cannot be asked.
  ApiResult<Caller> Authenticate(const HttpRequest& request);
  // Authenticate, then 403 "admin_only" for a device.
  ApiResult<Caller> RequireAdmin(const HttpRequest& request);
  // Authenticate, then 403 "device_only" for an admin ("admins cannot act as a device").
  ApiResult<Caller> RequireDevice(const HttpRequest& request);

  // The freshness secret of any device id (the same derivation as for authenticated devices).
  DeviceSecret SecretOf(std::string_view device_id) const;

 private:
  struct Entry {
    Caller caller;
    std::chrono::steady_clock::time_point expires;
  };

  using TokenDigest = std::array<std::byte, 32>;
  // A token's SHA-256 is uniformly distributed: its first bytes are a good enough hash.
  struct TokenDigestHash {
    using is_avalanching = void;  // tells the flat map not to mix it again
    size_t operator()(const TokenDigest& digest) const {
      size_t hash = 0;
      std::memcpy(&hash, digest.data(), sizeof(hash));
      return hash;
    }
  };

  template <typename Cache>
  ApiResult<Caller> Lookup(Cache& cache, const typename Cache::key_type& key,
                           const std::function<ApiResult<Caller>()>& load);

  Store& store_;
  MasterKey master_key_;
  AuthenticatorOptions options_;
  std::shared_mutex mutex_;
  // Keyed by the binary digest rather than its hex: no string to build or hash per request.
  // Open addressing (entries inline, no node per entry): a lookup in a cache of the whole fleet
  // touches fewer cache lines.
  boost::unordered_flat_map<TokenDigest, Entry, TokenDigestHash> token_cache_;
  boost::unordered_flat_map<std::string, Entry, boost::hash<std::string>> certificate_cache_;
};

}  // namespace aloft::server
