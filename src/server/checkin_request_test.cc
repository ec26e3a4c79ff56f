#include "server/checkin_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aloft::server {
namespace {

const std::string kValid =
    R"({"device_id":"dev-1","project":"thermo","chip":"esp32c3","version":"1.0.0",)"
    R"("secure_version":2,"tags":["eu","beta"],"nonce":"00112233445566778899aabbccddeeff"})";

// The differential property for bodies without repeated keys: the scanner accepts exactly what
// the document parser accepts, with the same result, and ParseCheckin answers as the document
// parser does.
void ExpectParsersAgree(const std::string& body) {
  const ApiResult<CheckinRequest> document = ParseCheckinDocument(body);
  const std::optional<CheckinRequest> scanned = ScanCheckin(body);
  ASSERT_EQ(scanned.has_value(), document.ok()) << body << "\n"
                                                << (document.ok() ? "" : document.error().message);
  const ApiResult<CheckinRequest> combined = ParseCheckin(body);
  ASSERT_EQ(combined.ok(), document.ok()) << body;
  if (document.ok()) {
    EXPECT_EQ(*scanned, document.value()) << body;
    EXPECT_EQ(combined.value(), document.value()) << body;
  } else {
    EXPECT_EQ(combined.error().code, document.error().code) << body;
    EXPECT_EQ(combined.error().message, document.error().message) << body;
  }
}

TEST(ParseCheckin, ReadsEveryField) {
  ApiResult<CheckinRequest> parsed = ParseCheckin(kValid);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->device_id, "dev-1");
  EXPECT_EQ(parsed->project, "thermo");
  EXPECT_EQ(parsed->chip, "esp32c3");
  EXPECT_EQ(parsed->version, "1.0.0");
  EXPECT_EQ(parsed->secure_version, 2u);
  EXPECT_EQ(parsed->tags, (std::vector<std::string>{"beta", "eu"}));  // canonical order
  EXPECT_EQ(parsed->nonce_hex, "00112233445566778899aabbccddeeff");
  EXPECT_EQ(parsed->nonce[0], std::byte{0x00});
  EXPECT_EQ(parsed->nonce[15], std::byte{0xff});
  EXPECT_TRUE(ScanCheckin(kValid).has_value());
}

TEST(ParseCheckin, ValidVariantsAreScanned) {
  const std::string id64(64, 'd');
  std::string tags32;
  for (int i = 0; i < 32; ++i) {
    tags32 += (i == 0 ? "\"t" : ",\"t") + std::to_string(i) + "\"";
  }
  const std::vector<std::string> bodies = {
      kValid,
      // No tags, fields in another order, whitespace everywhere.
      R"( { "nonce" : "00112233445566778899AABBCCDDEEFF" , "secure_version" : 0 ,)"
      R"( "version" : "2.0" , "chip" : "esp32" , "project" : "p" , "device_id" : "a" } )",
      // Escapes in keys and strings; the largest secure_version; repeated tags.
      R"({"device\u005fid":"d\u0065v","project":"thermo","chip":"esp32s3","version":"1",)"
      R"("secure_version":4294967295,"tags":["b","a","b"],"nonce":"00112233445566778899aabbccddeeff"})",
      // The longest id and the most tags.
      R"({"device_id":")" + id64 +
          R"(","project":"p","chip":"esp32","version":"1",)"
          R"("secure_version":1,"tags":[)" +
          tags32 + R"(],"nonce":"00112233445566778899aabbccddeeff"})",
      // An empty tag list.
      R"({"device_id":"a","project":"p","chip":"esp32","version":"1","secure_version":1,)"
      R"("tags":[],"nonce":"00112233445566778899aabbccddeeff"})",
  };
  for (const std::string& body : bodies) {
    EXPECT_TRUE(ScanCheckin(body).has_value()) << body;
    ExpectParsersAgree(body);
  }
}

