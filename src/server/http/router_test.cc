#include "server/http/router.h"

#include <gtest/gtest.h>

namespace aloft::server {
namespace {

// "code: reason" — statuses from another translation unit carry equal but distinct literals,
// so tests compare their text.
std::string Describe(const Status& status) {
  return std::string(CodeName(status.code())) + ": " + status.reason() +
         (status.has_context() ? " @" + std::to_string(status.context()) : "");
}

// A handler that answers its own name, so a test sees which route ran.
Handler Named(std::string name) {
  return [name](const HttpRequest&) {
    HttpResponse response;
    response.body = name;
    return response;
  };
}

Router ApiRouter() {
  Router router;
  EXPECT_TRUE(router.Add("GET", "/healthz", Named("healthz")).ok());
  EXPECT_TRUE(router.Add("GET", "/", Named("root")).ok());
  EXPECT_TRUE(router.Add("GET", "/api/v1/artifacts/{sha256}", Named("artifact")).ok());
  EXPECT_TRUE(router.Add("POST", "/api/v1/devices/{id}/events", Named("events")).ok());
  EXPECT_TRUE(router.Add("GET", "/api/v1/releases", Named("list-releases")).ok());
  EXPECT_TRUE(router.Add("POST", "/api/v1/releases", Named("publish")).ok());
  EXPECT_TRUE(router.Add("GET", "/api/v1/releases/{id}", Named("release")).ok());
  EXPECT_TRUE(router.Add("GET", "/api/v1/releases/latest", Named("latest")).ok());
  EXPECT_TRUE(router.Add("DELETE", "/api/v1/releases/{id}", Named("delete-release")).ok());
  EXPECT_TRUE(router.Add("PUT", "/api/v1/{kind}/latest", Named("put-latest")).ok());
  return router;
}

std::string Body(const HttpResponse& response) {
  return response.string_body() ? *response.string_body() : std::string("<file>");
}

TEST(Router_Dispatch, Table) {
  struct Case {
    const char* method;
    const char* path;
    int status;
    const char* body_or_allow;  // the handler's name for 200, Allow for 405
  };
  const Case cases[] = {
      {"GET", "/healthz", 200, "healthz"},
      {"HEAD", "/healthz", 200, "healthz"},  // HEAD falls back to GET
      {"GET", "/", 200, "root"},
      {"GET", "/api/v1/artifacts/abc123", 200, "artifact"},
      {"POST", "/api/v1/devices/dev-1/events", 200, "events"},
      {"GET", "/api/v1/releases", 200, "list-releases"},
      {"POST", "/api/v1/releases", 200, "publish"},
      {"GET", "/api/v1/releases/7", 200, "release"},
      {"GET", "/api/v1/releases/latest", 200, "latest"},             // the literal beats {id}
      {"DELETE", "/api/v1/releases/latest", 200, "delete-release"},  // only {id} has DELETE
      {"PUT", "/api/v1/releases/latest", 200, "put-latest"},
      // 404: no pattern matches the path.
      {"GET", "/healthz/", 404, ""},
      {"GET", "/HEALTHZ", 404, ""},
      {"GET", "/api/v1/artifacts", 404, ""},
      {"GET", "/api/v1/artifacts/", 404, ""},  // an empty parameter matches nothing
      {"GET", "/api/v1/artifacts/a/b", 404, ""},
      {"GET", "//healthz", 404, ""},
      {"GET", "", 404, ""},
      {"GET", "healthz", 404, ""},
      {"POST", "/api/v1/devices//events", 404, ""},
      {"GET", "/api/v1/artifacts/%zz", 404, ""},  // a parameter that does not decode
      // 405: the path is known, the method is not; Allow lists every matching pattern's.
      {"POST", "/healthz", 405, "GET, HEAD"},
      {"get", "/healthz", 405, "GET, HEAD"},  // methods are case-sensitive
      {"GET", "/api/v1/devices/dev-1/events", 405, "POST"},
      {"PATCH", "/api/v1/releases", 405, "GET, HEAD, POST"},
      {"POST", "/api/v1/releases/latest", 405, "DELETE, GET, HEAD, PUT"},
      {"PUT", "/api/v1/releases/7", 405, "DELETE, GET, HEAD"},
  };
  Router router = ApiRouter();
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path);
    HttpRequest request;
    request.method = c.method;
    request.path = c.path;
    HttpResponse response = router.Dispatch(request);
    EXPECT_EQ(response.status, c.status);
    if (c.status == 200) {
      EXPECT_EQ(Body(response), c.body_or_allow);
    } else if (c.status == 405) {
      ASSERT_NE(response.headers.Find("Allow"), nullptr);
      EXPECT_EQ(*response.headers.Find("Allow"), c.body_or_allow);
      EXPECT_NE(Body(response).find(R"("code":"method_not_allowed")"), std::string::npos);
    } else {
      EXPECT_EQ(response.headers.Find("Allow"), nullptr);
      EXPECT_NE(Body(response).find(R"("code":"not_found")"), std::string::npos);
    }
  }
}

