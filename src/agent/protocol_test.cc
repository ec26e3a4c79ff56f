#include "agent/protocol.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "core/hex.h"
#include "ports/host/release_document.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::agent {
namespace {

using ::aloft::testing::DescribeStatus;

constexpr std::string_view kNonceHex = "000102030405060708090a0b0c0d0e0f";
constexpr std::string_view kSha =
    "0de843cf37e243611f5fe4c28f94b16a840aa8495bec9def9376e9effe3e224d";

std::string Manifest() {
  return "aloft-release-manifest-v1\nproject=p\nchip=esp32\nchip_id=0\nversion=2.0.0\n"
         "secure_version=0\nsize=8192\nsha256=" +
         std::string(kSha) + "\nmin_running_version=\n";
}

std::string Base64(std::string_view text) { return host::Base64Encode(AsBytes(text)); }

// A check-in answer offering an update, shaped as the server writes it.
std::string OfferAnswer(size_t signature_blocks = 1, std::string artifact = "/api/v1/artifacts/x") {
  const std::string signature(signature_blocks * core::kSignatureBlockSize, '\x5a');
  return std::string("{\"nonce\":\"") + std::string(kNonceHex) +
         "\",\"server_time_ms\":1767225600000,\"update\":{\"release\":{\"format\":\"aloft-release-"
         "v1\",\"project\":\"p\",\"signed_by\":[{\"scheme\":\"rsa-3072\",\"key_digest\":\"ab\"}],"
         "\"manifest\":\"" +
         Base64(Manifest()) + "\",\"signature\":\"" + Base64(signature) +
         "\"},\"artifact_url\":\"" + artifact + "\",\"size\":8192,\"sha256\":\"" +
         std::string(kSha) + "\",\"release_id\":7,\"rollout_id\":3}}";
}

Result<CheckinAnswer> Parse(std::string& body) {
  static JsonWorkspace workspace;
  return ParseCheckinAnswer(body, workspace);
}

TEST(CheckinRequest, Build_WritesTheProtocolFieldsInOrder) {
  std::array<std::byte, 16> nonce{};
  ASSERT_TRUE(core::HexDecode(kNonceHex, nonce).ok());
  const std::string_view tags[] = {"lab", "floor-2"};
  CheckinRequest request{"c3-0001", "thermo", "esp32c3", "1.0.0", 2, tags, nonce};
  std::array<char, 512> out{};
  Result<size_t> size = BuildCheckinRequest(request, out);
  ASSERT_TRUE(size.ok()) << DescribeStatus(size.status());
  EXPECT_EQ(std::string_view(out.data(), *size),
            "{\"device_id\":\"c3-0001\",\"project\":\"thermo\",\"chip\":\"esp32c3\",\"version\":"
            "\"1.0.0\",\"secure_version\":2,\"tags\":[\"lab\",\"floor-2\"],\"nonce\":"
            "\"000102030405060708090a0b0c0d0e0f\"}");
}

TEST(CheckinRequest, Build_EscapesQuotesBackslashesAndControlCharacters) {
  std::array<std::byte, 16> nonce{};
  CheckinRequest request{"d", "a\"b\\c", "esp32", "v\n1\x01", 0, {}, nonce};
  std::array<char, 512> out{};
  Result<size_t> size = BuildCheckinRequest(request, out);
  ASSERT_TRUE(size.ok());
  EXPECT_NE(
      std::string_view(out.data(), *size)
          .find("\"project\":\"a\\\"b\\\\c\",\"chip\":\"esp32\",\"version\":\"v\\u000a1\\u0001\""),
      std::string_view::npos)
      << std::string_view(out.data(), *size);
}

TEST(CheckinRequest, Build_RefusesNonAsciiShortBuffersAndBadNonces) {
  std::array<std::byte, 16> nonce{};
  std::array<char, 512> out{};
  CheckinRequest request{"d", "caf\xc3\xa9", "esp32", "1", 0, {}, nonce};
  EXPECT_STATUS(BuildCheckinRequest(request, out).status(),
                InvalidArgument("protocol: text field is not ASCII"));
  request.project = "p";
  std::array<char, 40> small{};
  EXPECT_STATUS(BuildCheckinRequest(request, small).status(),
                ResourceExhausted("protocol: output buffer too small"));
  request.nonce = ConstByteSpan(nonce).first(15);
  EXPECT_STATUS(BuildCheckinRequest(request, out).status(),
                InvalidArgument("protocol: nonce is not 16 bytes"));
}

TEST(CheckinAnswer, NoUpdate_GivesNonceAndServerTime) {
  std::string body =
      " {\"nonce\":\"" + std::string(kNonceHex) +
      "\",\"server_time_ms\":1767225600123,\"update\":null,\"future\":[1,{\"a\":true}]}\n";
  Result<CheckinAnswer> answer = Parse(body);
  ASSERT_TRUE(answer.ok()) << DescribeStatus(answer.status());
  EXPECT_EQ(answer->server_time_ms, 1767225600123u);
  EXPECT_EQ(answer->nonce[15], std::byte{0x0f});
  EXPECT_FALSE(answer->update.has_value());
}

TEST(CheckinAnswer, Offer_ExtractsAndDecodesEveryField) {
  std::string body = OfferAnswer(3);
  Result<CheckinAnswer> answer = Parse(body);
  ASSERT_TRUE(answer.ok()) << DescribeStatus(answer.status());
  ASSERT_TRUE(answer->update.has_value());
  const UpdateOffer& offer = *answer->update;
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(offer.manifest.data()), offer.manifest.size()),
      Manifest());
  EXPECT_EQ(offer.signature.size(), 3 * core::kSignatureBlockSize);
  EXPECT_EQ(offer.signature[0], std::byte{0x5a});
  EXPECT_EQ(offer.artifact_path, "/api/v1/artifacts/x");
  EXPECT_EQ(offer.size_bytes, 8192u);
  EXPECT_EQ(offer.sha256[0], std::byte{0x0d});
  EXPECT_EQ(offer.release_id, 7);
  EXPECT_EQ(offer.rollout_id, 3);
}