TEST(ParseCheckin, InvalidBodiesGetTheDocumentParsersError) {
  struct Case {
    std::string body;
    std::string code;
  };
  auto with = [](const std::string& from, const std::string& to) {
    std::string body = kValid;
    body.replace(body.find(from), from.size(), to);
    return body;
  };
  const std::vector<Case> cases = {
      {"", "malformed_json"},
      {"[]", "not_an_object"},
      {kValid + "x", "malformed_json"},
      {with(R"("device_id":"dev-1",)", ""), "missing_field"},
      {with(R"("secure_version":2)", R"("secure_version":2.0)"), "wrong_type"},
      {with(R"("secure_version":2)", R"("secure_version":-1)"), "invalid_value"},
      {with(R"("secure_version":2)", R"("secure_version":4294967296)"), "invalid_value"},
      {with(R"("secure_version":2)", R"("secure_version":18446744073709551615)"), "invalid_value"},
      {with(R"("secure_version":2)", R"("secure_version":null)"), "wrong_type"},
      {with(R"("secure_version":2)", R"("secure_version":"2")"), "wrong_type"},
      {with(R"("tags":["eu","beta"])", R"("tags":"eu")"), "wrong_type"},
      {with(R"("tags":["eu","beta"])", R"("tags":[1])"), "wrong_type"},
      {with(R"("tags":["eu","beta"])", R"("tags":[["eu"]])"), "wrong_type"},
      {with(R"("tags":["eu","beta"])", R"("tags":["e u"])"), "invalid_value"},
      {with(R"("tags":["eu","beta"])", R"("tags":[""])"), "invalid_value"},
      {with(R"("tags":["eu","beta"])", R"("tags":null)"), "wrong_type"},
      {with(R"("chip":"esp32c3")", R"("chip":"esp99")"), "invalid_value"},
      {with(R"("chip":"esp32c3")", R"("chip":{"name":"esp32"})"), "wrong_type"},
      {with(R"("device_id":"dev-1")", R"("device_id":"dev 1")"), "invalid_value"},
      {with(R"("device_id":"dev-1")", R"("device_id":"")"), "invalid_value"},
      {with(R"("device_id":"dev-1")", R"("device_id":")" + std::string(65, 'd') + "\""),
       "invalid_value"},
      {with(R"("version":"1.0.0")", R"("version":"1.0\u0000")"), "invalid_value"},
      {with(R"("nonce":"00112233445566778899aabbccddeeff")", R"("nonce":"0011")"), "invalid_value"},
      {with(R"("nonce":"00112233445566778899aabbccddeeff")",
            R"("nonce":"zz112233445566778899aabbccddeeff")"),
       "invalid_value"},
      {with(R"("project":"thermo")", R"("project":"thermo","projekt":"x")"), "unknown_field"},
      {with(R"("project":"thermo")", R"("project":"thermo","project":"other")"), ""},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(ScanCheckin(c.body).has_value()) << c.body;
    const ApiResult<CheckinRequest> document = ParseCheckinDocument(c.body);
    if (!c.code.empty()) {
      ASSERT_FALSE(document.ok()) << c.body;
      EXPECT_EQ(document.error().code, c.code) << c.body;
    }
    // A repeated key is the document parser's to judge (the scanner always leaves it to it).
    const ApiResult<CheckinRequest> combined = ParseCheckin(c.body);
    ASSERT_EQ(combined.ok(), document.ok()) << c.body;
    if (!document.ok()) {
      EXPECT_EQ(combined.error().message, document.error().message) << c.body;
    }
  }
}

// Every one-byte deletion, and every replacement of a byte by a few telling others, of a valid
// body: the parsers agree on each of the resulting documents, valid or not.
TEST(ParseCheckin, ParsersAgreeOnEveryOneByteMutation) {
  const std::string replacements = "\"\\{}[],:0-1a \x01\x7f\xc3";
  size_t still_valid = 0;
  for (size_t at = 0; at < kValid.size(); ++at) {
    std::string deleted = kValid;
    deleted.erase(at, 1);
    ExpectParsersAgree(deleted);
    for (char replacement : replacements) {
      std::string replaced = kValid;
      replaced[at] = replacement;
      ExpectParsersAgree(replaced);
      still_valid += ParseCheckinDocument(replaced).ok() ? 1 : 0;
    }
  }
  // The mutations reach both sides: some bodies stay valid (in the id, version, tags, nonce).
  EXPECT_GT(still_valid, 20u);
}

}  // namespace
}  // namespace aloft::server
