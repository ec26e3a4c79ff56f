#pragma once
// What every admin command that talks to aloftd shares: the `--server URL --ca CA.pem
// --token T` options, one HTTPS connection with the pinned CA (ports/host/https_client.h), and
// the JSON request/answer handling. Failures are printed here, once, in one line naming the
// server or the file ("aloft: https://h:8443: the server's certificate does not chain to
// CA.pem"; "aloft: POST /api/v1/rollouts: 404 release_not_found: no release with version 9"),
// so callers only return the exit code.

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ports/host/https_client.h"

namespace CLI {
class App;
}  // namespace CLI

namespace aloft::cli {

struct ServerOptions {
  std::string server;  // https://host:port
  std::string ca;      // path of the CA certificate to pin
  std::string token;   // admin token
};

// Adds the three options (all required) to `command`.
void AddServerOptions(CLI::App& command, ServerOptions& options);

// A client for the server, or nullopt after printing why (unreadable CA file, bad URL).
std::optional<host::HttpsClient> ConnectOrReport(const ServerOptions& options);

// Sends a JSON (or raw, with `content_type`) request and returns the answer's JSON when the
// status is 2xx; otherwise prints the failure (transport, or the server's error object) and
// returns nullopt.
std::optional<boost::json::value> CallOrReport(host::HttpsClient& client,
                                               const ServerOptions& options,
                                               std::string_view method, const std::string& path,
                                               std::string_view body = {},
                                               std::string_view content_type = "application/json");

// Percent-encodes a query or path value (RFC 3986 unreserved characters pass through).
std::string UrlEncode(std::string_view text);

}  // namespace aloft::cli
