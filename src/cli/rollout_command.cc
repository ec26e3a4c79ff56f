// `aloft rollout start|pause|resume|set-percent|status|list`: staged rollouts on aloftd
// (docs/protocol.md "Rollouts"). A rollout is named by its release (--release VERSION|ID, with
// --project/--chip when a version is ambiguous; the release's newest rollout) or by --rollout ID.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/server_client.h"

namespace aloft::cli {
namespace {

struct Target {
  std::string release;
  std::string project;
  std::string chip;
  int64_t rollout_id = 0;
};

void AddTargetOptions(CLI::App& command, Target& target) {
  command.add_option("--release", target.release, "Release version or id");
  command.add_option("--project", target.project, "Project, when a version is ambiguous");
  command.add_option("--chip", target.chip, "Chip, when a version is ambiguous");
  command.add_option("--rollout", target.rollout_id, "Rollout id (instead of --release)");
}

std::string ReleaseQuery(const Target& target) {
  std::string query = "?release=" + UrlEncode(target.release);
  if (!target.project.empty()) {
    query += "&project=" + UrlEncode(target.project);
  }
  if (!target.chip.empty()) {
    query += "&chip=" + UrlEncode(target.chip);
  }
  return query;
}

// The rollout id the target names, or nullopt after printing why; `exit_code` then says
// whether that was a usage error (no rollout named) or a failure.
std::optional<int64_t> ResolveRollout(host::HttpsClient& client, const ServerOptions& server,
                                      const Target& target, int& exit_code) {
  exit_code = kExitFailure;
  if (target.rollout_id > 0) {
    return target.rollout_id;
  }
  if (target.release.empty()) {
    exit_code = ReportError("name the rollout with --release VERSION|ID or --rollout ID", kExitUsage);
    return std::nullopt;
  }
  std::optional<boost::json::value> list =
      CallOrReport(client, server, "GET", "/api/v1/rollouts" + ReleaseQuery(target));
  if (!list.has_value()) {
    return std::nullopt;
  }
  const boost::json::array& rollouts = list->at("rollouts").as_array();
  if (rollouts.empty()) {
    ReportError("release " + target.release +
                " has no rollout (start one with `aloft rollout start`)");
    return std::nullopt;
  }
  return rollouts.front().at("id").as_int64();  // newest first
}

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

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", fraction * 100);
  return text;
}

void PrintStatus(const boost::json::object& rollout) {
  const boost::json::object& release = rollout.at("release").as_object();
  std::printf("rollout %s: %s %s for %s, %s%% of devices: %s\n", Text(rollout.at("id")).c_str(),
              Text(release.at("project")).c_str(), Text(release.at("version")).c_str(),
              Text(release.at("chip")).c_str(), Text(rollout.at("percent")).c_str(),
              Text(rollout.at("state")).c_str());
  if (rollout.at("halted").as_bool()) {
    std::printf("  %s\n", Text(rollout.at("reason")).c_str());  // "halted: 3 of 12 ..."
  } else if (!rollout.at("reason").get_string().empty()) {
    std::printf("  reason: %s\n", Text(rollout.at("reason")).c_str());
  }
  std::string counts;
  for (const auto& entry : rollout.at("counts").as_object()) {
    counts += (counts.empty() ? "" : ", ") + std::string(entry.key()) + " " + Text(entry.value());
  }
  std::printf("  devices %s: %s\n", Text(rollout.at("devices")).c_str(), counts.c_str());
  std::printf("  failures %s of %s finished (%s); halts above %s once %s have finished\n",
              Text(rollout.at("failures")).c_str(), Text(rollout.at("finished")).c_str(),
              Percent(rollout.at("failure_rate").to_number<double>()).c_str(),
              Percent(rollout.at("halt_failure_rate").to_number<double>()).c_str(),
              Text(rollout.at("min_sample")).c_str());
  std::string tags;
  for (const auto& tag : rollout.at("tags").as_array()) {
    tags += (tags.empty() ? "" : ",") + Text(tag);
  }
  std::printf("  tags %s, min_version %s\n", tags.empty() ? "-" : tags.c_str(),
              Text(rollout.at("min_version")).c_str());
  std::string history;
  for (const auto& change : rollout.at("percent_history").as_array()) {
    history += (history.empty() ? "" : " -> ") + Text(change.at("percent")) + "%";
  }
  std::printf("  percent history: %s\n", history.c_str());
}

// A rollout as the server answered it: its JSON with --json, else the summary above.
void PrintRollout(const boost::json::value& rollout, bool json) {
  if (json) {
    PrintJson(rollout);
  } else {
    PrintStatus(rollout.as_object());
  }
}

struct StartOptions {
  ServerOptions server;
  Target target;
  double percent = -1;
  std::vector<std::string> tags;
  std::string min_version;
  double halt_failure_rate = -1;
  int64_t min_sample = 0;
  bool json = false;
};

int RunStart(const StartOptions& options) {
  if (options.target.release.empty()) {
    return ReportError("rollout start: --release VERSION|ID is required", kExitUsage);
  }
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  boost::json::object body;
  const bool numeric = options.target.release.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) {
    int64_t id = 0;
    std::from_chars(
        options.target.release.data(),
        options.target.release.data() + std::min<size_t>(options.target.release.size(), 18), id);
    body["release"] = id;
  } else {
    body["release"] = options.target.release;
  }
  if (!options.target.project.empty()) {
    body["project"] = options.target.project;
  }
  if (!options.target.chip.empty()) {
    body["chip"] = options.target.chip;
  }
  body["percent"] = options.percent;
  if (!options.tags.empty()) {
    boost::json::array tags;
    for (const std::string& tag : options.tags) {
      tags.emplace_back(tag);
    }
    body["tags"] = std::move(tags);
  }
  if (!options.min_version.empty()) {
    body["min_version"] = options.min_version;
  }
  if (options.halt_failure_rate >= 0) {
    body["halt_failure_rate"] = options.halt_failure_rate;
  }
  if (options.min_sample > 0) {
    body["min_sample"] = options.min_sample;
  }
  std::optional<boost::json::value> rollout = CallOrReport(
      *client, options.server, "POST", "/api/v1/rollouts", boost::json::serialize(body));
  if (!rollout.has_value()) {
    return kExitFailure;
  }
  PrintRollout(*rollout, options.json);
  return kExitOk;
}

