// HttpsServer over real TLS on 127.0.0.1 with a throwaway PKI, exercised with libcurl (as
// devices and the CLI will talk to it) and, where curl cannot misbehave on purpose, with a raw
// OpenSSL client.

#include "server/http/https_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server/http/file_range.h"
#include "support/test_pki.h"
#include "support/vectors.h"

namespace aloft::server {
namespace {

// "code: reason" — statuses from another translation unit carry equal but distinct literals,
// so tests compare their text.
std::string Describe(const Status& status) {
  return std::string(CodeName(status.code())) + ": " + status.reason() +
         (status.has_context() ? " @" + std::to_string(status.context()) : "");
}

using namespace std::chrono_literals;
using testing::TempDir;
using testing::TestPki;

constexpr uint64_t kFileSize = 3 * 1024 * 1024;
constexpr uint64_t kBodyLimit = 64 * 1024;

// ---- libcurl client -------------------------------------------------------------------------

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  long new_connections = -1;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "<absent>" : it->second;
  }
};

struct RequestSpec {
  std::string method = "GET";
  std::string path = "/";
  std::string body;
  std::vector<std::string> headers;
  std::string ca;  // defaults to the server CA
  std::string client_cert;
  std::string client_key;
  long tls_version = CURL_SSLVERSION_DEFAULT;
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

// One client with its own connection cache, so consecutive requests reuse a connection.
class Client {
 public:
  Client(uint16_t port, std::string ca)
      : port_(port), ca_(std::move(ca)), easy_(curl_easy_init()) {}
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { curl_easy_cleanup(easy_); }

  Reply Send(const RequestSpec& spec) {
    Reply reply;
    curl_easy_reset(easy_);
    std::string url = "https://127.0.0.1:" + std::to_string(port_) + spec.path;
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_CAINFO, spec.ca.empty() ? ca_.c_str() : spec.ca.c_str());
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(easy_, CURLOPT_SSLVERSION, spec.tls_version);
    if (!spec.client_cert.empty()) {
      curl_easy_setopt(easy_, CURLOPT_SSLCERT, spec.client_cert.c_str());
      curl_easy_setopt(easy_, CURLOPT_SSLKEY, spec.client_key.c_str());
    }
    if (spec.method == "HEAD") {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    } else if (spec.method == "POST") {
      curl_easy_setopt(easy_, CURLOPT_POST, 1L);
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, spec.body.data());
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(spec.body.size()));
    } else if (spec.method != "GET") {
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, spec.method.c_str());
    }
    curl_slist* list = nullptr;
    for (const std::string& header : spec.headers) {
      list = curl_slist_append(list, header.c_str());
    }
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, AppendHeader);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &reply.headers);
    reply.code = curl_easy_perform(easy_);
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &reply.new_connections);
    curl_slist_free_all(list);
    return reply;
  }

  Reply Get(const std::string& path, std::vector<std::string> headers = {}) {
    RequestSpec spec;
    spec.path = path;
    spec.headers = std::move(headers);
    return Send(spec);
  }

 private:
  uint16_t port_;
  std::string ca_;
  CURL* easy_;
};

// ---- raw TLS client (for what curl will not send) ------------------------------------------

class RawTlsClient {
 public:
  RawTlsClient() = default;
  RawTlsClient(const RawTlsClient&) = delete;
  RawTlsClient& operator=(const RawTlsClient&) = delete;
  ~RawTlsClient() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    if (context_ != nullptr) {
      SSL_CTX_free(context_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }

  // Connects and handshakes with exactly `version` (0: any); true on success. A five-second
  // receive timeout keeps a broken server from hanging the test.
  bool Connect(uint16_t port, const std::string& ca, int version = 0) {
    context_ = SSL_CTX_new(TLS_client_method());
    if (version != 0) {
      SSL_CTX_set_min_proto_version(context_, version);
      SSL_CTX_set_max_proto_version(context_, version);
      // Debian's default security level refuses TLS 1.1 on the client side; lower it so the
      // refusal under test is the server's.
      SSL_CTX_set_security_level(context_, 0);
      SSL_CTX_set_cipher_list(context_, "DEFAULT@SECLEVEL=0");
    }
    SSL_CTX_load_verify_locations(context_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return false;
    }
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, fd_);
    ERR_clear_error();
    if (SSL_connect(ssl_) != 1) {
      last_error_ = ERR_peek_last_error();
      return false;
    }
    return true;
  }

