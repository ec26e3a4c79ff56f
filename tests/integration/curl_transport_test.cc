// CurlTransport (ports/host) against a real HttpsServer on 127.0.0.1 over TLS with a throwaway
// PKI, and through the FaultProxy (emulator) where the connection must break: the port's
// contract (core/port/transport.h) call by call — POST with captured headers, GET streamed with
// Range, 416, the HTTP status table, a wrong CA, a certificate for another host, a refused
// connection, a stalled handshake, a stalled body, a body cut short then resumed, a sink that
// refuses — and connection reuse.

#include "ports/host/curl_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "emulator/fault_proxy.h"
#include "server/http/file_range.h"
#include "server/http/https_server.h"
#include "support/status_testing.h"
#include "support/test_pki.h"
#include "support/vectors.h"

namespace aloft {
namespace {

using namespace std::chrono_literals;
using emulator::FaultKind;
using emulator::FaultProxy;
using emulator::FaultProxyOptions;

constexpr const char* kToken = "device-token-1";
constexpr uint32_t kBlobSize = 300'000;

std::vector<std::byte> BlobBytes() {
  std::vector<std::byte> bytes(kBlobSize);
  uint32_t state = 12345;
  for (std::byte& b : bytes) {
    state = state * 1103515245 + 12345;
    b = static_cast<std::byte>(state >> 24);
  }
  return bytes;
}

// Collects a GET body; can refuse after a number of bytes.
class CollectingSink final : public port::ResponseSink {
 public:
  Status OnStart(uint16_t http_status, uint32_t first_byte, uint32_t total_size) override {
    ++starts;
    status = http_status;
    first = first_byte;
    total = total_size;
    return OkStatus();
  }
  Status OnData(ConstByteSpan chunk) override {
    bytes.insert(bytes.end(), chunk.begin(), chunk.end());
    if (refuse_after != 0 && bytes.size() >= refuse_after) {
      return PermissionDenied("sink: enough");
    }
    return OkStatus();
  }
  int starts = 0;
  uint16_t status = 0;
  uint32_t first = 0;
  uint32_t total = 0;
  size_t refuse_after = 0;
  std::vector<std::byte> bytes;
};

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::MakeTestPki(dir_.path()).value();
    blob_ = BlobBytes();
    {
      std::ofstream file(dir_ / "blob.bin", std::ios::binary);
      file.write(reinterpret_cast<const char*>(blob_.data()),
                 static_cast<std::streamsize>(blob_.size()));
    }
    server::Router router;
    const std::string blob_path = (dir_ / "blob.bin").string();
    auto authorized = [](const server::HttpRequest& request) {
      const std::string* header = request.Header("Authorization");
      return header != nullptr && *header == std::string("Bearer ") + kToken;
    };
    ASSERT_TRUE(router
                    .Add("POST", "/api/v1/check",
                         [authorized](const server::HttpRequest& request) {
                           if (!authorized(request)) {
                             return server::JsonError(401, "unauthenticated", "token");
                           }
                           server::HttpResponse response;
                           response.headers.Add("X-Aloft-Freshness", "00ff11ee");
                           response.headers.Add("Content-Type", "application/json");
                           response.body = "{\"echo\":" + request.body + "}";
                           return response;
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add("POST", "/big",
                         [](const server::HttpRequest&) {
                           server::HttpResponse response;
                           response.body = std::string(10'000, 'x');
                           return response;
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add("GET", "/blob",
                         [blob_path, authorized](const server::HttpRequest& request) {
                           if (!authorized(request)) {
                             return server::JsonError(401, "unauthenticated", "token");
                           }
                           server::FileBody file;
                           file.path = blob_path;
                           file.total_size = kBlobSize;
                           return server::FileResponse(request, std::move(file), "\"blob\"",
                                                       "application/octet-stream");
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add("GET", "/norange",
                         [this](const server::HttpRequest&) {
                           server::HttpResponse response;
                           response.body =
                               std::string(reinterpret_cast<const char*>(blob_.data()), 1000);
                           return response;
                         })
                    .ok());
    ASSERT_TRUE(router
                    .Add("POST", "/status/{code}",
                         [](const server::HttpRequest& request) {
                           const int code = std::stoi(*request.PathParam("code"));
                           return server::JsonError(code, "test", "as asked");
                         })
                    .ok());
    server::HttpsServerOptions options;
    options.port = 0;
    options.listen_address = "0.0.0.0";  // so 127.0.0.2 reaches it too (a host not in the SAN)
    options.certificate_chain_path = pki_.server_cert.string();
    options.private_key_path = pki_.server_key.string();
    server_ = std::make_unique<server::HttpsServer>(options, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    ca_pem_ = testing::ReadText(pki_.ca_cert);
  }

  void TearDown() override {
    if (server_) {
      server_->Stop(1s);
    }
  }

  std::unique_ptr<host::CurlTransport> Transport(uint16_t port, std::string ca = "",
                                                 std::string host = "127.0.0.1",
                                                 bool reuse = true) {
    host::CurlTransportOptions options;
    options.base_url = "https://" + host + ":" + std::to_string(port);
    options.ca_pem = ca.empty() ? ca_pem_ : ca;
    options.bearer_token = kToken;
    options.reuse_connection = reuse;
    return host::CurlTransport::Create(options).value();
  }
  std::unique_ptr<host::CurlTransport> Transport() { return Transport(server_->port()); }

  std::unique_ptr<FaultProxy> Proxy() {
    FaultProxyOptions options;
    options.upstream_port = server_->port();
    options.stall = 10s;
    return FaultProxy::Start(options).value();
  }

  Result<port::PostResult> PostCheck(host::CurlTransport& transport, std::vector<char>& buffer,
                                     std::span<port::HeaderCapture> captures = {}) {
    return transport.Post("/api/v1/check", "{\"a\":1}",
                          ByteSpan(reinterpret_cast<std::byte*>(buffer.data()), buffer.size()),
                          captures, 5000);
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
  std::vector<std::byte> blob_;
  std::string ca_pem_;
  std::unique_ptr<server::HttpsServer> server_;
};

TEST_F(CurlTransportTest, Create_RefusesPlainHttpAndAMissingCa) {
  host::CurlTransportOptions options;
  options.base_url = "http://127.0.0.1:1";
  options.ca_pem = ca_pem_;
  EXPECT_STATUS(host::CurlTransport::Create(options).status(),
                InvalidArgument("transport: base url must start with https://"));
  options.base_url = "https://127.0.0.1:1";
  options.ca_pem = "not a certificate";
  EXPECT_STATUS(host::CurlTransport::Create(options).status(),
                InvalidArgument("transport: no CA certificate"));
}

TEST_F(CurlTransportTest, Post_AnswerLandsInTheBufferWithTheCapturedHeader) {
  auto transport = Transport();
  std::vector<char> buffer(4096);
  std::array<char, 64> value{};
  port::HeaderCapture captures[] = {{"x-aloft-freshness", value}};
  Result<port::PostResult> posted = PostCheck(*transport, buffer, captures);
  ASSERT_TRUE(posted.ok()) << testing::DescribeStatus(posted.status()) << transport->last_error();
  EXPECT_EQ(posted->http_status, 200);
  EXPECT_EQ(std::string(buffer.data(), posted->body_size), "{\"echo\":{\"a\":1}}");
  EXPECT_TRUE(captures[0].present);
  EXPECT_FALSE(captures[0].truncated);
  EXPECT_EQ(captures[0].text(), "00ff11ee");
  EXPECT_TRUE(transport->last_error().empty());
}

TEST_F(CurlTransportTest, Post_CapturedHeaderLongerThanItsBuffer_IsCutAndMarked) {
  auto transport = Transport();
  std::vector<char> buffer(4096);
  std::array<char, 4> value{};
  port::HeaderCapture captures[] = {{"X-Aloft-Freshness", value}, {"X-Absent", value}};
  ASSERT_TRUE(PostCheck(*transport, buffer, captures).ok());
  EXPECT_EQ(captures[0].text(), "00ff");
  EXPECT_TRUE(captures[0].truncated);
  EXPECT_FALSE(captures[1].present);
}

TEST_F(CurlTransportTest, Post_AnswerLargerThanTheBuffer_ResourceExhausted) {
  auto transport = Transport();
  std::vector<std::byte> buffer(4096);
  EXPECT_STATUS(transport->Post("/big", "{}", buffer, {}, 5000).status(),
                ResourceExhausted("transport: response body larger than the buffer", 4096));
}

TEST_F(CurlTransportTest, Post_WrongToken_Unauthenticated) {
  host::CurlTransportOptions options;
  options.base_url = "https://127.0.0.1:" + std::to_string(server_->port());
  options.ca_pem = ca_pem_;
  options.bearer_token = "wrong";
  auto transport = host::CurlTransport::Create(options).value();
  std::vector<char> buffer(4096);
  EXPECT_STATUS(PostCheck(*transport, buffer).status(),
                Unauthenticated("transport: unauthenticated (401)", 401));
  EXPECT_NE(transport->last_error().find("HTTP 401"), std::string::npos);
}

TEST_F(CurlTransportTest, HttpStatuses_MapToThePortsCodes) {
  struct Case {
    int http;
    Status expected;
  };
  const Case cases[] = {
      {400, InvalidArgument("transport: request refused (4xx)", 400)},
      {401, Unauthenticated("transport: unauthenticated (401)", 401)},
      {403, PermissionDenied("transport: permission denied (403)", 403)},
      {404, NotFound("transport: not found (404)", 404)},
      {408, Unavailable("transport: server error", 408)},
      {409, InvalidArgument("transport: request refused (4xx)", 409)},
      {416, OutOfRange("transport: range not satisfiable (416)", 416)},
      {429, Unavailable("transport: server error", 429)},
      {500, Unavailable("transport: server error", 500)},
      {503, Unavailable("transport: server error", 503)},
  };
  auto transport = Transport();
  std::vector<std::byte> buffer(4096);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.http);
    EXPECT_STATUS(
        transport->Post("/status/" + std::to_string(c.http), "{}", buffer, {}, 5000).status(),
        c.expected);
  }
}

TEST_F(CurlTransportTest, Get_WholeBody_StreamedWithItsSize) {
  auto transport = Transport();
  CollectingSink sink;
  ASSERT_TRUE(transport->Get("/blob", 0, sink, 5000).ok()) << transport->last_error();
  EXPECT_EQ(sink.starts, 1);
  EXPECT_EQ(sink.status, 200);
  EXPECT_EQ(sink.first, 0u);
  EXPECT_EQ(sink.total, kBlobSize);
  EXPECT_EQ(sink.bytes, blob_);
}

TEST_F(CurlTransportTest, Get_Range_206FromTheOffsetWithTheTotal) {
  auto transport = Transport();
  CollectingSink sink;
  ASSERT_TRUE(transport->Get("/blob", 123'456, sink, 5000).ok()) << transport->last_error();
  EXPECT_EQ(sink.status, 206);
  EXPECT_EQ(sink.first, 123'456u);
  EXPECT_EQ(sink.total, kBlobSize);
  EXPECT_EQ(sink.bytes, std::vector<std::byte>(blob_.begin() + 123'456, blob_.end()));
}

TEST_F(CurlTransportTest, Get_RangeAtTheEnd_416OutOfRangeAndTheSinkNeverStarts) {
  auto transport = Transport();
  CollectingSink sink;
  EXPECT_STATUS(transport->Get("/blob", kBlobSize, sink, 5000),
                OutOfRange("transport: range not satisfiable (416)", 416));
  EXPECT_EQ(sink.starts, 0);
  EXPECT_TRUE(sink.bytes.empty());
}

TEST_F(CurlTransportTest, Get_ServerIgnoresRange_SinkLearnsTheBodyStartsAtZero) {
  auto transport = Transport();
  CollectingSink sink;
  ASSERT_TRUE(transport->Get("/norange", 500, sink, 5000).ok());
  EXPECT_EQ(sink.status, 200);
  EXPECT_EQ(sink.first, 0u);
  EXPECT_EQ(sink.total, 1000u);
  EXPECT_EQ(sink.bytes.size(), 1000u);
}

TEST_F(CurlTransportTest, Get_SinkRefuses_ItsStatusIsReturnedUnchanged) {
  auto transport = Transport();
  CollectingSink sink;
  sink.refuse_after = 20'000;
  EXPECT_STATUS(transport->Get("/blob", 0, sink, 5000), PermissionDenied("sink: enough"));
  EXPECT_LT(sink.bytes.size(), static_cast<size_t>(kBlobSize));
}

TEST_F(CurlTransportTest, Get_PathNotAbsolute_InvalidArgument) {
  auto transport = Transport();
  CollectingSink sink;
  EXPECT_EQ(transport->Get("blob", 0, sink, 5000).code(), Status::Code::kInvalidArgument);
}

TEST_F(CurlTransportTest, WrongCa_SaysTheCertificateDoesNotChainToThePinnedCa) {
  auto transport = Transport(server_->port(), testing::ReadText(pki_.other_ca_cert));
  std::vector<char> buffer(4096);
  EXPECT_STATUS(PostCheck(*transport, buffer).status(), Unavailable(port::kUntrustedServerReason));
  EXPECT_NE(transport->last_error().find("certificate"), std::string::npos)
      << transport->last_error();
  CollectingSink sink;
  EXPECT_STATUS(transport->Get("/blob", 0, sink, 5000), Unavailable(port::kUntrustedServerReason));
  EXPECT_EQ(sink.starts, 0);
}

TEST_F(CurlTransportTest, CertificateForAnotherHost_SaysSo) {
  // 127.0.0.2 is loopback too, but not in the server certificate's names.
  auto transport = Transport(server_->port(), "", "127.0.0.2");
  std::vector<char> buffer(4096);
  EXPECT_STATUS(PostCheck(*transport, buffer).status(), Unavailable(host::kWrongHostReason));
}

TEST_F(CurlTransportTest, NobodyListening_ConnectionFailed) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);  // bound once, now free: nothing listens there
  auto transport = Transport(ntohs(address.sin_port));
  std::vector<char> buffer(4096);
  EXPECT_STATUS(PostCheck(*transport, buffer).status(),
                Unavailable("transport: connection failed"));
}

TEST_F(CurlTransportTest, ServerNeverAnswersTheHandshake_TimedOutWithinTheTimeout) {
  // A listener that accepts (the kernel does, from the backlog) and never speaks.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  auto transport = Transport(ntohs(address.sin_port));
  CollectingSink sink;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_STATUS(transport->Get("/blob", 0, sink, 700), Unavailable("transport: timed out"));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 650ms);
  EXPECT_LT(took, 3s);
  close(fd);
}

TEST_F(CurlTransportTest, BodyStallsMidway_TimedOutThenResumedWithRange) {
  auto proxy = Proxy();
  proxy->Script({{FaultKind::kStall, 150'000}});
  auto transport = Transport(proxy->port());
  CollectingSink sink;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_STATUS(transport->Get("/blob", 0, sink, 1000), Unavailable("transport: timed out"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_GT(sink.bytes.size(), 0u);
  ASSERT_LT(sink.bytes.size(), static_cast<size_t>(kBlobSize));
  CollectingSink rest;
  ASSERT_TRUE(transport->Get("/blob", static_cast<uint32_t>(sink.bytes.size()), rest, 5000).ok());
  sink.bytes.insert(sink.bytes.end(), rest.bytes.begin(), rest.bytes.end());
  EXPECT_EQ(sink.bytes, blob_);
  EXPECT_EQ(proxy->stats().injected[static_cast<size_t>(FaultKind::kStall)], 1u);
}

TEST_F(CurlTransportTest, ConnectionDroppedMidBody_ConnectionLostThenResumedWithRange) {
  for (FaultKind kind : {FaultKind::kReset, FaultKind::kTruncate, FaultKind::kCorrupt}) {
    SCOPED_TRACE(emulator::FaultKindName(kind));
    auto proxy = Proxy();
    proxy->Script({{kind, 100'000}});
    auto transport = Transport(proxy->port());
    CollectingSink sink;
    EXPECT_STATUS(transport->Get("/blob", 0, sink, 5000),
                  Unavailable("transport: connection lost"));
    // Only bytes that passed TLS's integrity check reached the sink, all of them genuine.
    ASSERT_LT(sink.bytes.size(), static_cast<size_t>(kBlobSize));
    EXPECT_TRUE(std::equal(sink.bytes.begin(), sink.bytes.end(), blob_.begin()));
    CollectingSink rest;
    ASSERT_TRUE(transport->Get("/blob", static_cast<uint32_t>(sink.bytes.size()), rest, 5000).ok())
        << transport->last_error();
    EXPECT_EQ(rest.first, sink.bytes.size());
    sink.bytes.insert(sink.bytes.end(), rest.bytes.begin(), rest.bytes.end());
    EXPECT_EQ(sink.bytes, blob_);
  }
}

TEST_F(CurlTransportTest, ConnectionResetDuringTheHandshake_Unavailable) {
  auto proxy = Proxy();
  proxy->Script({{FaultKind::kReset, 10}});
  auto transport = Transport(proxy->port());
  std::vector<char> buffer(4096);
  const Status status = PostCheck(*transport, buffer).status();
  EXPECT_EQ(status.code(), Status::Code::kUnavailable) << testing::DescribeStatus(status);
}

TEST_F(CurlTransportTest, KeptConnection_IsReusedUnlessReuseIsOff) {
  auto proxy = Proxy();
  auto kept = Transport(proxy->port());
  std::vector<char> buffer(4096);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(PostCheck(*kept, buffer).ok());
  }
  EXPECT_EQ(kept->counters().connections, 1u);
  EXPECT_EQ(kept->counters().requests, 3u);
  auto fresh = Transport(proxy->port(), "", "127.0.0.1", /*reuse=*/false);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(PostCheck(*fresh, buffer).ok());
  }
  EXPECT_EQ(fresh->counters().connections, 3u);
  EXPECT_EQ(proxy->stats().connections, 4u);
}

}  // namespace
}  // namespace aloft
