// Fuzzes aloftd's request handlers through the Router, as the HTTPS layer would call them:
// method, path (with query), header fields and body come from the input, against an
// in-process SQLite store in a temp dir that holds a published release, an active rollout,
// an admin and two devices. The invariants: no crash (ASan, UBSan), every answer has a valid
// status, and every error answer is a JSON object {"error": {"code", "message"}}, as is every
// 2xx answer that says it is JSON. State accumulates across inputs (a device registered by
// one input exists for the next), as it would on a real server.
//
// Input format (fuzz/seeds/server_api/*.req):
//   METHOD SP PATH LF          e.g. "POST /api/v1/check"
//   Name: value LF ...         header fields; $ADMIN, $DEVICE, $OTHER become tokens
//   LF                         end of the header
//   body                       the rest

#include <stdlib.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/format/app_image_builder.h"
#include "ports/host/openssl_crypto.h"
#include "ports/host/release_document.h"
#include "ports/host/release_key.h"
#include "server/api_context.h"
#include "server/api_routes.h"
#include "server/credentials.h"
#include "server/http/router.h"
#include "server/store/store.h"

namespace {

using namespace aloft;
using namespace aloft::server;

struct World {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<ApiContext> context;
  Router router;
  std::string admin;
  std::string device;
  std::string other;
};

HttpResponse Call(World& world, const std::string& method, const std::string& path,
                  const std::string& token, const std::string& body) {
  HttpRequest request;
  request.method = method;
  request.target = path;
  request.path = path.substr(0, path.find('?'));
  if (path.find('?') != std::string::npos) {
    Result<Params> query = ParseQuery(std::string_view(path).substr(path.find('?') + 1));
    if (query.ok()) {
      request.query = *query;
    }
  }
  if (!token.empty()) {
    request.headers.Add("Authorization", "Bearer " + token);
  }
  request.body = body;
  return world.router.Dispatch(request);
}

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "server_api_fuzz: setup failed: %s\n", what);
    std::abort();
  }
}

World* MakeWorld() {
  auto* world = new World();
  char pattern[] = "/tmp/aloft-server-fuzz.XXXXXX";
  Require(mkdtemp(pattern) != nullptr, "mkdtemp");
  world->dir = pattern;
  // The world lives for the whole run; its directory goes when the process exits.
  static std::filesystem::path directory = world->dir;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(directory, ec);
  });
  world->store = OpenStore("sqlite:" + (world->dir / "aloft.db").string()).value();
  ApiOptions options;
  options.artifact_directory = world->dir / "artifacts";
  options.master_key = GenerateMasterKey().value();
  options.now_ms = [] { return int64_t{1'700'000'000'000}; };
  world->context = ApiContext::Create(*world->store, options).value();
  Require(AddApiRoutes(*world->context, world->router).ok(), "routes");
  world->admin = GenerateToken().value();
  Require(world->store->AddAdminToken("fuzz", TokenHash(world->admin), 1).ok(), "admin");

  // A signed release, published through the API, and an active rollout of it.
  host::OpensslCrypto crypto;
  host::ReleaseKey key = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  core::AppImageRecipe recipe;
  recipe.chip_id = 5;
  recipe.version = "2.0.0";
  recipe.project_name = "thermo";
  std::vector<std::byte> app(core::AppImageBuildSize(recipe).value());
  Require(core::BuildAppImage(recipe, crypto, app).ok(), "image");
  const host::ReleaseKey* keys[] = {&key};
  const std::vector<std::byte> image = host::SignImage(app, keys, false).value();
  core::ReleaseManifest manifest;
  manifest.project.Assign("thermo");
  manifest.version.Assign("2.0.0");
  manifest.chip_id = 5;
  manifest.size_bytes = static_cast<uint32_t>(image.size());
  manifest.sha256 = Sha256Digest(image);
  const std::string json = host::MakeReleaseJson(manifest, keys).value();
  const std::string pem = key.PublicPem().value();
  Require(Call(*world, "POST", "/api/v1/projects/thermo/keys", world->admin,
               boost::json::serialize(boost::json::object{{"public_pem", pem}}))
                  .status == 201,
          "key");
  Require(Call(*world, "PUT", "/api/v1/artifacts/" + Sha256Hex(image), world->admin,
               std::string(reinterpret_cast<const char*>(image.data()), image.size()))
                  .status == 201,
          "artifact");
  Require(Call(*world, "POST", "/api/v1/releases", world->admin, json).status == 201, "release");
  Require(Call(*world, "POST", "/api/v1/rollouts", world->admin,
               R"({"release":"2.0.0","percent":50,"min_sample":1})")
                  .status == 201,
          "rollout");
  for (const char* id : {"dev-1", "dev-2"}) {
    HttpResponse registered =
        Call(*world, "POST", "/api/v1/devices", world->admin,
             std::string(R"({"id":")") + id + R"(","project":"thermo","chip":"esp32c3"})");
    Require(registered.status == 201, "device");
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(*registered.string_body(), ec);
    (std::string(id) == "dev-1" ? world->device : world->other) =
        std::string(value.at("token").as_string());
  }
  return world;
}