TEST(CheckinAnswer, EscapedSlashes_AreResolved) {
  std::string body = OfferAnswer(1, "\\/api\\/v1\\/artifacts\\/\\u0078");
  Result<CheckinAnswer> answer = Parse(body);
  ASSERT_TRUE(answer.ok()) << DescribeStatus(answer.status());
  EXPECT_EQ(answer->update->artifact_path, "/api/v1/artifacts/x");
}

TEST(CheckinAnswer, RealReleaseJson_IsReadAsPublished) {
  // The server embeds RELEASE.json as published; make one with a real key.
  Result<host::ReleaseKey> key = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256);
  ASSERT_TRUE(key.ok());
  const std::string canonical = Manifest();
  Result<core::ReleaseManifest> manifest = core::ParseManifest(AsBytes(canonical));
  ASSERT_TRUE(manifest.ok());
  const host::ReleaseKey* keys[] = {&*key};
  Result<std::string> release = host::MakeReleaseJson(*manifest, keys);
  ASSERT_TRUE(release.ok());
  std::string body = "{\"nonce\":\"" + std::string(kNonceHex) +
                     "\",\"server_time_ms\":5,\"update\":{\"release\":" + *release +
                     ",\"artifact_url\":\"/api/v1/artifacts/" + std::string(kSha) +
                     "\",\"size\":8192,\"sha256\":\"" + std::string(kSha) +
                     "\",\"release_id\":1,\"rollout_id\":2}}";
  Result<CheckinAnswer> answer = Parse(body);
  ASSERT_TRUE(answer.ok()) << DescribeStatus(answer.status());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(answer->update->manifest.data()),
                        answer->update->manifest.size()),
            canonical);
  EXPECT_EQ(answer->update->signature.size(), core::kSignatureBlockSize);
}