  bool Write(const std::string& data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }

  // Reads until the server closes (close_notify or EOF). Sets timed_out() if the 5 s receive
  // timeout expired first.
  std::string ReadUntilClose() {
    std::string data;
    char buffer[16384];
    while (true) {
      int got = SSL_read(ssl_, buffer, sizeof(buffer));
      if (got > 0) {
        data.append(buffer, static_cast<size_t>(got));
        continue;
      }
      int error = SSL_get_error(ssl_, got);
      timed_out_ = error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK);
      return data;
    }
  }

  // Reads until `data` holds a whole response with a Content-Length body.
  std::string ReadResponse() {
    std::string data;
    char buffer[16384];
    while (true) {
      size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length_at = data.find("Content-Length: ");
        size_t length = length_at == std::string::npos || length_at > end
                            ? 0
                            : std::stoul(data.substr(length_at + 16));
        if (data.size() >= end + 4 + length) {
          return data;
        }
      }
      int got = SSL_read(ssl_, buffer, sizeof(buffer));
      if (got <= 0) {
        return data;
      }
      data.append(buffer, static_cast<size_t>(got));
    }
  }

  SSL* ssl() const { return ssl_; }
  unsigned long last_error() const { return last_error_; }
  bool timed_out() const { return timed_out_; }

 private:
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  unsigned long last_error_ = 0;
  bool timed_out_ = false;
};

