// The only translation unit with Asio and Beast in it (they compile slowly).
//
// Design: each I/O thread runs its own io_context (epoll) and owns the connections it was
// given; nothing about a connection is shared between threads, so there are no locks on the
// request path. TLS is OpenSSL on the socket's file descriptor (SSL_set_fd), not Asio's
// ssl::stream: the stream pumps every byte through two extra buffers (a BIO pair and its own
// read/write buffers), which measured 0.63-0.73x nginx on downloads. Here a connection calls
// SSL_read/SSL_write on the non-blocking socket directly and uses Asio only to wait for
// readiness (async_wait) when OpenSSL says WANT_READ/WANT_WRITE. Beast contributes only its
// HTTP/1.1 request parser, which fills an HttpRequest directly (no Beast message in between).
//
// File bodies: pread into a 32 KiB buffer, then SSL_write from it. Measured against 16, 64 and
// 256 KiB buffers and against mmap (SSL_write straight from the mapping, with and without
// MAP_POPULATE): all within the noise of a shared 2-core machine at 1,000 connections, mmap
// perhaps 5-10% less CPU at 64. pread stays: a file truncated under us gives a short body and a
// closed connection, where a mapping would kill the process with SIGBUS.
//
// A connection moves through: handshake → reading a request → handling → writing the response
// → reading the next request (keep-alive) or closing (close_notify, then reading and dropping
// what the client still sends until it closes, so it never gets a reset before our answer).

#include "server/http/https_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/log.h"

namespace aloft::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// The clock of timeouts. They only need milliseconds, and CLOCK_MONOTONIC_COARSE is read without
// the TSC: a fraction of steady_clock's cost, which a request paid four times over for its
// deadlines (about 1% of a check-in's CPU). Its tick is the kernel's (1-4 ms).
struct DeadlineClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<DeadlineClock>;
  static time_point now() noexcept {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return time_point(std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec));
  }
};
using boost::system::error_code;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Acceptor = asio::basic_socket_acceptor<tcp, asio::io_context::executor_type>;
using BeastStringView = boost::beast::string_view;
using namespace std::string_view_literals;  // appending "..."sv needs no strlen

// SSL_read never returns more than one record (16 KiB of plaintext).
constexpr size_t kScratchBytes = 16 * 1024;
// After "Connection: close", how long to keep draining what the client still sends.
constexpr std::chrono::milliseconds kLingerTime{2000};
// Requests handled back to back on one stack (pipelining, fast clients) before yielding to
// the event loop, so recursion stays bounded.
constexpr int kMaxInlineRequests = 16;

// The one adapter for code that may throw (Asio, the standard library, OpenSSL callbacks never
// do; a handler or an allocation might): logs and reports failure instead of unwinding.
template <typename F>
bool RunCatching(const char* what, F&& f) noexcept {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    ALOFT_LOG_ERROR("https: %s: %s", what, e.what());
  } catch (...) {
    ALOFT_LOG_ERROR("https: %s: unknown exception", what);
  }
  return false;
}

// SSL_get_error reads this thread's error queue, so it must be empty before each TLS call. Only
// a failed call leaves entries, and peeking is far cheaper than ERR_clear_error (which resets
// all 16 slots: it was 3% of a check-in's CPU when called before every SSL_read/SSL_write).
void ClearOpensslErrors() {
  if (ERR_peek_error() != 0) {
    ERR_clear_error();
  }
}

void LogOpensslError(const char* what, const std::string& subject) {
  char text[256] = "no OpenSSL error";
  if (unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, text, sizeof(text));
  }
  ERR_clear_error();
  ALOFT_LOG_ERROR("https: %s %s: %s", what, subject.c_str(), text);
}

// Fills an HttpRequest straight from the parser's callbacks.
class RequestParser final : public http::basic_parser<true> {
 public:
  RequestParser(HttpRequest& request, const BodyLimitHook& body_limit_for, uint64_t body_limit)
      : request_(request), body_limit_for_(body_limit_for), body_limit_bytes_(body_limit) {
    this->body_limit(body_limit);
  }
  int version() const { return version_; }
  // The body limit in force for this request (the hook's choice, once the request line is in).
  uint64_t body_limit_bytes() const { return body_limit_bytes_; }
  bool expects_continue() const { return expects_continue_; }