TEST(CheckinAnswer, MalformedOrHostile_IsRefusedNamingTheFault) {
  const std::string nonce = "\"nonce\":\"" + std::string(kNonceHex) + "\"";
  const std::string ok_head = "{" + nonce + ",\"server_time_ms\":1,";
  const std::pair<std::string, Status> cases[] = {
      {"", InvalidArgument("check-in answer: not a JSON object")},
      {"[1]", InvalidArgument("check-in answer: not a JSON object")},
      {"{\"a\":1", InvalidArgument("check-in answer: not JSON")},
      {"{\"a\":1}}", InvalidArgument("check-in answer: not JSON")},
      {"{\"a\":1} {}", InvalidArgument("check-in answer: not JSON")},
      {"{\"a\":1},", InvalidArgument("check-in answer: not JSON")},
      {std::string("{\"a\":1}\0x", 9), InvalidArgument("check-in answer: not JSON")},
      {"{\"a\":nul}", InvalidArgument("check-in answer: not JSON")},
      {"{\"a\":01}", InvalidArgument("check-in answer: not JSON")},
      {"{\"a\" \"b\"}", InvalidArgument("check-in answer: malformed JSON structure")},
      {"{\"a\":\"b\":\"c\"}", InvalidArgument("check-in answer: malformed JSON structure")},
      {"{\"a\":1:2}", InvalidArgument("check-in answer: not JSON")},
      {"{\"a\\u0062\":1}", InvalidArgument("check-in answer: key with escapes")},
      {"{\"a\":\"x\x01\"}", InvalidArgument("check-in answer: control character in string")},
      {ok_head + nonce + ",\"update\":null}", InvalidArgument("check-in answer: duplicate key")},
      {"{\"server_time_ms\":1,\"update\":null}",
       InvalidArgument("check-in answer: field nonce is missing or has the wrong type")},
      {"{\"nonce\":1,\"server_time_ms\":1,\"update\":null}",
       InvalidArgument("check-in answer: field nonce is missing or has the wrong type")},
      {"{\"nonce\":\"00\",\"server_time_ms\":1,\"update\":null}",
       InvalidArgument("check-in answer: nonce is not 32 hex digits")},
      {"{" + nonce + ",\"server_time_ms\":\"1\",\"update\":null}",
       InvalidArgument("check-in answer: field server_time_ms is missing or has the wrong type")},
      {"{" + nonce + ",\"server_time_ms\":-1,\"update\":null}",
       InvalidArgument("check-in answer: number is not a non-negative integer", 61)},
      {"{" + nonce + ",\"server_time_ms\":1.5,\"update\":null}",
       InvalidArgument("check-in answer: number is not a non-negative integer", 61)},
      {"{" + nonce + ",\"server_time_ms\":18446744073709551616,\"update\":null}",
       InvalidArgument("check-in answer: number is not a non-negative integer", 61)},
      {ok_head + "\"update\":false}",
       InvalidArgument("check-in answer: field update is missing or has the wrong type")},
      {ok_head + "\"other\":null}",
       InvalidArgument("check-in answer: field update is missing or has the wrong type")},
      {ok_head + "\"update\":{}}",
       InvalidArgument("check-in answer: field release is missing or has the wrong type")},
      {ok_head + "\"update\":{\"release\":{\"manifest\":\"!!!!\",\"signature\":\"\"}}}",
       InvalidArgument("check-in answer: manifest is not base64")},
      {ok_head + "\"update\":{\"release\":{\"manifest\":\"" + Base64(Manifest()) +
           "\",\"signature\":\"" + Base64("abc") + "\"}}}",
       InvalidArgument("check-in answer: signature is not 1 to 3 blocks")},
      {ok_head + "\"update\":{\"release\":{\"manifest\":\"" + Base64(std::string(400, 'a')) +
           "\",\"signature\":\"\"}}}",
       InvalidArgument("check-in answer: manifest too long")},
  };
  for (const auto& [text, expected] : cases) {
    std::string body = text;
    EXPECT_STATUS(Parse(body).status(), expected) << text;
  }
}