// True once nothing accepts connections on the port (the listener is closed).
bool ConnectRefused(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
                 errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

// ---- the server under test ------------------------------------------------------------------

// A one-shot gate a handler can wait on, so a test controls when a request finishes.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool WaitOpen(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

class HttpsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_ = new CurlGlobal(); }
  static void TearDownTestSuite() {
    delete curl_;
    curl_ = nullptr;
  }

  void SetUp() override {
    std::optional<TestPki> pki = testing::MakeTestPki(dir_.path());
    ASSERT_TRUE(pki.has_value());
    pki_ = *pki;
    file_path_ = dir_ / "artifact.bin";
    std::mt19937 random(12345);  // fixed seed: the content only has to be irregular
    file_content_.resize(kFileSize);
    for (char& c : file_content_) {
      c = static_cast<char>(random() & 0xFF);
    }
    std::ofstream(file_path_, std::ios::binary)
        .write(file_content_.data(), static_cast<std::streamsize>(kFileSize));
  }

  void TearDown() override {
    if (server_) {
      server_->Stop(5s);
    }
  }

  HttpsServerOptions Options() {
    HttpsServerOptions options;
    options.port = 0;
    options.certificate_chain_path = pki_.server_cert;
    options.private_key_path = pki_.server_key;
    options.io_threads = 2;
    options.max_body_bytes = kBodyLimit;
    options.access_log = [this](const AccessLogEntry& entry) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.push_back(LoggedRequest{std::string(entry.method), std::string(entry.path), entry.status,
                                   entry.body_bytes, entry.completed});
      log_changed_.notify_all();
    };
    return options;
  }

  Router Routes() {
    Router router;
    EXPECT_TRUE(router
                    .Add("GET", "/healthz",
                         [](const HttpRequest&) {
                           HttpResponse response;
                           response.headers.Add("Content-Type", "text/plain");
                           response.body = "ok\n";
                           return response;
                         })
                    .ok());
    EXPECT_TRUE(router
                    .Add("GET", "/api/v1/items/{id}",
                         [](const HttpRequest& request) {
                           const std::string* verbose = request.Query("verbose");
                           return JsonResponse(
                               200, {{"id", *request.PathParam("id")},
                                     {"verbose", verbose ? *verbose : std::string("-")}});
                         })
                    .ok());
    EXPECT_TRUE(router
                    .Add("POST", "/api/v1/echo",
                         [this](const HttpRequest& request) {
                           ++handled_posts_;
                           boost::system::error_code ec;
                           boost::json::value body = boost::json::parse(request.body, ec);
                           if (ec) {
                             return JsonError(400, "bad_json", "the body is not JSON");
                           }
                           return JsonResponse(
                               200, {{"received", body},
                                     {"bytes", request.body.size()},
                                     {"client_cn", request.client_cn
                                                       ? boost::json::value(*request.client_cn)
                                                       : boost::json::value(nullptr)},
                                     {"remote", request.remote_address}});
                         })
                    .ok());
    EXPECT_TRUE(router
                    .Add("GET", "/artifact",
                         [this](const HttpRequest& request) {
                           FileBody file;
                           file.path = file_path_;
                           file.total_size = kFileSize;
                           return FileResponse(request, std::move(file), StrongEtag("c0ffee"),
                                               "application/octet-stream");
                         })
                    .ok());
    EXPECT_TRUE(router
                    .Add("GET", "/slow",
                         [this](const HttpRequest&) {
                           slow_entered_.Open();
                           EXPECT_TRUE(slow_release_.WaitOpen(20s));
                           HttpResponse response;
                           response.body = "finished";
                           return response;
                         })
                    .ok());
    return router;
  }

  void StartServer(HttpsServerOptions options) {
    server_ = std::make_unique<HttpsServer>(std::move(options), Routes());
    Status status = server_->Start();
    ASSERT_TRUE(status.ok()) << status.reason();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }

  void StartServer() { StartServer(Options()); }
  void StopDuringRequest(HttpsServerOptions options);

  struct LoggedRequest {
    std::string method;
    std::string path;
    int status;
    uint64_t body_bytes;
    bool completed;
  };
  // The access log once it has at least `count` entries (or after 10 s): the server logs after
  // the last byte is handed to TLS, so the client may see the response first.
  std::vector<LoggedRequest> Log(size_t count) {
    std::unique_lock<std::mutex> lock(log_mutex_);
    log_changed_.wait_for(lock, 10s, [&] { return log_.size() >= count; });
    return log_;
  }

  static CurlGlobal* curl_;
  TempDir dir_;
  TestPki pki_;
  std::string file_path_;
  std::string file_content_;
  std::unique_ptr<HttpsServer> server_;
  uint16_t port_ = 0;
  std::atomic<int> handled_posts_{0};
  Gate slow_entered_;
  Gate slow_release_;
  std::mutex log_mutex_;
  std::condition_variable log_changed_;
  std::vector<LoggedRequest> log_;
};

CurlGlobal* HttpsServerTest::curl_ = nullptr;

TEST_F(HttpsServerTest, GetJson_PathAndQueryDecoded) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/api/v1/items/a%20b?verbose=yes%21&x=1");
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.body, R"({"id":"a b","verbose":"yes!"})");
  EXPECT_EQ(reply.Header("content-length"), std::to_string(reply.body.size()));
  EXPECT_NE(reply.Header("date"), "<absent>");
}

TEST_F(HttpsServerTest, PostJson_HandlerSeesBodyAndPeer) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/api/v1/echo";
  spec.body = R"({"device":"d1","nonce":"00ff"})";
  spec.headers = {"Content-Type: application/json"};
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"received":{"device":"d1","nonce":"00ff"},"bytes":30,"client_cn":null,)"
                        R"("remote":"127.0.0.1"})");
}

TEST_F(HttpsServerTest, UnknownPath_404JsonError) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/nope");
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.body, R"({"error":{"code":"not_found","message":"no resource at /nope"}})");
}

TEST_F(HttpsServerTest, WrongMethod_405WithAllow) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "DELETE";
  spec.path = "/api/v1/echo";
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.Header("allow"), "POST");
  EXPECT_NE(reply.body.find(R"("code":"method_not_allowed")"), std::string::npos);
}