 private:
  void on_request_impl(http::verb, BeastStringView method, BeastStringView target, int version,
                       error_code&) override {
    request_.method.assign(method.data(), method.size());
    request_.target.assign(target.data(), target.size());
    version_ = version;
    // Chosen before any field is parsed, so a Content-Length over it is refused at once.
    if (body_limit_for_) {
      body_limit_bytes_ = body_limit_for_(request_.method, request_.target);
      this->body_limit(body_limit_bytes_);
    }
  }
  void on_response_impl(int, BeastStringView, int, error_code&) override {}
  void on_field_impl(http::field field, BeastStringView name, BeastStringView value,
                     error_code&) override {
    if (field == http::field::expect && EqualsIgnoreCase(value, "100-continue")) {
      expects_continue_ = true;
    }
    request_.headers.Add(std::string(name.data(), name.size()),
                         std::string(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The parser has already checked the length against the body limit.
    if (length) {
      request_.body.reserve(static_cast<size_t>(*length));
    }
  }
  size_t on_body_impl(BeastStringView body, error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, BeastStringView, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, BeastStringView body, error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  HttpRequest& request_;
  const BodyLimitHook& body_limit_for_;
  uint64_t body_limit_bytes_;
  int version_ = 11;
  bool expects_continue_ = false;
};

class Connection;

// One I/O thread: its event loop, its connections and its scratch space.
struct Worker {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  asio::steady_timer sweep{io};
  // Set on the loop's thread when Stop ends the sweeps. cancel() alone is not enough: a sweep
  // whose completion is already queued would run and re-arm the timer, and run() would never
  // return (seen as a hang in Stop under load).
  bool sweep_stopped = false;
  std::thread thread;
  std::unordered_set<Connection*> connections;
  std::vector<char> scratch = std::vector<char>(kScratchBytes);
  int inline_requests = 0;
  std::time_t date_second = -1;
  std::string date;

  // The Date field value, formatted once a second (RFC 9110 §5.6.7 IMF-fixdate).
  const std::string& HttpDate() {
    std::time_t now = std::time(nullptr);
    if (now != date_second) {
      static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
      static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      std::tm tm{};
      gmtime_r(&now, &tm);
      char text[40];
      std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                    tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                    tm.tm_sec);
      date = text;
      date_second = now;
    }
    return date;
  }
};

// What every connection shares: configuration and the server-wide counters.
struct ServerState {
  HttpsServerOptions options;
  Router router;
  SSL_CTX* tls = nullptr;
  std::unique_ptr<asio::thread_pool> pool;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> open_connections{0};
  std::mutex mutex;  // guards nothing but the wait in Stop
  std::condition_variable all_closed;

  HttpResponse CallHandler(HttpRequest& request) const {
    HttpResponse response;
    if (!RunCatching("handler", [&] { response = router.Dispatch(request); })) {
      response = JsonError(500, "internal", "the handler failed");
    }
    return response;
  }

  void ConnectionClosed() {
    if (open_connections.fetch_sub(1) == 1 && stopping.load()) {
      { std::lock_guard<std::mutex> lock(mutex); }
      all_closed.notify_all();
    }
  }
};

bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Field names must be tokens and values must not break the header (CR, LF, NUL). A plain loop:
// find_first_of with a 3-character set calls memchr once per character.
bool IsValidField(const std::string& name, const std::string& value) {
  return !name.empty() && std::all_of(name.begin(), name.end(), IsTokenChar) &&
         std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// Fields the server writes itself.
bool IsServerField(std::string_view name) {
  return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Connection") ||
         EqualsIgnoreCase(name, "Date") || EqualsIgnoreCase(name, "Transfer-Encoding");
}

bool StatusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

// The subject CN of a verified client certificate.
std::optional<std::string> VerifiedClientCn(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return std::nullopt;
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return std::string();
  }
  unsigned char* utf8 = nullptr;
  int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length < 0) {
    return std::string();
  }
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return cn;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerState& server, Worker& worker, Socket socket)
      : server_(server), worker_(worker), socket_(std::move(socket)) {
    server_.open_connections.fetch_add(1);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ~Connection() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    server_.ConnectionClosed();
  }

