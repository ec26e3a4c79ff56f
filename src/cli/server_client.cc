#include "cli/server_client.h"

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/command.h"

namespace aloft::cli {

void AddServerOptions(CLI::App& command, ServerOptions& options) {
  command.add_option("--server", options.server, "Server URL (https://host:port)")->required();
  command.add_option("--ca", options.ca, "CA certificate to pin (DATA/ca.pem)")->required();
  command.add_option("--token", options.token, "Admin token (DATA/admin.token)")->required();
}

std::optional<host::HttpsClient> ConnectOrReport(const ServerOptions& options) {
  std::ifstream file(options.ca, std::ios::binary);
  if (!file) {
    ReportError("cannot read " + options.ca);
    return std::nullopt;
  }
  std::ostringstream ca;
  ca << file.rdbuf();
  host::HttpsClientOptions client;
  client.base_url = options.server;
  client.ca_pem = ca.str();
  client.bearer_token = options.token;
  // A token file may end with a newline.
  while (!client.bearer_token.empty() &&
         (client.bearer_token.back() == '\n' || client.bearer_token.back() == '\r')) {
    client.bearer_token.pop_back();
  }
  Result<host::HttpsClient> created = host::HttpsClient::Create(std::move(client));
  if (!created.ok()) {
    const bool bad_url =
        std::string_view(created.status().reason()).find("url") != std::string_view::npos;
    ReportError((bad_url ? "--server " + options.server : options.ca) + ": " +
                created.status().reason());
    return std::nullopt;
  }
  return std::move(created).value();
}

std::optional<boost::json::value> CallOrReport(host::HttpsClient& client,
                                               const ServerOptions& options,
                                               std::string_view method, const std::string& path,
                                               std::string_view body,
                                               std::string_view content_type) {
  std::vector<std::string> headers;
  if (!body.empty()) {
    headers.push_back("Content-Type: " + std::string(content_type));
  }
  Result<host::HttpsReply> reply = client.Send(method, path, body, headers);
  if (!reply.ok()) {
    if (std::string_view(reply.status().reason()).find("does not chain") !=
        std::string_view::npos) {
      ReportError(options.server + ": the server's certificate does not chain to " + options.ca);
    } else {
      ReportError(options.server + ": " + reply.status().reason() + " (" + client.last_error() +
                  ")");
    }
    return std::nullopt;
  }
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(reply->body, ec);
  if (reply->status / 100 != 2) {
    std::string message = reply->body;
    if (!ec && json.is_object() && json.as_object().contains("error") &&
        json.at("error").is_object()) {
      const boost::json::object& error = json.at("error").as_object();
      const boost::json::value* code = error.if_contains("code");
      const boost::json::value* text = error.if_contains("message");
      message = std::string(code && code->is_string() ? code->get_string() : "") + ": " +
                std::string(text && text->is_string() ? text->get_string() : "");
    }
    ReportError(std::string(method) + " " + path + ": " + std::to_string(reply->status) + " " +
                message);
    return std::nullopt;
  }
  if (ec) {
    ReportError(std::string(method) + " " + path + ": the server's answer is not JSON");
    return std::nullopt;
  }
  return json;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

}  // namespace aloft::cli
