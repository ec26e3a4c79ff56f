#include "server/json_fields.h"

#include <gtest/gtest.h>

namespace aloft::server {
namespace {

boost::json::object Object(const std::string& text) {
  ApiResult<boost::json::object> parsed = ParseJsonObject(text, "doc");
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? parsed.value() : boost::json::object{};
}

TEST(ParseJsonObject, Table) {
  struct Case {
    const char* text;
    const char* code;  // "" when it parses
  };
  const Case cases[] = {
      {"{}", ""},
      {"{\"a\":1}", ""},
      {"", "malformed_json"},
      {"{", "malformed_json"},
      {"{\"a\":1,}", "malformed_json"},
      {"{\"a\":\"\xff\"}", "malformed_json"},  // not UTF-8
      {"[]", "not_an_object"},
      {"1", "not_an_object"},
      {"null", "not_an_object"},
  };
  for (const Case& c : cases) {
    ApiResult<boost::json::object> parsed = ParseJsonObject(c.text, "doc");
    EXPECT_EQ(parsed.ok() ? "" : parsed.error().code, c.code) << c.text;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().status, 400);
    }
  }
  EXPECT_FALSE(ParseJsonObject(std::string(40, '[') + std::string(40, ']'), "doc").ok());
}

TEST(JsonFields, EveryGetterReadsItsField_AndFinishAcceptsThem) {
  const boost::json::object object =
      Object(R"({"s":"text","i":42,"n":0.5,"tags":["a","b"],"nul":null,"opt":"x","any":{"k":1}})");
  JsonFields fields(object, "doc");
  EXPECT_EQ(fields.String("s", 10), "text");
  EXPECT_EQ(fields.Integer("i", 0, 100), 42);
  EXPECT_EQ(fields.Number("n", 0, 1), 0.5);
  EXPECT_EQ(fields.OptionalStringArray("tags", 4, 8), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fields.OptionalInteger("nul", 0, 1), std::nullopt);
  EXPECT_EQ(fields.OptionalString("opt", 4), std::optional<std::string>("x"));
  EXPECT_EQ(fields.OptionalString("absent", 4), std::nullopt);
  EXPECT_NE(fields.Value("any", true), nullptr);
  EXPECT_TRUE(fields.ok());
  EXPECT_EQ(fields.Finish(), std::nullopt);
}

struct FieldCase {
  const char* json;
  void (*read)(JsonFields&);
  const char* code;
  const char* message;
};

TEST(JsonFields, Problems_NameTheDocumentAndTheField) {
  const FieldCase cases[] = {
      {R"({})", [](JsonFields& f) { f.String("name", 8); }, "missing_field",
       "doc: field 'name' is missing"},
      {R"({"name":1})", [](JsonFields& f) { f.String("name", 8); }, "wrong_type",
       "doc: field 'name' must be a string"},
      {R"({"name":""})", [](JsonFields& f) { f.String("name", 8); }, "invalid_value",
       "doc: field 'name' must be 1 to 8 bytes"},
      {R"({"name":"123456789"})", [](JsonFields& f) { f.String("name", 8); }, "invalid_value",
       "doc: field 'name' must be 1 to 8 bytes"},
      {R"({"name":"a\nb"})", [](JsonFields& f) { f.String("name", 8); }, "invalid_value",
       "doc: field 'name' contains a control character"},
      {R"({"n":1.5})", [](JsonFields& f) { f.Integer("n", 0, 9); }, "wrong_type",
       "doc: field 'n' must be an integer"},
      {R"({"n":"1"})", [](JsonFields& f) { f.Integer("n", 0, 9); }, "wrong_type",
       "doc: field 'n' must be an integer"},
      {R"({"n":null})", [](JsonFields& f) { f.Integer("n", 0, 9); }, "wrong_type",
       "doc: field 'n' must be an integer"},
      {R"({"n":10})", [](JsonFields& f) { f.Integer("n", 0, 9); }, "invalid_value",
       "doc: field 'n' must be from 0 to 9"},
      {R"({"n":18446744073709551615})", [](JsonFields& f) { f.Integer("n", 0, 9); },
       "invalid_value", "doc: field 'n' must be from 0 to 9"},
      {R"({"x":true})", [](JsonFields& f) { f.Number("x", 0, 1); }, "wrong_type",
       "doc: field 'x' must be a number"},
      {R"({"t":"a"})", [](JsonFields& f) { f.OptionalStringArray("t", 2, 4); }, "wrong_type",
       "doc: field 't' must be an array of strings"},
      {R"({"t":["a",1]})", [](JsonFields& f) { f.OptionalStringArray("t", 2, 4); }, "wrong_type",
       "doc: field 't' must be an array of strings"},
      {R"({"t":["a","b","c"]})", [](JsonFields& f) { f.OptionalStringArray("t", 2, 4); },
       "invalid_value", "doc: field 't' has more than 2 items"},
      {R"({"a":"x","zzz":1})", [](JsonFields& f) { f.String("a", 4); }, "unknown_field",
       "doc: unknown field 'zzz'"},
  };
  for (const FieldCase& c : cases) {
    const boost::json::object object = Object(c.json);
    JsonFields fields(object, "doc");
    c.read(fields);
    const std::optional<ApiError> error = fields.Finish();
    ASSERT_TRUE(error.has_value()) << c.json;
    EXPECT_EQ(error->status, 400) << c.json;
    EXPECT_EQ(error->code, c.code) << c.json;
    EXPECT_EQ(error->message, c.message) << c.json;
  }
}

TEST(JsonFields, FirstProblemWins_LaterGettersReturnDefaults) {
  const boost::json::object object = Object(R"({"a":1,"b":"x"})");
  JsonFields fields(object, "doc");
  EXPECT_EQ(fields.String("a", 4), "");
  EXPECT_EQ(fields.String("b", 4), "");  // readable, but an earlier problem stands
  EXPECT_EQ(fields.Finish()->message, "doc: field 'a' must be a string");
}

}  // namespace
}  // namespace aloft::server