  // Starts the TLS handshake. On the connection's worker thread, like every method below.
  void Begin() {
    if (server_.stopping.load()) {
      Close();
      return;
    }
    worker_.connections.insert(this);
    error_code ec;
    socket_.non_blocking(true, ec);
    if (!ec) {
      socket_.set_option(tcp::no_delay(true), ec);
    }
    tcp::endpoint peer = socket_.remote_endpoint(ec);
    if (ec) {
      Close();
      return;
    }
    remote_address_ = peer.address().to_string();
    remote_port_ = peer.port();
    ssl_ = SSL_new(server_.tls);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
      LogOpensslError("cannot create TLS session for", remote_address_);
      Close();
      return;
    }
    SSL_set_accept_state(ssl_);
    state_ = State::kHandshake;
    deadline_ = DeadlineClock::now() + server_.options.request_timeout;
    Handshake();
  }

  // Graceful stop: idle connections close now, busy ones after their response.
  void OnStop() {
    switch (state_) {
      case State::kHandshake:
      case State::kLingering:
        Close();
        return;
      case State::kReading:
        if (!request_started_) {
          SendCloseNotify();
          Close();
          return;
        }
        closing_ = true;
        return;
      case State::kHandling:
      case State::kWriting:
        closing_ = true;
        return;
      case State::kClosed:
        return;
    }
  }

  // A handler's time is not limited; everything else is.
  bool Expired(DeadlineClock::time_point now) const {
    return state_ != State::kHandling && state_ != State::kClosed && now >= deadline_;
  }

  void OnTimeout() {
    if (state_ == State::kReading && !request_started_) {
      SendCloseNotify();  // an idle keep-alive connection: a polite goodbye
    }
    Close();
  }

  // Closes the socket, which cancels any wait; the last handler holding this object frees it.
  void Close() {
    if (state_ == State::kClosed) {
      return;
    }
    if (log_pending_) {
      LogAccess(/*completed=*/false);
    }
    state_ = State::kClosed;
    worker_.connections.erase(this);
    error_code ec;
    socket_.close(ec);
    file_fd_ = UniqueFd();
    file_buffer_.reset();
  }

 private:
  enum class State { kHandshake, kReading, kHandling, kWriting, kLingering, kClosed };
  using Step = void (Connection::*)();

  // Waits until the socket can do what OpenSSL asked for, then runs `step` again; any other
  // SSL error ends the connection.
  void Retry(int ssl_error, Step step) {
    if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) {
      ClearOpensslErrors();
      Close();
      return;
    }
    auto wait = ssl_error == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write;
    async_pending_ = true;
    socket_.async_wait(wait, [self = shared_from_this(), step](const error_code& ec) {
      self->async_pending_ = false;
      if (ec || self->state_ == State::kClosed) {
        return;
      }
      (self.get()->*step)();
    });
  }

  void Handshake() {
    ClearOpensslErrors();
    int result = SSL_do_handshake(ssl_);
    if (result != 1) {
      Retry(SSL_get_error(ssl_, result), &Connection::Handshake);
      return;
    }
    client_cn_ = VerifiedClientCn(ssl_);
    StartRequest();
  }

  // Prepares for the next request on this connection and starts reading it.
  void StartRequest() {
    state_ = State::kReading;
    // The request object is reused: its strings and vectors keep their capacity.
    if (request_) {
      request_->Clear();
    } else {
      request_.emplace();
    }
    parser_.emplace(*request_, server_.options.body_limit, server_.options.max_body_bytes);
    parser_->header_limit(server_.options.max_header_bytes);
    parser_->eager(true);
    request_started_ = false;
    continue_sent_ = false;
    failed_request_ = false;
    closing_ = closing_ || server_.stopping.load();
    deadline_ = DeadlineClock::now() + server_.options.idle_timeout;
    if (closing_) {
      SendCloseNotify();
      Close();
      return;
    }
    // Bound the recursion read → handle → write → read when requests keep arriving.
    if (worker_.inline_requests >= kMaxInlineRequests) {
      async_pending_ = true;
      asio::post(worker_.io, [self = shared_from_this()] {
        self->async_pending_ = false;
        if (self->state_ == State::kReading) {
          self->ContinueReading();
        }
      });
      return;
    }
    ++worker_.inline_requests;
    ContinueReading();
    --worker_.inline_requests;
  }

  // Parses what is already buffered (a pipelined request), then reads from the socket.
  void ContinueReading() {
    if (!pending_.empty()) {
      BeginRequestClock();
      std::string buffered = std::move(pending_);
      pending_.clear();
      OnBytes(buffered.data(), buffered.size());
    }
    Read();
  }

  // Reads and parses until the request is complete or the socket has nothing more. Every loop
  // here also stops once a nested step has scheduled the next wake-up (async_pending_), so a
  // connection never has two.
  void Read() {
    while (state_ == State::kReading && !async_pending_) {
      size_t count = 0;
      ClearOpensslErrors();
      int result = SSL_read_ex(ssl_, worker_.scratch.data(), worker_.scratch.size(), &count);
      if (result != 1) {
        int error = SSL_get_error(ssl_, result);
        if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify: the client is done
          Close();
          return;
        }
        Retry(error, &Connection::Read);
        return;
      }
      BeginRequestClock();
      OnBytes(worker_.scratch.data(), count);
    }
  }

  void BeginRequestClock() {
    if (!request_started_) {
      request_started_ = true;
      request_start_ = Clock::now();
      deadline_ = DeadlineClock::now() + server_.options.request_timeout;
    }
  }

  // Feeds received bytes to the parser and keeps what it did not take (an incomplete header,
  // or the start of the next request) for later.
  void OnBytes(const char* data, size_t size) {
    error_code ec;
    if (pending_.empty()) {
      size_t used = Parse(data, size, ec);
      pending_.assign(data + used, size - used);
    } else {
      pending_.append(data, size);
      size_t used = Parse(pending_.data(), pending_.size(), ec);
      pending_.erase(0, used);
    }
    if (ec) {
      FailRequest(ec);
      return;
    }
    if (parser_->is_done()) {
      Dispatch();
      return;
    }
    if (parser_->is_header_done() && parser_->expects_continue() && !continue_sent_ &&
        parser_->version() >= 11) {
      continue_sent_ = true;
      out_ = "HTTP/1.1 100 Continue\r\n\r\n";
      out_position_ = 0;
      after_flush_ = &Connection::Read;
      Flush();
    }
  }

  size_t Parse(const char* data, size_t size, error_code& ec) {
    size_t total = 0;
    while (total < size && !parser_->is_done()) {
      size_t used = parser_->put(asio::const_buffer(data + total, size - total), ec);
      total += used;
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) {
        break;
      }
    }
    return total;
  }

  // A request that cannot be parsed gets an error and the connection closes: after a framing
  // error there is no telling where the next request would start.
  void FailRequest(const error_code& ec) {
    closing_ = true;
    failed_request_ = true;
    state_ = State::kHandling;
    if (ec == http::error::body_limit) {
      Respond(JsonError(
          413, "body_too_large",
          "the request body exceeds " + std::to_string(parser_->body_limit_bytes()) + " bytes"));
    } else if (ec == http::error::header_limit) {
      Respond(JsonError(431, "header_too_large",
                        "the request header exceeds " +
                            std::to_string(server_.options.max_header_bytes) + " bytes"));
    } else {
      Respond(JsonError(400, "bad_request", "malformed HTTP request: " + ec.message()));
    }
  }

  void Dispatch() {
    state_ = State::kHandling;
    HttpRequest& request = *request_;
    keep_alive_ = parser_->keep_alive();
    // A request the server itself rejects also ends the connection: a client that sends such
    // things is not one to keep talking to.
    auto reject = [this](int status, const char* code, const char* message) {
      closing_ = true;
      Respond(JsonError(status, code, message));
    };
    if (parser_->version() != 10 && parser_->version() != 11) {
      reject(505, "http_version_not_supported", "only HTTP/1.0 and 1.1 are served");
      return;
    }
    if (request.target.empty() || request.target.front() != '/') {
      reject(400, "bad_request", "the request target must be an absolute path");
      return;
    }
    if (parser_->version() == 11 && !request.headers.Contains("Host")) {
      reject(400, "bad_request", "an HTTP/1.1 request needs a Host field");
      return;
    }
    size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) {
      Result<Params> query = ParseQuery(std::string_view(request.target).substr(question + 1));
      if (!query.ok()) {
        reject(400, "bad_request", "malformed query string");
        return;
      }
      request.query = std::move(query).value();
    }
    request.remote_address = remote_address_;
    request.remote_port = remote_port_;
    request.client_cn = client_cn_;

    if (!server_.pool) {
      Respond(server_.CallHandler(request));
      return;
    }
    asio::post(*server_.pool, [self = shared_from_this()]() mutable {
      HttpResponse response = self->server_.CallHandler(*self->request_);
      Worker& worker = self->worker_;
      asio::post(worker.io, [self = std::move(self), response = std::move(response)]() mutable {
        if (self->state_ == State::kHandling) {
          self->Respond(std::move(response));
        }
      });
    });
  }

  // Serializes the status line and fields into out_; false if the handler's response cannot be
  // written as given (then out_ is unspecified).
  bool WriteHead(const HttpResponse& response, uint64_t body_length, bool send_length) {
    http::status status = http::int_to_status(static_cast<unsigned>(response.status));
    if (response.status < 200 || response.status > 599 || status == http::status::unknown) {
      return false;
    }
    BeastStringView reason = http::obsolete_reason(status);
    out_.clear();
    out_position_ = 0;
    out_ += "HTTP/1.1 "sv;
    out_ += std::to_string(response.status);
    out_ += ' ';
    out_.append(reason.data(), reason.size());
    out_ += "\r\nDate: "sv;
    out_ += worker_.HttpDate();
    out_ += "\r\n"sv;
    for (const auto& [name, value] : response.headers) {
      if (!IsValidField(name, value)) {
        return false;
      }
      if (IsServerField(name)) {
        continue;
      }
      out_ += name;
      out_ += ": "sv;
      out_ += value;
      out_ += "\r\n"sv;
    }
    if (send_length) {
      out_ += "Content-Length: "sv;
      out_ += std::to_string(body_length);
      out_ += "\r\n"sv;
    }
    if (closing_) {
      out_ += "Connection: close\r\n"sv;
    } else if (parser_ && parser_->version() == 10) {
      out_ += "Connection: keep-alive\r\n"sv;
    }
    out_ += "\r\n"sv;
    return true;
  }

  void Respond(HttpResponse response) {
    state_ = State::kWriting;
    closing_ = closing_ || !keep_alive_ || server_.stopping.load();
    status_ = response.status;
    body_bytes_ = 0;
    log_pending_ = true;
    bool head = request_ && request_->method == "HEAD";
    bool has_body = StatusHasBody(response.status);

    FileBody* file = std::get_if<FileBody>(&response.body);
    const std::string* text = std::get_if<std::string>(&response.body);
    uint64_t body_length = file != nullptr ? file->length : text->size();
    bool send_file = file != nullptr && has_body && !head && file->length > 0;
    if (send_file && !file->fd.valid()) {
      file->fd = UniqueFd(::open(file->path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!file->fd.valid()) {
        ALOFT_LOG_ERROR("https: cannot open %s: %s", file->path.c_str(), std::strerror(errno));
        Respond(JsonError(500, "internal", "the file cannot be read"));
        return;
      }
    }
    if (!WriteHead(response, body_length, has_body)) {
      ALOFT_LOG_ERROR("https: handler for %s %s gave an invalid status or header field",
                      request_ ? request_->method.c_str() : "",
                      request_ ? request_->path.c_str() : "");
      Respond(JsonError(500, "internal", "the handler gave an invalid response"));
      return;
    }
    if (send_file) {
      StartFile(*file);
      return;
    }
    if (text != nullptr && has_body && !head) {
      // One buffer, so a small answer leaves in one TLS record and one send.
      out_ += *text;
      body_bytes_ = text->size();
    }
    after_flush_ = &Connection::ResponseDone;
    Flush();
  }

  // Writes out_ from out_position_, then runs after_flush_.
  void Flush() {
    while (out_position_ < out_.size()) {
      size_t written = 0;
      ClearOpensslErrors();
      int result =
          SSL_write_ex(ssl_, out_.data() + out_position_, out_.size() - out_position_, &written);
      if (result != 1) {
        Retry(SSL_get_error(ssl_, result), &Connection::Flush);
        return;
      }
      out_position_ += written;
      deadline_ = DeadlineClock::now() + server_.options.request_timeout;
    }
    out_.clear();
    out_position_ = 0;
    if (out_.capacity() > 64 * 1024) {
      out_.shrink_to_fit();
    }
    (this->*after_flush_)();
  }

  // The file path: the header goes first in the same buffer as the first chunk of the file, then
  // each chunk is pread into the buffer and encrypted from there by SSL_write, one record at a
  // time (partial writes are enabled), straight to the socket.
  void StartFile(FileBody& file) {
    size_t chunk = std::max(server_.options.file_chunk_bytes, out_.size() + 4096);
    file_buffer_size_ = chunk;
    file_buffer_ = std::make_unique<char[]>(chunk);
    std::memcpy(file_buffer_.get(), out_.data(), out_.size());
    buffer_length_ = out_.size();
    buffer_position_ = 0;
    header_left_ = out_.size();
    out_.clear();
    file_fd_ = std::move(file.fd);
    file_offset_ = file.offset;
    file_remaining_ = file.length;
    SendFile();
  }

  void SendFile() {
    while (true) {
      if (buffer_position_ == buffer_length_) {
        if (file_remaining_ == 0) {
          file_fd_ = UniqueFd();
          file_buffer_.reset();
          ResponseDone();
          return;
        }
        buffer_length_ = 0;
        buffer_position_ = 0;
      }
      if (buffer_length_ < file_buffer_size_ && file_remaining_ > 0 && buffer_position_ == 0) {
        size_t want = static_cast<size_t>(
            std::min<uint64_t>(file_buffer_size_ - buffer_length_, file_remaining_));
        ssize_t got = ::pread(file_fd_.get(), file_buffer_.get() + buffer_length_, want,
                              static_cast<off_t>(file_offset_));
        if (got < 0 && errno == EINTR) {
          continue;
        }
        if (got <= 0) {
          // The headers promised more bytes than the file has: the client must see a short
          // body, so the connection ends here.
          ALOFT_LOG_ERROR("https: file body ended %llu bytes early (%s)",
                          static_cast<unsigned long long>(file_remaining_),
                          got < 0 ? std::strerror(errno) : "end of file");
          Close();
          return;
        }
        buffer_length_ += static_cast<size_t>(got);
        file_offset_ += static_cast<uint64_t>(got);
        file_remaining_ -= static_cast<uint64_t>(got);
      }
      size_t written = 0;
      ClearOpensslErrors();
      int result = SSL_write_ex(ssl_, file_buffer_.get() + buffer_position_,
                                buffer_length_ - buffer_position_, &written);
      if (result != 1) {
        Retry(SSL_get_error(ssl_, result), &Connection::SendFile);
        return;
      }
      buffer_position_ += written;
      size_t header_part = std::min(header_left_, written);
      header_left_ -= header_part;
      body_bytes_ += written - header_part;
      deadline_ = DeadlineClock::now() + server_.options.request_timeout;
    }
  }

  void ResponseDone() {
    LogAccess(/*completed=*/true);
    if (closing_ || server_.stopping.load()) {
      // Only a request we stopped reading midway (or pipelined bytes) leaves client data
      // unread; otherwise a plain close cannot turn into a reset.
      if (failed_request_ || !pending_.empty()) {
        Linger();
      } else {
        SendCloseNotify();
        Close();
      }
      return;
    }
    StartRequest();
  }

  void LogAccess(bool completed) {
    log_pending_ = false;
    if (!server_.options.access_log) {
      return;
    }
    AccessLogEntry entry;
    if (request_) {
      entry.method = request_->method;
      entry.path = request_->path.empty() ? std::string_view(request_->target) : request_->path;
      if (size_t question = entry.path.find('?'); question != std::string_view::npos) {
        entry.path = entry.path.substr(0, question);
      }
    }
    entry.status = status_;
    entry.body_bytes = body_bytes_;
    entry.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        request_started_ ? Clock::now() - request_start_ : Clock::duration::zero());
    entry.remote_address = remote_address_;
    if (client_cn_) {
      entry.client_cn = *client_cn_;
    }
    entry.completed = completed;
    RunCatching("access log", [&] { server_.options.access_log(entry); });
  }

  void SendCloseNotify() {
    if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
      ClearOpensslErrors();
      SSL_shutdown(ssl_);  // non-blocking: if it cannot be sent now, the close goes on without it
      ClearOpensslErrors();
    }
  }

  // After "Connection: close": say goodbye, stop sending, and drain what the client still sends
  // until it closes (or kLingerTime passes), so unread request bytes never turn our close into
  // a reset that could destroy the response in flight.
  void Linger() {
    state_ = State::kLingering;
    SendCloseNotify();
    ::shutdown(socket_.native_handle(), SHUT_WR);
    deadline_ =
        DeadlineClock::now() +
        std::min<DeadlineClock::duration>(kLingerTime, server_.options.request_timeout);
    Drain();
  }

  void Drain() {
    while (true) {
      ssize_t got = ::recv(socket_.native_handle(), worker_.scratch.data(), worker_.scratch.size(),
                           MSG_DONTWAIT);
      if (got > 0) {
        continue;
      }
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        Retry(SSL_ERROR_WANT_READ, &Connection::Drain);
        return;
      }
      Close();
      return;
    }
  }

  ServerState& server_;
  Worker& worker_;
  Socket socket_;
  SSL* ssl_ = nullptr;
  State state_ = State::kHandshake;
  DeadlineClock::time_point deadline_;

  std::string remote_address_;
  uint16_t remote_port_ = 0;
  std::optional<std::string> client_cn_;

  // The request being received.
  std::optional<HttpRequest> request_;
  std::optional<RequestParser> parser_;
  std::string pending_;  // received, not yet parsed
  bool request_started_ = false;
  Clock::time_point request_start_;
  bool continue_sent_ = false;
  bool failed_request_ = false;
  bool async_pending_ = false;  // a wait or a post will call back
  bool keep_alive_ = true;
  bool closing_ = false;  // close after the current response

  // The response being sent.
  std::string out_;
  size_t out_position_ = 0;
  Step after_flush_ = &Connection::ResponseDone;
  int status_ = 0;
  uint64_t body_bytes_ = 0;
  bool log_pending_ = false;
  UniqueFd file_fd_;
  uint64_t file_offset_ = 0;
  uint64_t file_remaining_ = 0;
  std::unique_ptr<char[]> file_buffer_;
  size_t file_buffer_size_ = 0;
  size_t buffer_length_ = 0;
  size_t buffer_position_ = 0;
  size_t header_left_ = 0;
};

