#include "server/http/file_range.h"

#include <gtest/gtest.h>

namespace aloft::server {
namespace {

using Kind = ByteRange::Kind;

TEST(ParseRange, Table) {
  struct Case {
    const char* value;
    uint64_t size;
    ByteRange expected;
  };
  const ByteRange ignore{Kind::kIgnore, 0, 0};
  const ByteRange unsatisfiable{Kind::kUnsatisfiable, 0, 0};
  const Case cases[] = {
      // a-b
      {"bytes=0-0", 1000, {Kind::kSatisfiable, 0, 1}},
      {"bytes=0-499", 1000, {Kind::kSatisfiable, 0, 500}},
      {"bytes=500-999", 1000, {Kind::kSatisfiable, 500, 500}},
      {"bytes=500-5000", 1000, {Kind::kSatisfiable, 500, 500}},  // end clamped
      {"bytes=999-999", 1000, {Kind::kSatisfiable, 999, 1}},
      {"bytes=1000-1000", 1000, unsatisfiable},
      {"bytes=1000-2000", 1000, unsatisfiable},
      {"bytes=5-4", 1000, ignore},  // last < first: invalid, so ignored
      // a-
      {"bytes=0-", 1000, {Kind::kSatisfiable, 0, 1000}},
      {"bytes=999-", 1000, {Kind::kSatisfiable, 999, 1}},
      {"bytes=1000-", 1000, unsatisfiable},
      // -n
      {"bytes=-1", 1000, {Kind::kSatisfiable, 999, 1}},
      {"bytes=-500", 1000, {Kind::kSatisfiable, 500, 500}},
      {"bytes=-1000", 1000, {Kind::kSatisfiable, 0, 1000}},
      {"bytes=-5000", 1000, {Kind::kSatisfiable, 0, 1000}},  // longer than the file: all of it
      {"bytes=-0", 1000, unsatisfiable},
      // empty file: nothing is satisfiable
      {"bytes=0-", 0, unsatisfiable},
      {"bytes=0-0", 0, unsatisfiable},
      {"bytes=-1", 0, unsatisfiable},
      // syntax: unit case, whitespace, empty list elements
      {"BYTES=0-9", 1000, {Kind::kSatisfiable, 0, 10}},
      {" bytes = 0-9 ", 1000, {Kind::kSatisfiable, 0, 10}},
      {"bytes=, 0-9 ,", 1000, {Kind::kSatisfiable, 0, 10}},
      // several ranges: the whole file
      {"bytes=0-9,20-29", 1000, ignore},
      {"bytes=0-9, -5", 1000, ignore},
      // malformed or another unit: ignored (RFC 9110 §14.2)
      {"", 1000, ignore},
      {"bytes", 1000, ignore},
      {"bytes=", 1000, ignore},
      {"bytes=-", 1000, ignore},
      {"bytes=abc", 1000, ignore},
      {"bytes=1-2-3", 1000, ignore},
      {"bytes=+1-2", 1000, ignore},
      {"bytes=1 - 2", 1000, ignore},
      {"bytes=0x10-", 1000, ignore},
      {"items=0-9", 1000, ignore},
      {"bytes=18446744073709551616-", 1000, ignore},  // 2^64 overflows
      {"bytes=18446744073709551615-", 1000, unsatisfiable},
      {"bytes=0-18446744073709551615", 1000, {Kind::kSatisfiable, 0, 1000}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.value) + " size " + std::to_string(c.size));
    ByteRange range = ParseRange(c.value, c.size);
    EXPECT_EQ(range.kind, c.expected.kind);
    EXPECT_EQ(range.first, c.expected.first);
    EXPECT_EQ(range.length, c.expected.length);
  }
}

TEST(EtagListMatches, Table) {
  struct Case {
    const char* list;
    const char* etag;
    bool weak;
    bool expected;
  };
  const Case cases[] = {
      {R"("abc")", R"("abc")", true, true},
      {R"("abc")", R"("abc")", false, true},
      {R"("abd")", R"("abc")", true, false},
      {R"(W/"abc")", R"("abc")", true, true},
      {R"(W/"abc")", R"("abc")", false, false},  // strong comparison: weak never matches
      {R"("x", "abc")", R"("abc")", true, true},
      {R"("x" ,W/"y",   "abc"  )", R"("abc")", false, true},
      {"*", R"("abc")", true, true},
      {" * ", R"("abc")", false, true},
      {R"(abc)", R"("abc")", true, false},         // unquoted: malformed
      {R"("abc)", R"("abc")", true, false},        // unterminated
      {R"("abc", bad)", R"("abc")", true, false},  // a malformed list matches nothing
      {R"("a"bc")", R"("a"bc")", true, false},     // a quote inside an entity tag
      {"", R"("abc")", true, false},
      {R"("abc")", "abc", true, false},  // our own tag must be well formed
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.list) + " vs " + c.etag);
    EXPECT_EQ(EtagListMatches(c.list, c.etag, c.weak), c.expected);
  }
}

