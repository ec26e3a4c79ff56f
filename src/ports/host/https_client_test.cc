#include "ports/host/https_client.h"

#include <gtest/gtest.h>

#include "support/status_testing.h"

namespace aloft::host {
namespace {

constexpr const char* kSomeCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST(HttpsClient, Create_RefusesPlainHttpAndAMissingCa) {
  HttpsClientOptions options;
  options.base_url = "http://127.0.0.1:1";
  options.ca_pem = kSomeCa;
  EXPECT_STATUS(HttpsClient::Create(options).status(),
                InvalidArgument("https: base url must start with https://"));
  options.base_url = "https://127.0.0.1:1";
  options.ca_pem = "";
  EXPECT_STATUS(HttpsClient::Create(options).status(), InvalidArgument("https: no CA certificate"));
}

TEST(HttpsClient, NothingListening_IsCannotConnect) {
  HttpsClientOptions options;
  options.base_url = "https://127.0.0.1:1";  // port 1: nothing listens there
  options.ca_pem = kSomeCa;
  HttpsClient client = HttpsClient::Create(options).value();
  EXPECT_STATUS(client.Send("GET", "/healthz").status(), Unavailable("https: cannot connect"));
  EXPECT_FALSE(client.last_error().empty());
}

}  // namespace
}  // namespace aloft::host