Status ConfigureTls(SSL_CTX* tls, const HttpsServerOptions& options) {
  SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
  SSL_CTX_set_options(tls, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Mozilla's "intermediate" TLS 1.2 suites (forward secrecy, AEAD only); TLS 1.3 keeps
  // OpenSSL's default suites, which are all modern.
  SSL_CTX_set_cipher_list(tls,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  // Partial writes: SSL_write returns after each record, so a wait never holds more than one
  // record. Moving buffer: a retried write may come from out_ after it was reallocated.
  // Release buffers: an idle connection gives its 34 KiB of record buffers back.
  SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Read whole socket buffers at once instead of a record header, then its body.
  SSL_CTX_set_read_ahead(tls, 1);
  static constexpr unsigned char kSessionContext[] = "aloftd";
  SSL_CTX_set_session_id_context(tls, kSessionContext, sizeof(kSessionContext) - 1);

  if (SSL_CTX_use_certificate_chain_file(tls, options.certificate_chain_path.c_str()) != 1) {
    LogOpensslError("cannot load certificate chain", options.certificate_chain_path);
    return InvalidArgument("https: cannot load certificate chain");
  }
  if (SSL_CTX_use_PrivateKey_file(tls, options.private_key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    LogOpensslError("cannot load private key", options.private_key_path);
    return InvalidArgument("https: cannot load private key");
  }
  if (SSL_CTX_check_private_key(tls) != 1) {
    LogOpensslError("private key does not match certificate", options.private_key_path);
    return InvalidArgument("https: private key does not match certificate");
  }
  if (!options.client_ca_path.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_path.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(tls, options.client_ca_path.c_str(), nullptr) != 1) {
      if (names != nullptr) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
      }
      LogOpensslError("cannot load client CA", options.client_ca_path);
      return InvalidArgument("https: cannot load client CA");
    }
    SSL_CTX_set_client_CA_list(tls, names);
    // Without FAIL_IF_NO_PEER_CERT a client may present nothing; what it does present must
    // verify, or the handshake fails.
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, nullptr);
  }
  return OkStatus();
}

}  // namespace