TEST(DecideFileResponse, Table) {
  const std::string etag = R"("e3b0")";
  struct Case {
    const char* name;
    FileConditions conditions;
    uint64_t size;
    FileDecision expected;
  };
  const Case cases[] = {
      {"no fields", {true, {}, {}, {}}, 1000, {200, 0, 1000}},
      {"range", {true, "bytes=10-19", {}, {}}, 1000, {206, 10, 10}},
      {"suffix", {true, "bytes=-100", {}, {}}, 1000, {206, 900, 100}},
      {"unsatisfiable", {true, "bytes=1000-", {}, {}}, 1000, {416, 0, 0}},
      {"malformed range", {true, "bytes=x", {}, {}}, 1000, {200, 0, 1000}},
      {"two ranges", {true, "bytes=0-1,5-6", {}, {}}, 1000, {200, 0, 1000}},
      {"if-range matches", {true, "bytes=10-19", R"("e3b0")", {}}, 1000, {206, 10, 10}},
      {"if-range other tag", {true, "bytes=10-19", R"("ffff")", {}}, 1000, {200, 0, 1000}},
      {"if-range weak tag", {true, "bytes=10-19", R"(W/"e3b0")", {}}, 1000, {200, 0, 1000}},
      {"if-range date",
       {true, "bytes=10-19", "Wed, 21 Oct 2015 07:28:00 GMT", {}},
       1000,
       {200, 0, 1000}},
      {"if-range without range", {true, {}, R"("e3b0")", {}}, 1000, {200, 0, 1000}},
      {"if-none-match", {true, {}, {}, R"("e3b0")"}, 1000, {304, 0, 0}},
      {"if-none-match weak", {true, {}, {}, R"(W/"e3b0")"}, 1000, {304, 0, 0}},
      {"if-none-match star", {true, {}, {}, "*"}, 1000, {304, 0, 0}},
      {"if-none-match other", {true, {}, {}, R"("ffff")"}, 1000, {200, 0, 1000}},
      {"if-none-match beats range", {true, "bytes=0-1", {}, R"("e3b0")"}, 1000, {304, 0, 0}},
      {"if-none-match other, range", {true, "bytes=0-1", {}, R"("ffff")"}, 1000, {206, 0, 2}},
      {"not GET: range ignored", {false, "bytes=0-1", {}, {}}, 1000, {200, 0, 1000}},
      {"not GET: no 304", {false, {}, {}, R"("e3b0")"}, 1000, {200, 0, 1000}},
      {"empty file", {true, {}, {}, {}}, 0, {200, 0, 0}},
      {"empty file, range", {true, "bytes=0-", {}, {}}, 0, {416, 0, 0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(DecideFileResponse(c.conditions, etag, c.size), c.expected);
  }
}

TEST(ContentRangeValue, PartialAndUnsatisfiable) {
  EXPECT_EQ(ContentRangeValue(0, 100, 1000), "bytes 0-99/1000");
  EXPECT_EQ(ContentRangeValue(999, 1, 1000), "bytes 999-999/1000");
  EXPECT_EQ(ContentRangeValue(0, 0, 1000), "bytes */1000");
  EXPECT_EQ(StrongEtag("abc"), "\"abc\"");
}

HttpRequest Get(std::initializer_list<std::pair<const char*, const char*>> fields) {
  HttpRequest request;
  request.method = "GET";
  for (const auto& [name, value] : fields) {
    request.headers.Add(name, value);
  }
  return request;
}

FileBody File(uint64_t size) {
  FileBody file;
  file.path = "/artifacts/x.bin";
  file.total_size = size;
  return file;
}

std::string Field(const HttpResponse& response, const char* name) {
  const std::string* value = response.headers.Find(name);
  return value ? *value : "<absent>";
}

TEST(FileResponse, Partial_206WithContentRangeAndByteRange) {
  HttpResponse response = FileResponse(Get({{"range", "bytes=100-199"}}), File(1000), "\"t\"",
                                       "application/octet-stream");
  EXPECT_EQ(response.status, 206);
  EXPECT_EQ(Field(response, "Content-Range"), "bytes 100-199/1000");
  EXPECT_EQ(Field(response, "ETag"), "\"t\"");
  EXPECT_EQ(Field(response, "Accept-Ranges"), "bytes");
  EXPECT_EQ(Field(response, "Content-Type"), "application/octet-stream");
  ASSERT_NE(response.file_body(), nullptr);
  EXPECT_EQ(response.file_body()->path, "/artifacts/x.bin");
  EXPECT_EQ(response.file_body()->offset, 100u);
  EXPECT_EQ(response.file_body()->length, 100u);
  EXPECT_EQ(response.file_body()->total_size, 1000u);
}

TEST(FileResponse, Whole_200WithoutContentRange) {
  HttpResponse response = FileResponse(Get({}), File(1000), "\"t\"", "application/octet-stream");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Field(response, "Content-Range"), "<absent>");
  ASSERT_NE(response.file_body(), nullptr);
  EXPECT_EQ(response.file_body()->offset, 0u);
  EXPECT_EQ(response.file_body()->length, 1000u);
}

TEST(FileResponse, Unsatisfiable_416JsonWithStarRange) {
  HttpResponse response = FileResponse(Get({{"Range", "bytes=1000-"}}), File(1000), "\"t\"",
                                       "application/octet-stream");
  EXPECT_EQ(response.status, 416);
  EXPECT_EQ(Field(response, "Content-Range"), "bytes */1000");
  ASSERT_NE(response.string_body(), nullptr);
  EXPECT_NE(response.string_body()->find(R"("code":"range_not_satisfiable")"), std::string::npos);
}

TEST(FileResponse, NotModified_304WithEtagAndNoFile) {
  HttpResponse response = FileResponse(Get({{"If-None-Match", "\"t\""}}), File(1000), "\"t\"",
                                       "application/octet-stream");
  EXPECT_EQ(response.status, 304);
  EXPECT_EQ(Field(response, "ETag"), "\"t\"");
  EXPECT_EQ(response.file_body(), nullptr);
  ASSERT_NE(response.string_body(), nullptr);
  EXPECT_TRUE(response.string_body()->empty());
}

}  // namespace
}  // namespace aloft::server