TEST_F(HttpsServerTest, BodyTooLarge_413AndHandlerNeverRuns) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/api/v1/echo";
  spec.body = "[" + std::string(3 * kBodyLimit, ' ') + "]";
  spec.headers = {"Content-Type: application/json", "Expect:"};  // send the body at once
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.Header("connection"), "close");
  EXPECT_EQ(reply.body,
            R"({"error":{"code":"body_too_large","message":"the request body exceeds )" +
                std::to_string(kBodyLimit) + R"( bytes"}})");
  EXPECT_EQ(handled_posts_.load(), 0);

  // With Expect: 100-continue the answer comes before the body is sent.
  spec.headers = {"Content-Type: application/json", "Expect: 100-continue"};
  reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(handled_posts_.load(), 0);
}

TEST_F(HttpsServerTest, ChunkedBodyOverLimit_413) {
  StartServer();
  RawTlsClient raw;
  ASSERT_TRUE(raw.Connect(port_, pki_.ca_cert));
  std::string chunk(40 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  std::string request =
      "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    request += size_line + chunk + "\r\n";
  }
  request += "0\r\n\r\n";
  ASSERT_TRUE(raw.Write(request));
  std::string response = raw.ReadUntilClose();
  EXPECT_FALSE(raw.timed_out());
  EXPECT_EQ(response.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << response;
  EXPECT_EQ(handled_posts_.load(), 0);
}

TEST_F(HttpsServerTest, AcceptableBodyWithExpectContinue_HandlerGetsWholeBody) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/api/v1/echo";
  spec.body = "\"" + std::string(kBodyLimit - 2, 'a') + "\"";
  spec.headers = {"Expect: 100-continue"};
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("\"bytes\":" + std::to_string(kBodyLimit)), std::string::npos);
}

TEST_F(HttpsServerTest, MalformedRequests_400AndClose) {
  StartServer();
  const char* requests[] = {
      "GET /healthz HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GE(T /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET /healthz HTTP/1.1\r\n\r\n",            // HTTP/1.1 without Host
      "GET healthz HTTP/1.1\r\nHost: t\r\n\r\n",  // not an absolute path
      "GET /healthz?a=%zz HTTP/1.1\r\nHost: t\r\n\r\n",
      "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const char* request : requests) {
    SCOPED_TRACE(request);
    RawTlsClient raw;
    ASSERT_TRUE(raw.Connect(port_, pki_.ca_cert));
    ASSERT_TRUE(raw.Write(request));
    std::string response = raw.ReadUntilClose();
    EXPECT_FALSE(raw.timed_out());
    EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
    EXPECT_NE(response.find(R"({"error":{"code":"bad_request",)"), std::string::npos);
  }
  EXPECT_EQ(handled_posts_.load(), 0);
}

TEST_F(HttpsServerTest, HeaderOverLimit_431) {
  HttpsServerOptions options = Options();
  options.max_header_bytes = 1024;
  StartServer(std::move(options));
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/healthz", {"X-Padding: " + std::string(2000, 'p')});
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 431);
  EXPECT_NE(reply.body.find(R"("code":"header_too_large")"), std::string::npos);
}

TEST_F(HttpsServerTest, KeepAlive_ThreeRequestsOneConnection) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply first = client.Get("/healthz");
  Reply second = client.Get("/api/v1/items/2");
  Reply third = client.Get("/healthz");
  ASSERT_EQ(third.code, CURLE_OK);
  EXPECT_EQ(first.new_connections, 1);
  EXPECT_EQ(second.new_connections, 0);
  EXPECT_EQ(third.new_connections, 0);
  EXPECT_EQ(first.body, "ok\n");
  EXPECT_EQ(second.body, R"({"id":"2","verbose":"-"})");
  EXPECT_EQ(third.Header("connection"), "<absent>");
}

