#include "emulator/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace aloft::emulator {

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNone:
      return "none";
    case FaultKind::kReset:
      return "reset";
    case FaultKind::kStall:
      return "stall";
    case FaultKind::kTruncate:
      return "truncate";
    case FaultKind::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

Result<FaultSpec> ParseFaultSpec(std::string_view text) {
  FaultSpec spec;
  if (text.empty() || text == "none") {
    return spec;
  }
  std::set<std::string_view> seen;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return InvalidArgument("faults: expected KIND=PROBABILITY");
    }
    const std::string_view name = item.substr(0, equals);
    const std::string_view number = item.substr(equals + 1);
    double* target = name == "reset"      ? &spec.reset
                     : name == "stall"    ? &spec.stall
                     : name == "truncate" ? &spec.truncate
                     : name == "corrupt"  ? &spec.corrupt
                                          : nullptr;
    if (target == nullptr) {
      return InvalidArgument("faults: unknown kind (reset, stall, truncate, corrupt)");
    }
    if (!seen.insert(name).second) {
      return InvalidArgument("faults: kind given twice");
    }
    double value = -1;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || error != std::errc() || end != number.data() + number.size() ||
        !(value >= 0 && value <= 1)) {
      return InvalidArgument("faults: probability is not a number in [0, 1]");
    }
    *target = value;
  }
  if (spec.reset + spec.stall + spec.truncate + spec.corrupt > 1 + 1e-9) {
    return InvalidArgument("faults: probabilities add up to more than 1");
  }
  return spec;
}

std::string FormatFaultSpec(const FaultSpec& spec) {
  auto number = [](double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", value);
    return std::string(text);
  };
  return "reset=" + number(spec.reset) + ",stall=" + number(spec.stall) +
         ",truncate=" + number(spec.truncate) + ",corrupt=" + number(spec.corrupt);
}

namespace {

void CloseWithReset(int fd) {
  // SO_LINGER with a zero timeout turns close() into a RST.
  linger option{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  close(fd);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

class FaultProxy::Impl {
 public:
  explicit Impl(FaultProxyOptions options) : options_(std::move(options)), random_(options_.seed) {}

  ~Impl() { Stop(); }

  Status Listen() {
    if (inet_pton(AF_INET, options_.upstream_address.c_str(), &upstream_.sin_addr) != 1) {
      return InvalidArgument("proxy: bad upstream address");
    }
    upstream_.sin_family = AF_INET;
    upstream_.sin_port = htons(options_.upstream_port);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
      return Unavailable("proxy: cannot listen", static_cast<uint32_t>(errno));
    }
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listen_fd_, 1024) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        pipe2(wake_, O_CLOEXEC) != 0) {
      const int error = errno;
      return Unavailable("proxy: cannot listen", static_cast<uint32_t>(error));
    }
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return OkStatus();
  }

  uint16_t port() const { return port_; }

  void Script(std::vector<ScriptedFault> next) {
    std::lock_guard lock(mutex_);
    script_.assign(next.begin(), next.end());
  }

  FaultProxyStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        return;
      }
      stopped_ = true;
      // Unblock every connection thread, whatever it waits on.
      for (int fd : open_fds_) {
        shutdown(fd, SHUT_RDWR);
      }
    }
    if (wake_[1] >= 0) {
      const char byte = 1;
      (void)!write(wake_[1], &byte, 1);
    }
    if (accept_thread_.joinable()) {
      accept_thread_.join();
    }
    std::list<Worker> workers;
    {
      std::lock_guard lock(mutex_);
      workers.swap(workers_);
    }
    for (Worker& worker : workers) {
      worker.thread.join();
    }
    for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) {
        close(fd);
      }
    }
    listen_fd_ = wake_[0] = wake_[1] = -1;
  }

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  ScriptedFault Draw() {
    // Called by the accept thread only, under mutex_ (the script may change concurrently).
    if (!script_.empty()) {
      ScriptedFault fault = script_.front();
      script_.pop_front();
      return fault;
    }
    const FaultSpec& spec = options_.faults;
    if (!spec.any()) {
      return {};
    }
    const double draw = std::uniform_real_distribution<double>(0, 1)(random_);
    FaultKind kind = FaultKind::kNone;
    double edge = spec.reset;
    if (draw < edge) {
      kind = FaultKind::kReset;
    } else if (draw < (edge += spec.stall)) {
      kind = FaultKind::kStall;
    } else if (draw < (edge += spec.truncate)) {
      kind = FaultKind::kTruncate;
    } else if (draw < (edge += spec.corrupt)) {
      kind = FaultKind::kCorrupt;
    }
    if (kind == FaultKind::kNone) {
      return {};
    }
    const double low =
        std::log(static_cast<double>(std::max<uint64_t>(options_.min_fault_offset, 1)));
    const double high = std::log(
        static_cast<double>(std::max(options_.max_fault_offset, options_.min_fault_offset + 1)));
    const double at = std::exp(std::uniform_real_distribution<double>(low, high)(random_));
    return {kind, static_cast<uint64_t>(at)};
  }

  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, 1000) < 0 && errno != EINTR) {
        return;
      }
      ReapWorkers();
      if (fds[1].revents != 0) {
        return;
      }
      if ((fds[0].revents & POLLIN) == 0) {
        continue;
      }
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        continue;
      }
      const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (upstream < 0 || connect(upstream, reinterpret_cast<const sockaddr*>(&upstream_),
                                  sizeof(upstream_)) != 0) {
        // The server is down: the device sees its connection refused-like reset.
        if (upstream >= 0) {
          close(upstream);
        }
        CloseWithReset(client);
        std::lock_guard lock(mutex_);
        ++stats_.connections;
        continue;
      }
      const int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      std::lock_guard lock(mutex_);
      ++stats_.connections;
      if (stopped_) {
        close(client);
        close(upstream);
        return;
      }
      const ScriptedFault fault = Draw();
      open_fds_.insert(client);
      open_fds_.insert(upstream);
      auto done = std::make_shared<std::atomic<bool>>(false);
      workers_.push_back(Worker{std::thread([this, client, upstream, fault, done] {
                                  Relay(client, upstream, fault);
                                  done->store(true);
                                }),
                                done});
    }
  }

  void ReapWorkers() {
    std::list<Worker> finished;
    {
      std::lock_guard lock(mutex_);
      for (auto it = workers_.begin(); it != workers_.end();) {
        if (it->done->load()) {
          finished.splice(finished.end(), workers_, it++);
        } else {
          ++it;
        }
      }
    }
    for (Worker& worker : finished) {
      worker.thread.join();
    }
  }

  void Count(uint64_t to_server, uint64_t to_client) {
    std::lock_guard lock(mutex_);
    stats_.bytes_to_server += to_server;
    stats_.bytes_to_client += to_client;
  }

  void Injected(FaultKind kind) {
    std::lock_guard lock(mutex_);
    ++stats_.injected[static_cast<size_t>(kind)];
  }

  void Forget(int client, int upstream) {
    std::lock_guard lock(mutex_);
    open_fds_.erase(client);
    open_fds_.erase(upstream);
  }

  // Forwards until either side closes, applying `fault` to the server → client direction.
  void Relay(int client, int upstream, ScriptedFault fault) {
    std::array<char, 16384> buffer;
    uint64_t to_client = 0;  // offset in the server's stream
    bool client_open = true;
    bool upstream_open = true;
    enum class End { kClose, kReset, kTruncate } end = End::kClose;
    bool stalled = false;
    std::chrono::steady_clock::time_point stall_until;
    while (client_open || upstream_open) {
      pollfd fds[2] = {{client, static_cast<short>(client_open ? POLLIN : 0), 0},
                       {upstream, static_cast<short>(upstream_open && !stalled ? POLLIN : 0), 0}};
      int timeout = 1000;
      if (stalled) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            stall_until - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          end = End::kReset;
          break;
        }
        timeout = static_cast<int>(std::min<int64_t>(left.count(), 1000));
      }
      const int ready = poll(fds, 2, timeout);
      if (ready < 0 && errno != EINTR) {
        break;
      }
      {
        std::lock_guard lock(mutex_);
        if (stopped_) {
          break;
        }
      }
      if (fds[0].revents != 0) {
        const ssize_t n = recv(client, buffer.data(), buffer.size(), 0);
        if (n <= 0) {
          // The device closed (or gave up on a stall): pass the close on.
          client_open = false;
          if (stalled) {
            end = End::kReset;
            break;
          }
          shutdown(upstream, SHUT_WR);
        } else if (!upstream_open || !WriteAll(upstream, buffer.data(), static_cast<size_t>(n))) {
          break;
        } else {
          Count(static_cast<uint64_t>(n), 0);
        }
      }
      if (fds[1].revents != 0 && !stalled) {
        const ssize_t n = recv(upstream, buffer.data(), buffer.size(), 0);
        if (n <= 0) {
          upstream_open = false;
          shutdown(client, SHUT_WR);
          if (!client_open) {
            break;
          }
          continue;
        }
        size_t size = static_cast<size_t>(n);
        const bool hits = fault.kind != FaultKind::kNone && fault.at_byte < to_client + size;
        if (hits) {
          const size_t before = static_cast<size_t>(fault.at_byte - to_client);
          const FaultKind kind = fault.kind;
          fault.kind = FaultKind::kNone;  // one fault per connection
          Injected(kind);
          if (kind == FaultKind::kCorrupt) {
            buffer[before] = static_cast<char>(buffer[before] ^ 0x5A);
          } else {
            if (before > 0 && !WriteAll(client, buffer.data(), before)) {
              break;
            }
            Count(0, before);
            to_client += before;
            if (kind == FaultKind::kStall) {
              stalled = true;
              stall_until = std::chrono::steady_clock::now() + options_.stall;
              continue;
            }
            end = kind == FaultKind::kReset ? End::kReset : End::kTruncate;
            break;
          }
        }
        if (!client_open || !WriteAll(client, buffer.data(), size)) {
          break;
        }
        Count(0, size);
        to_client += size;
      }
    }
    Forget(client, upstream);
    switch (end) {
      case End::kReset:
        CloseWithReset(client);
        CloseWithReset(upstream);
        break;
      case End::kTruncate:
        // A clean FIN to the device, mid-stream.
        shutdown(client, SHUT_RDWR);
        close(client);
        CloseWithReset(upstream);
        break;
      case End::kClose:
        close(client);
        close(upstream);
        break;
    }
  }

  FaultProxyOptions options_;
  sockaddr_in upstream_{};
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::mt19937_64 random_;
  std::deque<ScriptedFault> script_;
  FaultProxyStats stats_;
  std::set<int> open_fds_;
  std::list<Worker> workers_;
};

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(FaultProxyOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status status = impl->Listen(); !status.ok()) {
    return status;
  }
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaultProxy::~FaultProxy() { Stop(); }
uint16_t FaultProxy::port() const { return impl_->port(); }
void FaultProxy::Script(std::vector<ScriptedFault> next) { impl_->Script(std::move(next)); }
FaultProxyStats FaultProxy::stats() const { return impl_->stats(); }
void FaultProxy::Stop() { impl_->Stop(); }

}  // namespace aloft::emulator
