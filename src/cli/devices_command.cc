// `aloft devices register|list|show`: the device registry on aloftd (docs/protocol.md §1 and
// "Devices"). `register` prints the device's token and freshness secret, which the server
// shows only once.

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/server_client.h"

namespace aloft::cli {
namespace {

std::string Text(const boost::json::value& value) {
  if (value.is_string()) {
    return std::string(value.get_string());
  }
  if (value.is_null()) {
    return "-";
  }
  if (value.is_double()) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", value.get_double());
    return text;
  }
  return boost::json::serialize(value);
}

std::string Tags(const boost::json::value& tags) {
  std::string text;
  for (const auto& tag : tags.as_array()) {
    text += (text.empty() ? "" : ",") + Text(tag);
  }
  return text.empty() ? "-" : text;
}

struct RegisterOptions {
  ServerOptions server;
  std::string id;
  std::string project;
  std::string chip;
  std::vector<std::string> tags;
  bool json = false;
};

int RunRegister(const RegisterOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  boost::json::object body{
      {"id", options.id}, {"project", options.project}, {"chip", options.chip}};
  boost::json::array tags;
  for (const std::string& tag : options.tags) {
    tags.emplace_back(tag);
  }
  body["tags"] = std::move(tags);
  std::optional<boost::json::value> device = CallOrReport(
      *client, options.server, "POST", "/api/v1/devices", boost::json::serialize(body));
  if (!device.has_value()) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*device);
    return kExitOk;
  }
  std::printf("device %s registered (%s, %s)\ntoken  %s\nsecret %s\n",
              Text(device->at("id")).c_str(), Text(device->at("project")).c_str(),
              Text(device->at("chip")).c_str(), Text(device->at("token")).c_str(),
              Text(device->at("secret")).c_str());
  std::printf("(the server keeps only the token's hash: store both on the device now)\n");
  return kExitOk;
}

struct ListOptions {
  ServerOptions server;
  std::string prefix;
  std::string version;
  std::string tag;
  std::string project;
  std::string after;
  int limit = 100;
  bool json = false;
};

int RunList(const ListOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  std::string query = "?limit=" + std::to_string(options.limit);
  const std::pair<const char*, const std::string*> filters[] = {{"prefix", &options.prefix},
                                                                {"version", &options.version},
                                                                {"tag", &options.tag},
                                                                {"project", &options.project},
                                                                {"after", &options.after}};
  for (const auto& [name, value] : filters) {
    if (!value->empty()) {
      query += std::string("&") + name + "=" + UrlEncode(*value);
    }
  }
  std::optional<boost::json::value> page =
      CallOrReport(*client, options.server, "GET", "/api/v1/devices" + query);
  if (!page.has_value()) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*page);
    return kExitOk;
  }
  std::printf("%-24s %-12s %-9s %-14s %-12s %s\n", "id", "project", "chip", "version", "last event",
              "tags");
  for (const auto& item : page->at("devices").as_array()) {
    std::printf("%-24s %-12s %-9s %-14s %-12s %s\n", Text(item.at("id")).c_str(),
                Text(item.at("project")).c_str(), Text(item.at("chip")).c_str(),
                Text(item.at("version")).c_str(), Text(item.at("last_event_state")).c_str(),
                Tags(item.at("tags")).c_str());
  }
  const std::string next = Text(page->at("next_after"));
  if (!next.empty()) {
    std::printf("(more: --after %s)\n", next.c_str());
  }
  return kExitOk;
}

struct ShowOptions {
  ServerOptions server;
  std::string id;
  int events = 20;
  bool json = false;
};

int RunShow(const ShowOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  std::optional<boost::json::value> device = CallOrReport(
      *client, options.server, "GET",
      "/api/v1/devices/" + UrlEncode(options.id) + "?events=" + std::to_string(options.events));
  if (!device.has_value()) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*device);
    return kExitOk;
  }
  const boost::json::value& d = *device;
  std::printf("device %s: %s on %s, version %s (secure_version %s), tags %s\n",
              Text(d.at("id")).c_str(), Text(d.at("project")).c_str(), Text(d.at("chip")).c_str(),
              Text(d.at("version")).c_str(), Text(d.at("secure_version")).c_str(),
              Tags(d.at("tags")).c_str());
  std::printf("  last check-in %s ms, last event %s at %s ms\n",
              Text(d.at("last_checkin_at_ms")).c_str(), Text(d.at("last_event_state")).c_str(),
              Text(d.at("last_event_at_ms")).c_str());
  for (const auto& event : d.at("events").as_array()) {
    std::printf("  %-14s %-12s rollout %-4s version %-12s %s\n",
                Text(event.at("received_at_ms")).c_str(), Text(event.at("state")).c_str(),
                Text(event.at("rollout_id")).c_str(), Text(event.at("version")).c_str(),
                Text(event.at("reason")).c_str());
  }
  return kExitOk;
}

}  // namespace

void AddDevicesCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("devices", "The device registry on aloftd");
  group->require_subcommand(1);

  auto reg = std::make_shared<RegisterOptions>();
  CLI::App* reg_cmd = group->add_subcommand(
      "register", "Register a device; prints its token and freshness secret (shown once)");
  AddServerOptions(*reg_cmd, reg->server);
  reg_cmd->add_option("--id", reg->id, "Device id (A-Z a-z 0-9 . _ -, up to 64)")->required();
  reg_cmd->add_option("--project", reg->project, "The firmware project it runs")->required();
  reg_cmd->add_option("--chip", reg->chip, "Its chip (esp32, esp32c3, ...)")->required();
  reg_cmd->add_option("--tag", reg->tags, "A tag (repeatable)")->allow_extra_args(false);
  reg_cmd->add_flag("--json", reg->json, "Print JSON");
  reg_cmd->callback([reg, &result] { result.exit_code = RunRegister(*reg); });

  auto list = std::make_shared<ListOptions>();
  CLI::App* list_cmd = group->add_subcommand("list", "Devices, one page at a time, by id");
  AddServerOptions(*list_cmd, list->server);
  list_cmd->add_option("--prefix", list->prefix, "Only ids starting with this");
  list_cmd->add_option("--version", list->version, "Only devices running this version");
  list_cmd->add_option("--tag", list->tag, "Only devices with this tag");
  list_cmd->add_option("--project", list->project, "Only devices of this project");
  list_cmd->add_option("--after", list->after, "Start after this id (paging)");
  list_cmd->add_option("--limit", list->limit, "Devices per page (1-1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  list_cmd->add_flag("--json", list->json, "Print JSON");
  list_cmd->callback([list, &result] { result.exit_code = RunList(*list); });

  auto show = std::make_shared<ShowOptions>();
  CLI::App* show_cmd = group->add_subcommand("show", "One device with its recent events");
  AddServerOptions(*show_cmd, show->server);
  show_cmd->add_option("id", show->id, "Device id")->required();
  show_cmd->add_option("--events", show->events, "How many recent events (1-1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  show_cmd->add_flag("--json", show->json, "Print JSON");
  show_cmd->callback([show, &result] { result.exit_code = RunShow(*show); });
}

}  // namespace aloft::cli