TEST_F(HttpsServerTest, PipelinedRequests_AnsweredInOrder) {
  StartServer();
  RawTlsClient raw;
  ASSERT_TRUE(raw.Connect(port_, pki_.ca_cert));
  std::string requests;
  for (int i = 0; i < 40; ++i) {
    requests += "GET /api/v1/items/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  requests += "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  ASSERT_TRUE(raw.Write(requests));
  std::string responses = raw.ReadUntilClose();
  EXPECT_FALSE(raw.timed_out());
  size_t position = 0;
  for (int i = 0; i < 40; ++i) {
    std::string body = R"({"id":")" + std::to_string(i) + R"(","verbose":"-"})";
    size_t found = responses.find(body, position);
    ASSERT_NE(found, std::string::npos) << "response " << i;
    position = found + body.size();
  }
  EXPECT_NE(responses.find("Connection: close\r\n\r\nok\n", position), std::string::npos);
}

TEST_F(HttpsServerTest, Head_LengthWithoutBody) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "HEAD";
  spec.path = "/api/v1/items/7";
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-length"),
            std::to_string(std::string(R"({"id":"7","verbose":"-"})").size()));
  EXPECT_TRUE(reply.body.empty());
}

TEST_F(HttpsServerTest, FileWhole_ByteExact) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/artifact");
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-length"), std::to_string(kFileSize));
  EXPECT_EQ(reply.Header("etag"), "\"c0ffee\"");
  EXPECT_EQ(reply.Header("accept-ranges"), "bytes");
  EXPECT_EQ(reply.Header("content-type"), "application/octet-stream");
  ASSERT_EQ(reply.body.size(), kFileSize);
  EXPECT_TRUE(reply.body == file_content_);
  std::vector<LoggedRequest> log = Log(1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].body_bytes, kFileSize);
  EXPECT_EQ(log[0].status, 200);
  EXPECT_TRUE(log[0].completed);
}

TEST_F(HttpsServerTest, FileRanges_206ByteExact) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  struct Case {
    const char* range;
    uint64_t first;
    uint64_t length;
  };
  const Case cases[] = {
      {"bytes=0-0", 0, 1},
      {"bytes=1000-1999", 1000, 1000},
      {"bytes=65535-200000", 65535, 134466},  // across read-buffer boundaries
      {"bytes=3000000-", 3000000, kFileSize - 3000000},
      {"bytes=-4097", kFileSize - 4097, 4097},
      {"bytes=1-", 1, kFileSize - 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.range);
    Reply reply = client.Get("/artifact", {std::string("Range: ") + c.range});
    ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
    EXPECT_EQ(reply.status, 206);
    EXPECT_EQ(reply.Header("content-range"), ContentRangeValue(c.first, c.length, kFileSize));
    EXPECT_EQ(reply.Header("content-length"), std::to_string(c.length));
    ASSERT_EQ(reply.body.size(), c.length);
    EXPECT_TRUE(reply.body == file_content_.substr(c.first, c.length));
  }
}

TEST_F(HttpsServerTest, FileUnsatisfiableRange_416WithStarRange) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/artifact", {"Range: bytes=" + std::to_string(kFileSize) + "-"});
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 416);
  EXPECT_EQ(reply.Header("content-range"), "bytes */" + std::to_string(kFileSize));
  EXPECT_NE(reply.body.find(R"("code":"range_not_satisfiable")"), std::string::npos);
}

TEST_F(HttpsServerTest, FileIfNoneMatch_304WithoutBody) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/artifact", {"If-None-Match: \"c0ffee\""});
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 304);
  EXPECT_EQ(reply.Header("etag"), "\"c0ffee\"");
  EXPECT_EQ(reply.Header("content-length"), "<absent>");
  EXPECT_TRUE(reply.body.empty());
  // The connection is still good for the next request.
  Reply next = client.Get("/healthz");
  EXPECT_EQ(next.body, "ok\n");
  EXPECT_EQ(next.new_connections, 0);
}