class HttpsServer::Impl {
 public:
  Impl(HttpsServerOptions options, Router router) {
    state_.options = std::move(options);
    state_.router = std::move(router);
  }

  ~Impl() {
    Stop(std::chrono::milliseconds(0));
    if (state_.tls != nullptr) {
      SSL_CTX_free(state_.tls);
    }
  }

  Status Start() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (started_) {
      return FailedPrecondition("https: already started");
    }
    const HttpsServerOptions& options = state_.options;
    if (options.io_threads < 1 || options.handler_threads < 0 || options.max_header_bytes == 0 ||
        options.max_body_bytes == 0 || options.max_connections == 0 ||
        options.file_chunk_bytes == 0 || options.certificate_chain_path.empty() ||
        options.private_key_path.empty() || options.request_timeout.count() <= 0 ||
        options.idle_timeout.count() <= 0) {
      return InvalidArgument("https: bad options");
    }
    error_code ec;
    asio::ip::address address = asio::ip::make_address(options.listen_address, ec);
    if (ec) {
      ALOFT_LOG_ERROR("https: bad listen address '%s'", options.listen_address.c_str());
      return InvalidArgument("https: bad listen address");
    }
    SSL_CTX* tls = SSL_CTX_new(TLS_server_method());
    if (tls == nullptr) {
      LogOpensslError("cannot create TLS context", "");
      return Internal("https: cannot create TLS context");
    }
    if (Status status = ConfigureTls(tls, options); !status.ok()) {
      SSL_CTX_free(tls);
      return status;
    }
    if (state_.tls != nullptr) {
      SSL_CTX_free(state_.tls);
    }
    state_.tls = tls;

