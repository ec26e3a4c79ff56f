// Host implementations of the check and log facades.

#include <aloft_backend/check.h>
#include <aloft_backend/log.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace {
// Process-wide by nature (a log threshold), atomic so any thread may read it.
std::atomic<int> g_log_level{1};
std::atomic<void (*)(int, const char*, const char*)> g_log_sink{nullptr};
}  // namespace

void aloft_backend_check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "aloft: internal check failed: %s at %s:%d\n", condition, file, line);
  std::abort();
}

void aloft_backend_set_log_level(int level) { g_log_level.store(level); }

void aloft_backend_set_log_sink(void (*sink)(int level, const char* tag, const char* message)) {
  g_log_sink.store(sink);
}

void aloft_backend_log(int level, const char* tag, const char* format, ...) {
  if (level > g_log_level.load(std::memory_order_relaxed)) {
    return;
  }
  if (auto* sink = g_log_sink.load()) {
    char message[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    sink(level, tag, message);
    return;
  }
  static constexpr const char* kLevelNames[] = {"error", "warning", "info", "debug"};
  const char* name = (level >= 0 && level <= 3) ? kLevelNames[level] : "log";
  std::fprintf(stderr, "%s: %s: ", tag, name);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}