TEST_F(HttpsServerTest, FileIfRangeStale_WholeFile) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  Reply reply = client.Get("/artifact", {"Range: bytes=0-9", "If-Range: \"old\""});
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.body == file_content_);
  reply = client.Get("/artifact", {"Range: bytes=0-9", "If-Range: \"c0ffee\""});
  EXPECT_EQ(reply.status, 206);
  EXPECT_EQ(reply.body, file_content_.substr(0, 10));
}

TEST_F(HttpsServerTest, FileHead_FullLengthNoBody) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "HEAD";
  spec.path = "/artifact";
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-length"), std::to_string(kFileSize));
  EXPECT_TRUE(reply.body.empty());
  spec.headers = {"Range: bytes=10-19"};
  reply = client.Send(spec);
  EXPECT_EQ(reply.status, 206);
  EXPECT_EQ(reply.Header("content-length"), "10");
  // Still in step: the next response on the connection is intact.
  Reply next = client.Get("/artifact", {"Range: bytes=-3"});
  EXPECT_EQ(next.new_connections, 0);
  EXPECT_EQ(next.body, file_content_.substr(kFileSize - 3));
}

TEST_F(HttpsServerTest, ClientCertificate_VerifiedCnReachesHandler) {
  HttpsServerOptions options = Options();
  options.client_ca_path = pki_.client_ca_cert;
  StartServer(std::move(options));
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/api/v1/echo";
  spec.body = "{}";
  spec.client_cert = pki_.client_cert;
  spec.client_key = pki_.client_key;
  Reply reply = client.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_NE(reply.body.find(R"("client_cn":"device-42")"), std::string::npos) << reply.body;

  // No certificate at all is allowed; the handler sees none.
  Client anonymous(port_, pki_.ca_cert);
  spec.client_cert.clear();
  spec.client_key.clear();
  reply = anonymous.Send(spec);
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_NE(reply.body.find(R"("client_cn":null)"), std::string::npos) << reply.body;
}

TEST_F(HttpsServerTest, ClientCertificateFromOtherCa_HandshakeRejected) {
  HttpsServerOptions options = Options();
  options.client_ca_path = pki_.client_ca_cert;
  StartServer(std::move(options));
  Client client(port_, pki_.ca_cert);
  RequestSpec spec;
  spec.method = "POST";
  spec.path = "/api/v1/echo";
  spec.body = "{}";
  spec.client_cert = pki_.rogue_client_cert;
  spec.client_key = pki_.rogue_client_key;
  Reply reply = client.Send(spec);
  // TLS 1.3: the server's alert arrives after the client's handshake has finished, so curl
  // reports it on receive (56) or during the handshake (35), depending on timing.
  EXPECT_TRUE(reply.code == CURLE_SSL_CONNECT_ERROR || reply.code == CURLE_RECV_ERROR)
      << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 0);
  EXPECT_EQ(handled_posts_.load(), 0);
}

TEST_F(HttpsServerTest, ClientPinsWrongCa_Curl60) {
  StartServer();
  Client client(port_, pki_.other_ca_cert);
  Reply reply = client.Get("/healthz");
  EXPECT_EQ(reply.code, CURLE_PEER_FAILED_VERIFICATION);
  EXPECT_EQ(reply.code, 60);
}

