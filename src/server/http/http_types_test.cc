#include "server/http/http_types.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace aloft::server {
namespace {

// "code: reason" — statuses from another translation unit carry equal but distinct literals,
// so tests compare their text.
std::string Describe(const Status& status) {
  return std::string(CodeName(status.code())) + ": " + status.reason() +
         (status.has_context() ? " @" + std::to_string(status.context()) : "");
}

TEST(HttpHeaders_Find, AnyCase_FindsFirstField) {
  HttpHeaders headers;
  headers.Add("Content-Type", "application/json");
  headers.Add("X-Trace", "one");
  headers.Add("x-trace", "two");
  ASSERT_NE(headers.Find("content-type"), nullptr);
  EXPECT_EQ(*headers.Find("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(*headers.Find("X-TRACE"), "one");
  EXPECT_EQ(headers.Find("Content-Typ"), nullptr);
  EXPECT_EQ(headers.size(), 3u);
}

TEST(HttpHeaders_Set, RepeatedField_ReplacesAllOfThem) {
  HttpHeaders headers;
  headers.Add("Vary", "a");
  headers.Add("vary", "b");
  headers.Add("Other", "x");
  headers.Set("VARY", "c");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(*headers.Find("vary"), "c");
  headers.Remove("other");
  EXPECT_FALSE(headers.Contains("Other"));
}

TEST(HttpRequest_Lookups, QueryPathAndHeader_FindByName) {
  HttpRequest request;
  request.query = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  request.path_params = {{"sha256", "abc"}};
  request.headers.Add("Authorization", "Bearer t");
  EXPECT_EQ(*request.Query("a"), "1");
  EXPECT_EQ(request.Query("A"), nullptr);  // query names are case-sensitive
  EXPECT_EQ(*request.PathParam("sha256"), "abc");
  EXPECT_EQ(request.PathParam("id"), nullptr);
  EXPECT_EQ(*request.Header("authorization"), "Bearer t");
}

TEST(PercentDecode, Table) {
  struct Case {
    const char* input;
    bool plus_is_space;
    bool ok;
    const char* expected;
  };
  const Case cases[] = {
      {"plain", false, true, "plain"}, {"a%20b", false, true, "a b"}, {"a+b", false, true, "a+b"},
      {"a+b", true, true, "a b"},      {"%2F%2f", false, true, "//"}, {"%41%7a", false, true, "Az"},
      {"%", false, false, ""},         {"%4", false, false, ""},      {"ab%4", false, false, ""},
      {"%G0", false, false, ""},       {"%0G", false, false, ""},     {"", false, true, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    Result<std::string> decoded = PercentDecode(c.input, c.plus_is_space);
    ASSERT_EQ(decoded.ok(), c.ok);
    if (c.ok) {
      EXPECT_EQ(*decoded, c.expected);
    } else {
      EXPECT_EQ(Describe(decoded.status()),
                Describe(InvalidArgument("http: bad percent-encoding")));
    }
  }
}

TEST(PercentDecode, EncodedNul_Decodes) {
  Result<std::string> decoded = PercentDecode("a%00b", false);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::string("a\0b", 3));
}

TEST(ParseQuery, Table) {
  struct Case {
    const char* input;
    Params expected;
  };
  const Case cases[] = {
      {"", {}},
      {"a=1", {{"a", "1"}}},
      {"a=1&b=x%20y", {{"a", "1"}, {"b", "x y"}}},
      {"flag&x=", {{"flag", ""}, {"x", ""}}},
      {"a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"q=a+b%2Bc", {{"q", "a b+c"}}},
      {"k%3D=v%26", {{"k=", "v&"}}},
      {"a=b=c", {{"a", "b=c"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    Result<Params> params = ParseQuery(c.input);
    ASSERT_TRUE(params.ok());
    EXPECT_EQ(*params, c.expected);
  }
}

TEST(ParseQuery, BadEscape_InvalidArgument) {
  EXPECT_EQ(Describe(ParseQuery("a=1&b=%zz").status()),
            Describe(InvalidArgument("http: bad percent-encoding")));
  EXPECT_EQ(Describe(ParseQuery("%=1").status()),
            Describe(InvalidArgument("http: bad percent-encoding")));
}

TEST(JsonResponse, Value_SerializedWithContentType) {
  HttpResponse response = JsonResponse(201, boost::json::value{{"ok", true}});
  EXPECT_EQ(response.status, 201);
  ASSERT_NE(response.headers.Find("Content-Type"), nullptr);
  EXPECT_EQ(*response.headers.Find("content-type"), "application/json");
  ASSERT_NE(response.string_body(), nullptr);
  EXPECT_EQ(*response.string_body(), R"({"ok":true})");
}

TEST(JsonError, CodeAndMessage_NestedUnderError) {
  HttpResponse response = JsonError(404, "not_found", "no \"such\" artifact");
  EXPECT_EQ(response.status, 404);
  ASSERT_NE(response.string_body(), nullptr);
  EXPECT_EQ(*response.string_body(),
            R"({"error":{"code":"not_found","message":"no \"such\" artifact"}})");
}

TEST(UniqueFd, MoveAndDestroy_ClosesExactlyOnce) {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    UniqueFd first(fd);
    UniqueFd second(std::move(first));
    EXPECT_FALSE(first.valid());  // NOLINT(bugprone-use-after-move): moved-from state is defined
    EXPECT_EQ(second.get(), fd);
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed by the destructor
}

}  // namespace
}  // namespace aloft::server

namespace aloft::server {
namespace {

TEST(JsonError, InvalidUtf8InTheMessage_BecomesReplacementCharacters) {
  const HttpResponse response =
      JsonError(404, "not_found", "no resource at /a\x87z\xC3\xA9\xED\xA0\x80");
  EXPECT_EQ(*response.string_body(),
            "{\"error\":{\"code\":\"not_found\",\"message\":\"no resource at "
            "/a\xEF\xBF\xBDz\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}}");
}

}  // namespace
}  // namespace aloft::server