TEST(Router_Dispatch, PathParameters_DecodedIntoRequest) {
  Router router;
  HttpRequest seen;
  ASSERT_TRUE(router
                  .Add("POST", "/api/v1/devices/{id}/events/{event}",
                       [&](const HttpRequest& request) {
                         seen = request;
                         return HttpResponse();
                       })
                  .ok());
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/devices/dev%2F1%20x/events/e+1";
  EXPECT_EQ(router.Dispatch(request).status, 200);
  ASSERT_NE(seen.PathParam("id"), nullptr);
  EXPECT_EQ(*seen.PathParam("id"), "dev/1 x");  // %2F stays inside the one segment
  EXPECT_EQ(*seen.PathParam("event"), "e+1");   // '+' is literal in a path
  EXPECT_EQ(seen.path_params.size(), 2u);
}

TEST(Router_Match, NoSideEffects_ReportsHandlerAndParams) {
  Router router = ApiRouter();
  RouteMatch match = router.Match("GET", "/api/v1/artifacts/ff00");
  EXPECT_EQ(match.status, 200);
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(match.path_params, (Params{{"sha256", "ff00"}}));
  EXPECT_EQ(Body((*match.handler)(HttpRequest())), "artifact");
}

TEST(Router_Add, BadPatterns_InvalidArgument) {
  const char* patterns[] = {"",     "healthz", "/a//b",   "/a/",        "/{}",    "/{id",
                            "/id}", "/a{id}",  "/{i{d}}", "/{id}/{id}", "/x/{a}b"};
  for (const char* pattern : patterns) {
    SCOPED_TRACE(pattern);
    Router router;
    EXPECT_EQ(Describe(router.Add("GET", pattern, Named("x"))),
              Describe(InvalidArgument("router: bad pattern")));
  }
}

TEST(Router_Add, TooManySegments_InvalidArgument) {
  std::string pattern;
  for (int i = 0; i < 65; ++i) {
    pattern += "/s";
  }
  Router router;
  EXPECT_EQ(Describe(router.Add("GET", pattern, Named("x"))),
            Describe(InvalidArgument("router: bad pattern")));
  pattern.resize(pattern.size() - 2);
  EXPECT_TRUE(router.Add("GET", pattern, Named("x")).ok());
}

TEST(Router_Add, BadMethods_InvalidArgument) {
  for (const char* method : {"", "GE T", "GET\r\n", "(GET)"}) {
    SCOPED_TRACE(method);
    Router router;
    EXPECT_EQ(Describe(router.Add(method, "/a", Named("x"))),
              Describe(InvalidArgument("router: bad method")));
  }
}

TEST(Router_Add, SameMethodAndShape_AlreadyExists) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/a/{x}", Named("first")).ok());
  EXPECT_EQ(Describe(router.Add("GET", "/a/{y}", Named("second"))),
            Describe(AlreadyExists("router: duplicate route")));
  EXPECT_TRUE(router.Add("POST", "/a/{x}", Named("post")).ok());
  EXPECT_TRUE(router.Add("GET", "/a/b", Named("literal")).ok());
}

}  // namespace
}  // namespace aloft::server