    // A vanished peer must give EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);

    Status status = OkStatus();
    bool ok = RunCatching("start", [&] {
      for (int i = 0; i < options.io_threads; ++i) {
        workers_.push_back(std::make_unique<Worker>());
      }
      acceptor_.emplace(workers_[0]->io);
      accept_retry_.emplace(workers_[0]->io);
      tcp::endpoint endpoint(address, options.port);
      acceptor_->open(endpoint.protocol(), ec);
      if (!ec) {
        acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
      }
      if (!ec) {
        acceptor_->bind(endpoint, ec);
      }
      if (!ec) {
        acceptor_->listen(asio::socket_base::max_listen_connections, ec);
      }
      if (ec) {
        ALOFT_LOG_ERROR("https: cannot listen on %s port %u: %s", options.listen_address.c_str(),
                        static_cast<unsigned>(options.port), ec.message().c_str());
        status = Unavailable("https: cannot listen", static_cast<uint32_t>(ec.value()));
        return;
      }
      port_ = acceptor_->local_endpoint(ec).port();
      if (options.handler_threads > 0) {
        state_.pool = std::make_unique<asio::thread_pool>(options.handler_threads);
      }
      Accept();
      for (auto& worker : workers_) {
        ScheduleSweep(*worker);
        Worker* raw = worker.get();
        raw->thread = std::thread([raw] { RunLoop(*raw); });
      }
    });
    if (!ok) {
      status = Internal("https: cannot start threads");
    }
    if (!status.ok()) {
      Teardown();
      return status;
    }
    started_ = true;
    return OkStatus();
  }

  uint16_t port() const { return port_; }

  void Stop(std::chrono::milliseconds grace) {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (!started_ || stopped_) {
      return;
    }
    stopped_ = true;
    state_.stopping.store(true);
    asio::post(workers_[0]->io, [this] {
      error_code ec;
      acceptor_->close(ec);
      accept_retry_->cancel();
    });
    for (auto& worker : workers_) {
      Worker* raw = worker.get();
      asio::post(raw->io, [raw] { ForEachConnection(*raw, &Connection::OnStop); });
    }
    {
      std::unique_lock<std::mutex> wait_lock(state_.mutex);
      state_.all_closed.wait_for(wait_lock, grace,
                                 [this] { return state_.open_connections.load() == 0; });
    }
    for (auto& worker : workers_) {
      Worker* raw = worker.get();
      asio::post(raw->io, [raw] {
        ForEachConnection(*raw, &Connection::Close);
        raw->sweep_stopped = true;
        raw->sweep.cancel();
      });
    }
    Teardown();
  }

 private:
  static void RunLoop(Worker& worker) {
    // run() returns normally once the work guard is gone and every connection is closed; it
    // returns early only if something threw, and then the loop goes on.
    while (!RunCatching("event loop", [&] { worker.io.run(); })) {
    }
  }

  static void ForEachConnection(Worker& worker, void (Connection::*step)()) {
    // Copy first: a step may close the connection and so erase it from the set.
    std::vector<Connection*> connections(worker.connections.begin(), worker.connections.end());
    for (Connection* connection : connections) {
      if (worker.connections.count(connection) != 0) {
        (connection->*step)();
      }
    }
  }

  void ScheduleSweep(Worker& worker) {
    auto shortest = std::min(state_.options.request_timeout, state_.options.idle_timeout);
    auto interval = std::clamp<std::chrono::milliseconds>(
        shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    worker.sweep.expires_after(interval);
    worker.sweep.async_wait([this, &worker](const error_code& ec) {
      if (ec || worker.sweep_stopped) {
        return;
      }
      DeadlineClock::time_point now = DeadlineClock::now();
      std::vector<Connection*> expired;
      for (Connection* connection : worker.connections) {
        if (connection->Expired(now)) {
          expired.push_back(connection);
        }
      }
      for (Connection* connection : expired) {
        connection->OnTimeout();
      }
      ScheduleSweep(worker);
    });
  }

  void Accept() {
    Worker& target = *workers_[next_worker_];
    next_worker_ = (next_worker_ + 1) % workers_.size();
    acceptor_->async_accept(target.io, [this, &target](const error_code& ec, Socket socket) {
      if (ec == asio::error::operation_aborted || state_.stopping.load()) {
        return;
      }
      if (ec) {
        // Out of descriptors or memory: try again shortly rather than spin.
        ALOFT_LOG_WARN("https: accept failed: %s", ec.message().c_str());
        accept_retry_->expires_after(std::chrono::milliseconds(50));
        accept_retry_->async_wait([this](const error_code& timer_ec) {
          if (!timer_ec && !state_.stopping.load()) {
            Accept();
          }
        });
        return;
      }
      if (state_.open_connections.load() >= state_.options.max_connections) {
        error_code close_ec;
        socket.close(close_ec);
      } else {
        asio::post(target.io, [this, &target, socket = std::move(socket)]() mutable {
          auto connection = std::make_shared<Connection>(state_, target, std::move(socket));
          connection->Begin();
        });
      }
      Accept();
    });
  }

  // Joins the threads and frees the loops; connections still queued are destroyed with them.
  void Teardown() {
    if (state_.pool) {
      state_.pool->join();
    }
    for (auto& worker : workers_) {
      // The guard belongs to the loop's thread once that runs; without it, run() returns as
      // soon as the last connection and timer are gone.
      if (worker->thread.joinable()) {
        Worker* raw = worker.get();
        asio::post(raw->io, [raw] { raw->guard.reset(); });
        worker->thread.join();
      } else {
        worker->guard.reset();
      }
    }
    acceptor_.reset();
    accept_retry_.reset();
    for (auto& worker : workers_) {
      worker->connections.clear();
    }
    workers_.clear();
    state_.pool.reset();
  }

  ServerState state_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::optional<Acceptor> acceptor_;
  std::optional<asio::steady_timer> accept_retry_;
  size_t next_worker_ = 0;  // used only on worker 0's thread
  uint16_t port_ = 0;
  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;
};

HttpsServer::HttpsServer(HttpsServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

HttpsServer::~HttpsServer() = default;

Status HttpsServer::Start() { return impl_->Start(); }

uint16_t HttpsServer::port() const { return impl_->port(); }

void HttpsServer::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }

}  // namespace aloft::server
