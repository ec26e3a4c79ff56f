#pragma once
// aloftd's structured log: one line per record, either JSON ("json", one object per line: time,
// level, event, then the fields) or key=value ("text"), written asynchronously by spdlog to
// stderr or a file. spdlog and fmt are included only by log.cc. ConfigureLog also routes the
// ALOFT_LOG_* messages of the layers below (store, HTTPS) into the same log, as event "log".
// Before ConfigureLog, records go to stderr as text at level warn. Thread-safe.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "core/result.h"

namespace aloft::server {

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };
enum class LogFormat : uint8_t { kJson, kText };

// "error", "warn", "info", "debug" (and "warning") / "json", "text".
Result<LogLevel> ParseLogLevel(std::string_view name);
Result<LogFormat> ParseLogFormat(std::string_view name);

struct LogField {
  LogField(std::string_view name, std::string_view v) : key(name), value(std::string(v)) {}
  LogField(std::string_view name, const std::string& v) : key(name), value(v) {}
  LogField(std::string_view name, const char* v) : key(name), value(std::string(v)) {}
  LogField(std::string_view name, int64_t v) : key(name), value(v) {}
  LogField(std::string_view name, int v) : key(name), value(int64_t{v}) {}
  LogField(std::string_view name, uint32_t v) : key(name), value(int64_t{v}) {}
  LogField(std::string_view name, uint64_t v) : key(name), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view name, double v) : key(name), value(v) {}
  LogField(std::string_view name, bool v) : key(name), value(v) {}

  std::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

// Sets the format, the threshold and the destination (empty path: stderr). Call once at start,
// before other threads log. kUnavailable "log: cannot open the log file".
Status ConfigureLog(LogFormat format, LogLevel level, const std::string& path = {});
// Writes what is queued and stops the writer thread (at exit).
void ShutdownLog();

bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// One record rendered as the configured format would write it (without time), for tests.
std::string FormatLogRecord(LogFormat format, LogLevel level, std::string_view event,
                            std::initializer_list<LogField> fields);

}  // namespace aloft::server
