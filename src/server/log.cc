#include "server/log.h"

#include <aloft_backend/log.h>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

namespace aloft::server {
namespace {

// The process's log is process-wide by nature; these are set once by ConfigureLog.
std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<int> g_level{static_cast<int>(LogLevel::kWarn)};
std::shared_ptr<spdlog::logger> g_logger;  // null: write to stderr directly
std::mutex g_logger_mutex;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20 || byte == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// key=value: values with spaces, quotes, '=' or control characters are quoted JSON-style.
void AppendTextValue(std::string& out, std::string_view text) {
  const bool plain = !text.empty() && text.find_first_of(" \"=\\") == std::string_view::npos &&
                     std::none_of(text.begin(), text.end(),
                                  [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (plain) {
    out += text;
  } else {
    AppendJsonString(out, text);
  }
}

std::string ValueText(const LogField& field, bool json) {
  return std::visit(
      [json](const auto& value) -> std::string {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          std::string out;
          if (json) {
            AppendJsonString(out, value);
          } else {
            AppendTextValue(out, value);
          }
          return out;
        } else if constexpr (std::is_same_v<T, bool>) {
          return value ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          char text[32];
          std::snprintf(text, sizeof(text), "%.6g", value);
          return text;
        } else {
          return std::to_string(value);
        }
      },
      field.value);
}

spdlog::level::level_enum SpdLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kDebug:
      return spdlog::level::debug;
  }
  return spdlog::level::info;
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[80];  // room for any int the compiler can imagine in each field (-Wformat-truncation)
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

std::string Render(LogFormat format, LogLevel level, std::string_view event,
                   std::initializer_list<LogField> fields, bool with_time) {
  std::string out;
  out.reserve(128);
  if (format == LogFormat::kJson) {
    out.push_back('{');
    if (with_time) {
      out += "\"time\":\"" + Timestamp() + "\",";
    }
    out += "\"level\":\"";
    out += LevelName(level);
    out += "\",\"event\":";
    AppendJsonString(out, event);
    for (const LogField& field : fields) {
      out.push_back(',');
      AppendJsonString(out, field.key);
      out.push_back(':');
      out += ValueText(field, true);
    }
    out.push_back('}');
    return out;
  }
  if (with_time) {
    out += "time=" + Timestamp() + " ";
  }
  out += "level=";
  out += LevelName(level);
  out += " event=";
  AppendTextValue(out, event);
  for (const LogField& field : fields) {
    out.push_back(' ');
    out += field.key;
    out.push_back('=');
    out += ValueText(field, false);
  }
  return out;
}

void BackendSink(int level, const char* tag, const char* message) {
  const LogLevel ours = level <= 0   ? LogLevel::kError
                        : level == 1 ? LogLevel::kWarn
                        : level == 2 ? LogLevel::kInfo
                                     : LogLevel::kDebug;
  Log(ours, "log", {{"source", tag}, {"message", message}});
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "error") {
    return LogLevel::kError;
  }
  if (name == "warn" || name == "warning") {
    return LogLevel::kWarn;
  }
  if (name == "info") {
    return LogLevel::kInfo;
  }
  if (name == "debug") {
    return LogLevel::kDebug;
  }
  return InvalidArgument("log: level is not error, warn, info or debug");
}

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "json") {
    return LogFormat::kJson;
  }
  if (name == "text") {
    return LogFormat::kText;
  }
  return InvalidArgument("log: format is not json or text");
}

std::string FormatLogRecord(LogFormat format, LogLevel level, std::string_view event,
                            std::initializer_list<LogField> fields) {
  return Render(format, level, event, fields, false);
}

Status ConfigureLog(LogFormat format, LogLevel level, const std::string& path) {
  std::shared_ptr<spdlog::logger> logger;
  // spdlog reports failures by throwing; this is the one place that calls it, so the one place
  // that catches.
  try {
    spdlog::init_thread_pool(8192, 1);
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (path.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    }
    logger = std::make_shared<spdlog::async_logger>("aloftd", sink, spdlog::thread_pool(),
                                                    spdlog::async_overflow_policy::block);
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    logger->flush_on(spdlog::level::warn);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aloftd: cannot open the log %s: %s\n", path.c_str(), e.what());
    return Unavailable("log: cannot open the log file");
  }
  {
    std::lock_guard lock(g_logger_mutex);
    g_logger = std::move(logger);
  }
  g_format.store(format);
  g_level.store(static_cast<int>(level));
  aloft_backend_set_log_level(static_cast<int>(level));
  aloft_backend_set_log_sink(BackendSink);
  return OkStatus();
}

void ShutdownLog() {
  aloft_backend_set_log_sink(nullptr);
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard lock(g_logger_mutex);
    logger = std::move(g_logger);
  }
  try {
    if (logger) {
      logger->flush();
    }
    logger.reset();
    spdlog::shutdown();
  } catch (...) {
    // Nothing useful is left to do with a log that fails while closing.
  }
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) {
    return;
  }
  const std::string line =
      Render(g_format.load(std::memory_order_relaxed), level, event, fields, true);
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard lock(g_logger_mutex);
    logger = g_logger;
  }
  if (!logger) {
    std::fprintf(stderr, "%s\n", line.c_str());
    return;
  }
  try {
    logger->log(SpdLevel(level), spdlog::string_view_t(line.data(), line.size()));
  } catch (...) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace aloft::server
