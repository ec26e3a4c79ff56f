#include "core/port/transport_status.h"

#include <gtest/gtest.h>

#include <string_view>

namespace aloft::port {
namespace {

TEST(TransportStatusForHttp, Table) {
  struct Row {
    int http;
    Status::Code code;
    std::string_view reason;
  };
  const Row rows[] = {
      {401, Status::Code::kUnauthenticated, "transport: unauthenticated (401)"},
      {403, Status::Code::kPermissionDenied, "transport: permission denied (403)"},
      {404, Status::Code::kNotFound, "transport: not found (404)"},
      {416, Status::Code::kOutOfRange, "transport: range not satisfiable (416)"},
      {408, Status::Code::kUnavailable, "transport: server error"},
      {429, Status::Code::kUnavailable, "transport: server error"},
      {500, Status::Code::kUnavailable, "transport: server error"},
      {599, Status::Code::kUnavailable, "transport: server error"},
      {400, Status::Code::kInvalidArgument, "transport: request refused (4xx)"},
      {499, Status::Code::kInvalidArgument, "transport: request refused (4xx)"},
      {100, Status::Code::kUnavailable, "transport: unexpected status"},
      {302, Status::Code::kUnavailable, "transport: unexpected status"},
      {600, Status::Code::kUnavailable, "transport: unexpected status"},
  };
  for (const Row& row : rows) {
    const Status status = TransportStatusForHttp(row.http);
    EXPECT_EQ(status.code(), row.code) << row.http;
    EXPECT_EQ(std::string_view(status.reason()), row.reason) << row.http;
    EXPECT_EQ(status.context(), static_cast<uint32_t>(row.http)) << row.http;
  }
}

}  // namespace
}  // namespace aloft::port