TEST_F(HttpsServerTest, Tls11Client_RefusedByServer) {
  StartServer();
  RawTlsClient tls11;
  EXPECT_FALSE(tls11.Connect(port_, pki_.ca_cert, TLS1_1_VERSION));
  // The refusal is the server's protocol_version alert, not the client's own policy.
  EXPECT_EQ(ERR_GET_REASON(tls11.last_error()), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
      << ERR_reason_error_string(tls11.last_error());

  RawTlsClient tls12;
  ASSERT_TRUE(tls12.Connect(port_, pki_.ca_cert, TLS1_2_VERSION));
  EXPECT_EQ(SSL_version(tls12.ssl()), TLS1_2_VERSION);
  ASSERT_TRUE(tls12.Write("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_NE(tls12.ReadResponse().find("\r\n\r\nok\n"), std::string::npos);

  RawTlsClient tls13;
  ASSERT_TRUE(tls13.Connect(port_, pki_.ca_cert, TLS1_3_VERSION));
  EXPECT_EQ(SSL_version(tls13.ssl()), TLS1_3_VERSION);
}

TEST_F(HttpsServerTest, IdleKeepAlive_ClosedAfterIdleTimeout) {
  HttpsServerOptions options = Options();
  options.idle_timeout = 100ms;
  StartServer(std::move(options));
  RawTlsClient raw;
  ASSERT_TRUE(raw.Connect(port_, pki_.ca_cert));
  ASSERT_TRUE(raw.Write("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string data = raw.ReadUntilClose();  // the response, then the server's close
  EXPECT_FALSE(raw.timed_out());
  EXPECT_EQ(data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(SSL_get_shutdown(raw.ssl()) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
}

TEST_F(HttpsServerTest, StalledRequest_ClosedAfterRequestTimeout) {
  HttpsServerOptions options = Options();
  options.request_timeout = 150ms;
  StartServer(std::move(options));
  RawTlsClient raw;
  ASSERT_TRUE(raw.Connect(port_, pki_.ca_cert));
  ASSERT_TRUE(raw.Write("GET /healthz HTTP/1.1\r\nHost: t\r\n"));  // the header never ends
  std::string data = raw.ReadUntilClose();
  EXPECT_FALSE(raw.timed_out());
  EXPECT_TRUE(data.empty());
}

TEST_F(HttpsServerTest, SilentTcpClient_ClosedAfterRequestTimeout) {
  HttpsServerOptions options = Options();
  options.request_timeout = 150ms;
  StartServer(std::move(options));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  char byte = 0;
  // No ClientHello: the server gives up on the handshake and closes (0), well before the 5 s
  // receive timeout (-1).
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);
  ::close(fd);
}

// Stop while a handler is blocked: the listener closes at once, an idle keep-alive connection
// is closed, and the request in flight still gets its whole answer (with Connection: close).
void HttpsServerTest::StopDuringRequest(HttpsServerOptions options) {
  StartServer(std::move(options));
  RawTlsClient idle;
  ASSERT_TRUE(idle.Connect(port_, pki_.ca_cert));
  ASSERT_TRUE(idle.Write("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_NE(idle.ReadResponse().find("ok\n"), std::string::npos);

  Reply slow_reply;
  std::thread request([&] {
    Client client(port_, pki_.ca_cert);
    slow_reply = client.Get("/slow");
  });
  ASSERT_TRUE(slow_entered_.WaitOpen(20s));
  std::thread stopper([&] { server_->Stop(20s); });
  // Stop has begun once the listener is gone; only then may the handler finish.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    refused = ConnectRefused(port_);
  }
  EXPECT_TRUE(refused);
  slow_release_.Open();
  request.join();
  stopper.join();
  EXPECT_EQ(slow_reply.code, CURLE_OK) << curl_easy_strerror(slow_reply.code);
  EXPECT_EQ(slow_reply.status, 200);
  EXPECT_EQ(slow_reply.body, "finished");
  EXPECT_EQ(slow_reply.Header("connection"), "close");
  std::string idle_rest = idle.ReadUntilClose();
  EXPECT_FALSE(idle.timed_out());
  EXPECT_TRUE(idle_rest.empty());
  EXPECT_EQ(SSL_get_shutdown(idle.ssl()) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
  server_.reset();
}

TEST_F(HttpsServerTest, GracefulStop_InFlightRequestCompletes) { StopDuringRequest(Options()); }

TEST_F(HttpsServerTest, GracefulStopWithHandlerPool_InFlightRequestCompletes) {
  HttpsServerOptions options = Options();
  options.io_threads = 1;
  options.handler_threads = 2;
  StopDuringRequest(std::move(options));
}

void RunConcurrentClients(uint16_t port, const std::string& ca, int threads, int requests,
                          std::atomic<int>& good) {
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      Client client(port, ca);
      for (int i = 0; i < requests; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        Reply reply = client.Get("/api/v1/items/" + id);
        if (reply.code == CURLE_OK && reply.status == 200 &&
            reply.body == R"({"id":")" + id + R"(","verbose":"-"})") {
          ++good;
        }
      }
    });
  }
  for (std::thread& client : clients) {
    client.join();
  }
}

TEST_F(HttpsServerTest, ConcurrentClients_AllAnsweredCorrectly) {
  StartServer();
  std::atomic<int> good{0};
  RunConcurrentClients(port_, pki_.ca_cert, 32, 50, good);
  EXPECT_EQ(good.load(), 32 * 50);
  EXPECT_EQ(Log(32 * 50).size(), 32u * 50u);
}

TEST_F(HttpsServerTest, ConcurrentClientsWithHandlerPool_AllAnsweredCorrectly) {
  HttpsServerOptions options = Options();
  options.handler_threads = 3;
  StartServer(std::move(options));
  std::atomic<int> good{0};
  RunConcurrentClients(port_, pki_.ca_cert, 32, 50, good);
  EXPECT_EQ(good.load(), 32 * 50);
}

TEST_F(HttpsServerTest, AccessLog_OneEntryPerResponseWithoutQuery) {
  StartServer();
  Client client(port_, pki_.ca_cert);
  client.Get("/api/v1/items/9?token=secret");
  client.Get("/missing");
  std::vector<LoggedRequest> log = Log(2);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].path, "/api/v1/items/9");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[0].body_bytes, std::string(R"({"id":"9","verbose":"-"})").size());
  EXPECT_EQ(log[1].path, "/missing");
  EXPECT_EQ(log[1].status, 404);
}

TEST_F(HttpsServerTest, MaxConnections_ExtraConnectionClosed) {
  HttpsServerOptions options = Options();
  options.max_connections = 1;
  StartServer(std::move(options));
  RawTlsClient first;
  ASSERT_TRUE(first.Connect(port_, pki_.ca_cert));
  RawTlsClient second;
  EXPECT_FALSE(second.Connect(port_, pki_.ca_cert));
  ASSERT_TRUE(first.Write("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_NE(first.ReadResponse().find("ok\n"), std::string::npos);
}

TEST(HttpsServer_Start, MissingCertificate_InvalidArgument) {
  HttpsServerOptions options;
  options.port = 0;
  options.certificate_chain_path = "/nonexistent/server.pem";
  options.private_key_path = "/nonexistent/server.key";
  HttpsServer server(options, Router());
  EXPECT_EQ(Describe(server.Start()),
            Describe(InvalidArgument("https: cannot load certificate chain")));
}

TEST(HttpsServer_Start, BadOptions_InvalidArgument) {
  HttpsServerOptions options;
  options.certificate_chain_path = "a";
  options.private_key_path = "b";
  options.io_threads = 0;
  EXPECT_EQ(Describe(HttpsServer(options, Router()).Start()),
            Describe(InvalidArgument("https: bad options")));
  options.io_threads = 1;
  options.listen_address = "localhost";  // a name, not an address literal
  EXPECT_EQ(Describe(HttpsServer(options, Router()).Start()),
            Describe(InvalidArgument("https: bad listen address")));
}

TEST_F(HttpsServerTest, PortInUse_Unavailable) {
  StartServer();
  HttpsServerOptions options = Options();
  options.port = port_;
  HttpsServer second(options, Router());
  Status status = second.Start();
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_STREQ(status.reason(), "https: cannot listen");
  EXPECT_EQ(status.context(), static_cast<uint32_t>(EADDRINUSE));
}

TEST_F(HttpsServerTest, StopTwiceAndDestroy_NoEffect) {
  StartServer();
  server_->Stop(1s);
  server_->Stop(1s);
  EXPECT_TRUE(ConnectRefused(port_));
  server_.reset();
}

}  // namespace
}  // namespace aloft::server