TEST(CheckinAnswer, UpdateFieldFaults_AreRefused) {
  struct Case {
    std::string from, to;
    Status expected;
  };
  const Case cases[] = {
      {"\"/api/v1/artifacts/x\"", "\"https://evil.example/x\"",
       InvalidArgument("check-in answer: artifact_url is not a path")},
      {"\"/api/v1/artifacts/x\"", "\"//evil.example/x\"",
       InvalidArgument("check-in answer: artifact_url is not a path")},
      {"\"/api/v1/artifacts/x\"", "\"/a b\"",
       InvalidArgument("check-in answer: artifact_url is not a path")},
      {"\"/api/v1/artifacts/x\"", "\"/a\\u00e9\"",
       InvalidArgument("check-in answer: bad string escape")},
      {"\"size\":8192", "\"size\":4294967296",
       InvalidArgument("check-in answer: number is not a non-negative integer", 0)},
      {"\"sha256\":\"0de8", "\"sha256\":\"zde8",
       InvalidArgument("check-in answer: sha256 is not 64 hex digits")},
      {"\"release_id\":7", "\"release_id\":null",
       InvalidArgument("check-in answer: field release_id is missing or has the wrong type")},
      {",\"rollout_id\":3", "",
       InvalidArgument("check-in answer: field rollout_id is missing or has the wrong type")},
  };
  for (const Case& c : cases) {
    std::string body = OfferAnswer();
    const size_t at = body.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    body.replace(at, c.from.size(), c.to);
    const std::string copy = body;
    Result<CheckinAnswer> answer = Parse(body);
    Status expected = c.expected;
    if (expected.has_context()) {
      expected = expected.WithContext(static_cast<uint32_t>(copy.find(c.to) + c.to.find(':') + 1));
    }
    EXPECT_STATUS(answer.status(), expected) << c.to;
  }
}

TEST(CheckinAnswer, EveryTruncation_IsRefusedCleanly) {
  const std::string full = OfferAnswer(2);
  for (size_t length = 0; length < full.size(); ++length) {
    std::string body = full.substr(0, length);
    EXPECT_FALSE(Parse(body).ok()) << length;
  }
}

TEST(CheckinAnswer, TooManyTokensOrTooLarge_IsRefused) {
  std::string many = "{\"a\":[" + std::string(200 * 2, ',') + "]}";
  for (size_t i = 6; i < many.size() - 2; i += 2) {
    many[i] = '1';
  }
  EXPECT_STATUS(Parse(many).status(), InvalidArgument("check-in answer: too many JSON tokens"));
  std::string large = "{\"a\":\"" + std::string(kMaxCheckinAnswerSize, 'x') + "\"}";
  EXPECT_STATUS(Parse(large).status(), InvalidArgument("check-in answer: too large"));
}

TEST(CheckinAnswer, Vectors_ParseAsTheirReadmeSays) {
  using ::aloft::testing::ReadText;
  using ::aloft::testing::VectorPath;
  std::string none = ReadText(VectorPath("agent-protocol/checkin_none.json"));
  Result<CheckinAnswer> answer = Parse(none);
  ASSERT_TRUE(answer.ok()) << DescribeStatus(answer.status());
  EXPECT_FALSE(answer->update.has_value());
  EXPECT_EQ(answer->server_time_ms, 1767225600001u);
  const std::string manifest = ReadText(VectorPath("release-manifest/example.manifest"));
  for (const char* name :
       {"agent-protocol/checkin_offer.json", "agent-protocol/checkin_offer_pretty.json"}) {
    std::string body = ReadText(VectorPath(name));
    Result<CheckinAnswer> offer = Parse(body);
    ASSERT_TRUE(offer.ok()) << name << ": " << DescribeStatus(offer.status());
    ASSERT_TRUE(offer->update.has_value()) << name;
    EXPECT_EQ(offer->update->signature.size(), 2 * core::kSignatureBlockSize) << name;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(offer->update->manifest.data()),
                          offer->update->manifest.size()),
              manifest)
        << name;
    EXPECT_EQ(offer->update->release_id, 12) << name;
    EXPECT_EQ(offer->update->size_bytes, 135168u) << name;
  }
  JsonWorkspace workspace;
  std::string events = ReadText(VectorPath("agent-protocol/events_answer.json"));
  const std::string_view ids[] = {"a1b2c3d4-2", "e-1", "e-9"};
  bool acked[3] = {false, false, false};
  ASSERT_TRUE(ParseEventsAnswer(events, workspace, ids, acked).ok());
  EXPECT_TRUE(acked[0] && acked[1] && !acked[2]);
}