struct ChangeOptions {
  ServerOptions server;
  Target target;
  std::string action;  // pause, resume, percent
  double percent = -1;
  std::string reason;
  bool json = false;
};

int RunChange(const ChangeOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  int exit_code = kExitFailure;
  const std::optional<int64_t> id =
      ResolveRollout(*client, options.server, options.target, exit_code);
  if (!id.has_value()) {
    return exit_code;
  }
  boost::json::object body;
  if (options.action == "percent") {
    body["percent"] = options.percent;
  } else if (!options.reason.empty()) {
    body["reason"] = options.reason;
  }
  std::optional<boost::json::value> rollout =
      CallOrReport(*client, options.server, "POST",
                   "/api/v1/rollouts/" + std::to_string(*id) + "/" + options.action,
                   body.empty() ? std::string() : boost::json::serialize(body));
  if (!rollout.has_value()) {
    return kExitFailure;
  }
  PrintRollout(*rollout, options.json);
  return kExitOk;
}

struct StatusOptions {
  ServerOptions server;
  Target target;
  bool json = false;
};

int RunStatus(const StatusOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  int exit_code = kExitFailure;
  const std::optional<int64_t> id =
      ResolveRollout(*client, options.server, options.target, exit_code);
  if (!id.has_value()) {
    return exit_code;
  }
  std::optional<boost::json::value> rollout =
      CallOrReport(*client, options.server, "GET", "/api/v1/rollouts/" + std::to_string(*id));
  if (!rollout.has_value()) {
    return kExitFailure;
  }
  PrintRollout(*rollout, options.json);
  return kExitOk;
}

struct ListOptions {
  ServerOptions server;
  std::string state;
  bool json = false;
};

