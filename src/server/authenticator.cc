#include "server/authenticator.h"

#include <mutex>

#include "core/constant_time.h"
#include "server/store/records.h"

namespace aloft::server {
namespace {

ApiError Unauthorized(std::string code, std::string message) {
  return ApiError{401, std::move(code), std::move(message)};
}

}  // namespace

Authenticator::Authenticator(Store& store, const MasterKey& master_key,
                             AuthenticatorOptions options)
    : store_(store), master_key_(master_key), options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = [] { return std::chrono::steady_clock::now(); };
  }
}

DeviceSecret Authenticator::SecretOf(std::string_view device_id) const {
  return DeriveDeviceSecret(master_key_, device_id);
}

template <typename Cache>
ApiResult<Caller> Authenticator::Lookup(Cache& cache, const typename Cache::key_type& key,
                                        const std::function<ApiResult<Caller>()>& load) {
  const auto now = options_.clock();
  {
    std::shared_lock lock(mutex_);
    auto it = cache.find(key);
    if (it != cache.end() && it->second.expires > now) {
      return it->second.caller;
    }
  }
  ApiResult<Caller> loaded = load();
  if (!loaded.ok()) {
    return loaded;
  }
  std::unique_lock lock(mutex_);
  if (token_cache_.size() + certificate_cache_.size() >= options_.max_cached) {
    token_cache_.clear();
    certificate_cache_.clear();
  }
  cache[key] = Entry{loaded.value(), now + options_.cache_ttl};
  return loaded;
}

ApiResult<Caller> Authenticator::Authenticate(const HttpRequest& request) {
  if (const std::string* authorization = request.Header("Authorization")) {
    const std::optional<std::string_view> token = ParseBearerToken(*authorization);
    if (!token.has_value()) {
      return Unauthorized("invalid_token", "the Authorization field must be 'Bearer <token>'");
    }
    if (!IsWellFormedToken(*token)) {
      return Unauthorized("invalid_token", "the bearer token is not a valid token");
    }
    const TokenDigest digest = Sha256Digest(AsBytes(*token));
    return Lookup(token_cache_, digest, [&]() -> ApiResult<Caller> {
      const std::string hash = HexEncode(digest);  // as the store keeps it (TokenHash)
      Result<Device> device = store_.FindDeviceByTokenHash(hash);
      // The store found the row by this hash; comparing again in constant time costs nothing
      // and does not depend on how the database compares.
      if (device.ok() && ConstantTimeEqual(AsBytes(device->token_hash), AsBytes(hash))) {
        return Caller{Caller::Role::kDevice, device->id, SecretOf(device->id)};
      }
      if (!device.ok() && device.status().code() != Status::Code::kNotFound) {
        return StatusToApiError(device.status());
      }
      Result<AdminToken> admin = store_.FindAdminTokenByHash(hash);
      if (admin.ok() && ConstantTimeEqual(AsBytes(admin->token_hash), AsBytes(hash))) {
        return Caller{Caller::Role::kAdmin, admin->name, {}};
      }
      if (!admin.ok() && admin.status().code() != Status::Code::kNotFound) {
        return StatusToApiError(admin.status());
      }
      return Unauthorized("invalid_token", "the bearer token is not known to this server");
    });
  }
  if (request.client_cn.has_value()) {
    const std::string& device_id = *request.client_cn;
    if (!IsValidDeviceId(device_id)) {
      return Unauthorized("unknown_device", "the client certificate's CN is not a device id");
    }
    return Lookup(certificate_cache_, device_id, [&]() -> ApiResult<Caller> {
      Result<Device> device = store_.GetDevice(device_id);
      if (device.ok()) {
        return Caller{Caller::Role::kDevice, device->id, SecretOf(device->id)};
      }
      if (device.status().code() != Status::Code::kNotFound) {
        return StatusToApiError(device.status());
      }
      return Unauthorized("unknown_device",
                          "the client certificate names a device that is not registered");
    });
  }
  return Unauthorized(
      "unauthenticated",
      "this endpoint needs 'Authorization: Bearer <token>' or a device certificate");
}

ApiResult<Caller> Authenticator::RequireAdmin(const HttpRequest& request) {
  ApiResult<Caller> caller = Authenticate(request);
  if (caller.ok() && caller->role != Caller::Role::kAdmin) {
    return ApiError{403, "admin_only", "this endpoint needs an admin token"};
  }
  return caller;
}

ApiResult<Caller> Authenticator::RequireDevice(const HttpRequest& request) {
  ApiResult<Caller> caller = Authenticate(request);
  if (caller.ok() && caller->role != Caller::Role::kDevice) {
    return ApiError{403, "device_only", "admins cannot act as a device"};
  }
  return caller;
}

}  // namespace aloft::server