TEST(EventsRequest, Build_WritesEveryFieldAndNullIds) {
  EventReport events[2];
  events[0] = {"a1b2c3d4-1", EventState::kDownloading, 40, 4096, "", "1.0.0", 7, 3, 1000};
  events[1] = {"a1b2c3d4-2",
               EventState::kRolledBack,
               std::nullopt,
               std::nullopt,
               "self-test \"failed\"",
               "1.0.0",
               std::nullopt,
               std::nullopt,
               0};
  std::array<char, 1024> out{};
  Result<size_t> size = BuildEventsRequest("c3-0001", events, out);
  ASSERT_TRUE(size.ok()) << DescribeStatus(size.status());
  EXPECT_EQ(
      std::string_view(out.data(), *size),
      "{\"device_id\":\"c3-0001\",\"events\":[{\"id\":\"a1b2c3d4-1\",\"state\":\"downloading\","
      "\"progress\":40,\"bytes\":4096,\"version\":\"1.0.0\",\"release_id\":7,\"rollout_id\":3,"
      "\"time_ms\":1000},{\"id\":\"a1b2c3d4-2\",\"state\":\"rolled_back\",\"reason\":"
      "\"self-test \\\"failed\\\"\",\"version\":\"1.0.0\",\"release_id\":null,"
      "\"rollout_id\":null,\"time_ms\":0}]}");
}

TEST(EventsRequest, Build_RefusesBadIdsAndProgress) {
  std::array<char, 1024> out{};
  EventReport event;
  event.id = "bad id";
  EXPECT_STATUS(BuildEventsRequest("d", {&event, 1}, out).status(),
                InvalidArgument("protocol: event id is not 1..64 id characters"));
  event.id = "ok";
  event.progress = 101;
  EXPECT_STATUS(BuildEventsRequest("d", {&event, 1}, out).status(),
                InvalidArgument("protocol: progress over 100"));
  EXPECT_STATUS(BuildEventsRequest("d", {}, out).status(), InvalidArgument("protocol: no events"));
  EXPECT_EQ(std::string(EventStateName(EventState::kRebooting)), "rebooting");
}

TEST(EventsAnswer, Parse_AcknowledgesAcceptedAndDuplicateIdsOnly) {
  JsonWorkspace workspace;
  std::string body = "{\"accepted\":[\"e-1\",\"e-3\"],\"duplicates\":[\"e-2\"]}";
  const std::string_view ids[] = {"e-1", "e-2", "e-4"};
  bool acked[3] = {false, false, false};
  ASSERT_TRUE(ParseEventsAnswer(body, workspace, ids, acked).ok());
  EXPECT_TRUE(acked[0]);
  EXPECT_TRUE(acked[1]);
  EXPECT_FALSE(acked[2]);
  std::string bad = "{\"accepted\":[1],\"duplicates\":[]}";
  EXPECT_STATUS(ParseEventsAnswer(bad, workspace, ids, acked),
                InvalidArgument("events answer: id is not a string"));
  std::string missing = "{\"accepted\":[]}";
  EXPECT_STATUS(
      ParseEventsAnswer(missing, workspace, ids, acked),
      InvalidArgument("events answer: field duplicates is missing or has the wrong type"));
}

}  // namespace
}  // namespace aloft::agent