World& GetWorld() {
  static World* world = MakeWorld();
  return *world;
}

std::string Substitute(std::string value, const World& world) {
  const std::pair<const char*, const std::string*> tokens[] = {
      {"$ADMIN", &world.admin}, {"$DEVICE", &world.device}, {"$OTHER", &world.other}};
  for (const auto& [name, token] : tokens) {
    for (size_t at = value.find(name); at != std::string::npos; at = value.find(name)) {
      value.replace(at, std::strlen(name), *token);
    }
  }
  return value;
}

bool IsErrorObject(const boost::json::value& value) {
  if (!value.is_object()) {
    return false;
  }
  const boost::json::value* error = value.as_object().if_contains("error");
  return error != nullptr && error->is_object() && error->as_object().if_contains("code") &&
         error->at("code").is_string() && error->as_object().if_contains("message") &&
         error->at("message").is_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = GetWorld();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_end = input.find('\n');
  const std::string_view request_line = input.substr(0, line_end);
  const size_t space = request_line.find(' ');
  if (space == std::string_view::npos || line_end == std::string_view::npos) {
    return 0;
  }
  HttpRequest request;
  request.method = std::string(request_line.substr(0, space));
  request.target = std::string(request_line.substr(space + 1));
  if (request.method.empty() || request.target.empty() || request.target[0] != '/') {
    return 0;  // the HTTPS layer refuses these before any handler runs
  }
  const size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) {
    Result<Params> query = ParseQuery(std::string_view(request.target).substr(question + 1));
    if (!query.ok()) {
      return 0;  // answered 400 by the HTTPS layer
    }
    request.query = std::move(query).value();
  }
  std::string_view rest = input.substr(line_end + 1);
  while (!rest.empty() && rest.front() != '\n') {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      request.headers.Add(std::string(line.substr(0, colon)),
                          Substitute(std::string(value), world));
    }
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // the empty line
  }
  request.body = std::string(rest);
  request.remote_address = "127.0.0.1";

  const HttpResponse response = world.router.Dispatch(request);
  if (response.status < 100 || response.status > 599) {
    std::abort();
  }
  const std::string* body = response.string_body();
  const std::string* type = response.headers.Find("Content-Type");
  const bool json = type != nullptr && type->starts_with("application/json");
  if (response.status >= 400) {
    if (body == nullptr || !json) {
      std::abort();
    }
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(*body, ec);
    if (ec || !IsErrorObject(value)) {
      std::abort();
    }
  } else if (json) {
    boost::system::error_code ec;
    (void)boost::json::parse(*body, ec);
    if (ec) {
      std::abort();
    }
  }
  return 0;
}