int RunList(const ListOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  const std::string query = options.state.empty() ? "" : "?state=" + UrlEncode(options.state);
  std::optional<boost::json::value> list =
      CallOrReport(*client, options.server, "GET", "/api/v1/rollouts" + query);
  if (!list.has_value()) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*list);
    return kExitOk;
  }
  std::printf("%-6s %-10s %-12s %-9s %-8s %s\n", "id", "state", "release", "chip", "percent",
              "devices (confirmed/failed)");
  for (const auto& item : list->at("rollouts").as_array()) {
    const boost::json::object& rollout = item.as_object();
    const boost::json::object& release = rollout.at("release").as_object();
    const boost::json::object& counts = rollout.at("counts").as_object();
    std::printf("%-6s %-10s %-12s %-9s %-8s %s (%s/%s)\n", Text(rollout.at("id")).c_str(),
                Text(rollout.at("state")).c_str(), Text(release.at("version")).c_str(),
                Text(release.at("chip")).c_str(), Text(rollout.at("percent")).c_str(),
                Text(rollout.at("devices")).c_str(), Text(counts.at("confirmed")).c_str(),
                Text(counts.at("failed")).c_str());
  }
  return kExitOk;
}

}  // namespace

void AddRolloutCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("rollout", "Staged rollouts on aloftd");
  group->require_subcommand(1);

  auto start = std::make_shared<StartOptions>();
  CLI::App* start_cmd = group->add_subcommand(
      "start", "Start a rollout of a release to a percentage of matching devices");
  AddServerOptions(*start_cmd, start->server);
  start_cmd->add_option("--release", start->target.release, "Release version or id")->required();
  start_cmd->add_option("--project", start->target.project, "Project, if the version is ambiguous");
  start_cmd->add_option("--chip", start->target.chip, "Chip, if the version is ambiguous");
  start_cmd->add_option("--percent", start->percent, "Percentage of devices (0-100, 2 decimals)")
      ->required()
      ->check(CLI::Range(0.0, 100.0));
  start_cmd->add_option("--tag", start->tags, "Devices must have this tag (repeatable)")
      ->allow_extra_args(false);
  start_cmd->add_option("--min-version", start->min_version,
                        "Devices must run at least this version");
  start_cmd
      ->add_option("--halt-failure-rate", start->halt_failure_rate,
                   "Halt when failures exceed this fraction of finished devices (0.10)")
      ->check(CLI::Range(0.0, 1.0));
  start_cmd
      ->add_option("--min-sample", start->min_sample,
                   "Finished devices needed before the halt rule applies (10)")
      ->check(CLI::Range(1, 1'000'000));
  start_cmd->add_flag("--json", start->json, "Print the rollout as JSON");
  start_cmd->callback([start, &result] { result.exit_code = RunStart(*start); });

  const std::pair<const char*, const char*> changes[] = {
      {"pause", "Stop offering a rollout's release (devices already updating carry on)"},
      {"resume", "Offer a paused (or halted) rollout's release again"},
      {"set-percent", "Change a rollout's percentage (raising it keeps every device already in)"}};
  for (const auto& [name, help] : changes) {
    auto change = std::make_shared<ChangeOptions>();
    change->action = std::string(name) == "set-percent" ? "percent" : name;
    CLI::App* command = group->add_subcommand(name, help);
    AddServerOptions(*command, change->server);
    AddTargetOptions(*command, change->target);
    if (change->action == "percent") {
      command->add_option("--percent", change->percent, "New percentage (0-100)")
          ->required()
          ->check(CLI::Range(0.0, 100.0));
    } else {
      command->add_option("--reason", change->reason, "Why (recorded with the state)");
    }
    command->add_flag("--json", change->json, "Print the rollout as JSON");
    command->callback([change, &result] { result.exit_code = RunChange(*change); });
  }

  auto status = std::make_shared<StatusOptions>();
  CLI::App* status_cmd = group->add_subcommand(
      "status", "A rollout's state, device counts by state, and why it halted if it did");
  AddServerOptions(*status_cmd, status->server);
  AddTargetOptions(*status_cmd, status->target);
  status_cmd->add_flag("--json", status->json, "Print JSON");
  status_cmd->callback([status, &result] { result.exit_code = RunStatus(*status); });

  auto list = std::make_shared<ListOptions>();
  CLI::App* list_cmd = group->add_subcommand("list", "Every rollout, newest first");
  AddServerOptions(*list_cmd, list->server);
  list_cmd->add_option("--state", list->state, "Only rollouts in this state")
      ->check(CLI::IsMember({"active", "paused", "halted", "completed"}));
  list_cmd->add_flag("--json", list->json, "Print JSON");
  list_cmd->callback([list, &result] { result.exit_code = RunList(*list); });
}

}  // namespace aloft::cli
