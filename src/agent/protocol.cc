#include "agent/protocol.h"

#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include "core/base64.h"
#include "core/hex.h"
#include "core/text.h"
#include "core/try.h"

// jsmn 1.1 (Debian libjsmn-dev; ESP-IDF's jsmn component): header-only C, compiled here and only
// here (JSMN_STATIC), in strict mode with parent links, which the structure check below needs.
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <jsmn.h>
#pragma GCC diagnostic pop

namespace aloft::agent {
namespace {

static_assert(sizeof(jsmntok_t) == kJsonTokenBytes);
static_assert(alignof(jsmntok_t) <= alignof(int));
static_assert(std::is_trivial_v<jsmntok_t>);
static_assert(kMaxCheckinAnswerSize < static_cast<size_t>(std::numeric_limits<int>::max()));

// ---- writing ----

class JsonWriter {
 public:
  explicit JsonWriter(std::span<char> out) : out_(out) {}

  void Raw(std::string_view text) {
    for (char c : text) {
      Put(c);
    }
  }
  // A JSON string: quotes, and escapes for '"', '\' and control characters. Bytes >= 0x80 are
  // refused rather than guessed at: every field the device sends is ASCII by construction.
  void String(std::string_view text) {
    Put('"');
    for (char c : text) {
      const auto byte = static_cast<uint8_t>(c);
      if (byte >= 0x80) {
        non_ascii_ = true;
        return;
      }
      if (c == '"' || c == '\\') {
        Put('\\');
        Put(c);
      } else if (byte < 0x20 || byte == 0x7F) {
        constexpr char kDigits[] = "0123456789abcdef";
        Raw("\\u00");
        Put(kDigits[byte >> 4]);
        Put(kDigits[byte & 0x0F]);
      } else {
        Put(c);
      }
    }
    Put('"');
  }
  void Unsigned(uint64_t value) {
    char digits[20];
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) {
      Put(digits[--count]);
    }
  }
  void Signed(int64_t value) {
    if (value < 0) {
      Put('-');
      // -(value + 1) + 1 cannot overflow, even for the most negative value.
      Unsigned(static_cast<uint64_t>(-(value + 1)) + 1);
      return;
    }
    Unsigned(static_cast<uint64_t>(value));
  }
  // "key": with a leading comma unless it is the first member.
  void Key(std::string_view key, bool first = false) {
    if (!first) {
      Put(',');
    }
    String(key);
    Put(':');
  }

  Result<size_t> Finish() const {
    if (non_ascii_) {
      return InvalidArgument("protocol: text field is not ASCII");
    }
    if (overflow_) {
      return ResourceExhausted("protocol: output buffer too small");
    }
    return size_;
  }

 private:
  void Put(char c) {
    if (size_ >= out_.size()) {
      overflow_ = true;
      return;
    }
    out_[size_++] = c;
  }

  std::span<char> out_;
  size_t size_ = 0;
  bool overflow_ = false;
  bool non_ascii_ = false;
};

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// ---- reading ----

enum class Fault : uint8_t {
  kTooLarge,
  kNotJson,
  kTooManyTokens,
  kNotObject,
  kStructure,
  kDuplicateKey,
  kEscapedKey,
  kBadEscape,
  kControlCharacter,
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsJsonNumber(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    return i > start;
  };
  if (i < text.size() && text[i] == '-') {
    ++i;
  }
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == text.size();
}

// A tokenized document whose structure has been checked: every token's place is what JSON
// allows (keys are strings with exactly one value, nothing hangs off a scalar, one root object).
class Document {
 public:
  Document(std::span<char> text, JsonWorkspace& workspace)
      : text_(text),
        // C++20 implicit object creation: the byte array provides storage for jsmntok_t (a
        // trivial type) without a constructor call.
        tokens_(
            std::launder(static_cast<jsmntok_t*>(static_cast<void*>(workspace.storage.data())))) {}

  std::optional<Fault> Parse() {
    if (text_.size() > kMaxCheckinAnswerSize) {
      return Fault::kTooLarge;
    }
    jsmn_parser parser;
    jsmn_init(&parser);
    const int count = jsmn_parse(&parser, text_.data(), text_.size(), tokens_, kMaxJsonTokens);
    if (count == JSMN_ERROR_NOMEM) {
      return Fault::kTooManyTokens;
    }
    if (count < 0) {
      return Fault::kNotJson;
    }
    count_ = count;
    if (count_ == 0 || tokens_[0].type != JSMN_OBJECT) {
      return Fault::kNotObject;
    }
    // jsmn stops at a NUL byte and ignores what follows its root value; JSON allows only
    // whitespace around it.
    for (int i = 0; i < tokens_[0].start; ++i) {
      if (!IsSpace(text_[static_cast<size_t>(i)])) {
        return Fault::kNotJson;
      }
    }
    for (size_t i = static_cast<size_t>(tokens_[0].end); i < text_.size(); ++i) {
      if (!IsSpace(text_[i])) {
        return Fault::kNotJson;
      }
    }
    for (int k = 0; k < count_; ++k) {
      const jsmntok_t& token = tokens_[k];
      if (token.start < 0 || token.end < token.start) {
        return Fault::kStructure;
      }
      if (k == 0) {
        continue;
      }
      const int parent = token.parent;
      if (parent < 0 || parent >= k) {
        return Fault::kStructure;  // a second top-level value
      }
      const jsmntok_t& up = tokens_[parent];
      const bool is_key = up.type == JSMN_OBJECT;
      if (is_key) {
        if (token.type != JSMN_STRING || token.size != 1) {
          return Fault::kStructure;
        }
        if (std::memchr(text_.data() + token.start, '\\',
                        static_cast<size_t>(token.end - token.start)) != nullptr) {
          return Fault::kEscapedKey;
        }
      } else if (up.type == JSMN_STRING || up.type == JSMN_ARRAY) {
        // A value (of key `up`, or in an array). Scalars have no children.
        if ((token.type == JSMN_STRING || token.type == JSMN_PRIMITIVE) && token.size != 0) {
          return Fault::kStructure;
        }
      } else {
        return Fault::kStructure;  // something hanging off a scalar
      }
      if (token.type == JSMN_PRIMITIVE) {
        const std::string_view word = View(k);
        if (word != "true" && word != "false" && word != "null" && !IsJsonNumber(word)) {
          return Fault::kNotJson;
        }
      }
      if (token.type == JSMN_STRING) {
        for (int i = token.start; i < token.end; ++i) {
          if (static_cast<uint8_t>(text_[static_cast<size_t>(i)]) < 0x20) {
            return Fault::kControlCharacter;
          }
        }
      }
    }
    return std::nullopt;
  }

  // The raw text of token k (a string without its quotes, escapes unresolved).
  std::string_view View(int k) const {
    return {text_.data() + tokens_[k].start,
            static_cast<size_t>(tokens_[k].end - tokens_[k].start)};
  }
  jsmntype_t Type(int k) const { return tokens_[k].type; }
  int offset(int k) const { return tokens_[k].start; }

  // The value of `key` in object `object`: its token index, -1 if absent; kDuplicateKey if the
  // key appears twice.
  std::optional<Fault> Find(int object, std::string_view key, int& value) const {
    value = -1;
    for (int k = object + 1; k < count_ && tokens_[k].start < tokens_[object].end; ++k) {
      if (tokens_[k].parent != object || View(k) != key) {
        continue;
      }
      if (value != -1) {
        return Fault::kDuplicateKey;
      }
      value = k + 1;  // a key's value is the next token in document order
    }
    return std::nullopt;
  }

  // The direct children of array `array`, in order, via `visit(index)`; stops at the first
  // non-OK status.
  template <typename Visit>
  Status ForEachElement(int array, Visit visit) const {
    for (int k = array + 1; k < count_ && tokens_[k].start < tokens_[array].end; ++k) {
      if (tokens_[k].parent == array) {
        ALOFT_TRY(visit(k));
      }
    }
    return OkStatus();
  }

  // Resolves the escapes of string token k in place; returns the unescaped text. Only ASCII
  // escapes (\u0001..\u007f) are accepted: nothing the device reads is anything else.
  std::optional<std::string_view> Unescape(int k) {
    size_t read = static_cast<size_t>(tokens_[k].start);
    const size_t end = static_cast<size_t>(tokens_[k].end);
    size_t write = read;
    const size_t begin = read;
    while (read < end) {
      char c = text_[read++];
      if (c == '\\') {
        if (read >= end) {
          return std::nullopt;
        }
        const char e = text_[read++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            c = e;
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'n':
            c = '\n';
            break;
          case 'r':
            c = '\r';
            break;
          case 't':
            c = '\t';
            break;
          case 'u': {
            if (end - read < 4) {
              return std::nullopt;
            }
            std::array<std::byte, 2> code{};
            if (!core::HexDecode({text_.data() + read, 4}, code).ok() || code[0] != std::byte{0} ||
                static_cast<uint8_t>(code[1]) >= 0x80 || code[1] == std::byte{0}) {
              return std::nullopt;
            }
            read += 4;
            c = static_cast<char>(code[1]);
            break;
          }
          default:
            return std::nullopt;
        }
      }
      text_[write++] = c;
    }
    return std::string_view(text_.data() + begin, write - begin);
  }

  // Bytes view over the same storage as token k (for in-place base64 decoding).
  ByteSpan Bytes(int k) {
    return {reinterpret_cast<std::byte*>(text_.data() + tokens_[k].start),
            static_cast<size_t>(tokens_[k].end - tokens_[k].start)};
  }

 private:
  std::span<char> text_;
  jsmntok_t* tokens_;
  int count_ = 0;
};

// "0" or [1-9][0-9]*, at most max.
std::optional<uint64_t> ParseUnsigned(std::string_view text, uint64_t max) {
  if (text.size() > 1 && text[0] == '0') {
    return std::nullopt;
  }
  const std::optional<uint64_t> value = core::ParseDecimal(text);
  if (!value.has_value() || *value > max) {
    return std::nullopt;
  }
  return value;
}

Status CheckinFault(Fault fault) {
  switch (fault) {
    case Fault::kTooLarge:
      return InvalidArgument("check-in answer: too large");
    case Fault::kNotJson:
      return InvalidArgument("check-in answer: not JSON");
    case Fault::kTooManyTokens:
      return InvalidArgument("check-in answer: too many JSON tokens");
    case Fault::kNotObject:
      return InvalidArgument("check-in answer: not a JSON object");
    case Fault::kStructure:
      return InvalidArgument("check-in answer: malformed JSON structure");
    case Fault::kDuplicateKey:
      return InvalidArgument("check-in answer: duplicate key");
    case Fault::kEscapedKey:
      return InvalidArgument("check-in answer: key with escapes");
    case Fault::kBadEscape:
      return InvalidArgument("check-in answer: bad string escape");
    case Fault::kControlCharacter:
      return InvalidArgument("check-in answer: control character in string");
  }
  return Internal("check-in answer: unknown fault");
}

Status EventsFault(Fault fault) {
  switch (fault) {
    case Fault::kTooLarge:
      return InvalidArgument("events answer: too large");
    case Fault::kNotJson:
      return InvalidArgument("events answer: not JSON");
    case Fault::kTooManyTokens:
      return InvalidArgument("events answer: too many JSON tokens");
    case Fault::kNotObject:
      return InvalidArgument("events answer: not a JSON object");
    case Fault::kStructure:
      return InvalidArgument("events answer: malformed JSON structure");
    case Fault::kDuplicateKey:
      return InvalidArgument("events answer: duplicate key");
    case Fault::kEscapedKey:
      return InvalidArgument("events answer: key with escapes");
    case Fault::kBadEscape:
      return InvalidArgument("events answer: bad string escape");
    case Fault::kControlCharacter:
      return InvalidArgument("events answer: control character in string");
  }
  return Internal("events answer: unknown fault");
}

// Looks up `key` in `object` and requires `type`; `missing` is the field's own reason.
Result<int> Field(const Document& doc, int object, std::string_view key, jsmntype_t type,
                  Status missing) {
  int value = -1;
  if (std::optional<Fault> fault = doc.Find(object, key, value)) {
    return CheckinFault(*fault);
  }
  if (value < 0 || doc.Type(value) != type) {
    return missing;
  }
  return value;
}

Result<uint64_t> UnsignedField(const Document& doc, int object, std::string_view key, uint64_t max,
                               Status missing) {
  ALOFT_TRY_ASSIGN(const int value, Field(doc, object, key, JSMN_PRIMITIVE, missing));
  const std::string_view word = doc.View(value);
  if (word == "null" || word == "true" || word == "false") {
    return missing;
  }
  const std::optional<uint64_t> number = ParseUnsigned(doc.View(value), max);
  if (!number) {
    return InvalidArgument("check-in answer: number is not a non-negative integer",
                           static_cast<uint32_t>(doc.offset(value)));
  }
  return *number;
}

Result<std::string_view> StringField(Document& doc, int object, std::string_view key,
                                     Status missing) {
  ALOFT_TRY_ASSIGN(const int value, Field(doc, object, key, JSMN_STRING, missing));
  const std::optional<std::string_view> text = doc.Unescape(value);
  if (!text) {
    return CheckinFault(Fault::kBadEscape);
  }
  return *text;
}

// Unescapes then base64-decodes string field `key` in place.
Result<ConstByteSpan> Base64Field(Document& doc, int object, std::string_view key, Status missing,
                                  Status not_base64, size_t max_size, Status too_long) {
  ALOFT_TRY_ASSIGN(const int value, Field(doc, object, key, JSMN_STRING, missing));
  const std::optional<std::string_view> text = doc.Unescape(value);
  if (!text) {
    return CheckinFault(Fault::kBadEscape);
  }
  if (core::Base64DecodedSize(*text) > max_size) {
    return too_long;
  }
  const ByteSpan out = doc.Bytes(value).first(text->size());
  Result<size_t> size = core::Base64Decode(*text, out);
  if (!size.ok()) {
    return not_base64;
  }
  return ConstByteSpan(out.first(*size));
}

Result<UpdateOffer> ParseOffer(Document& doc, int update) {
  UpdateOffer offer;
  ALOFT_TRY_ASSIGN(
      const int release,
      Field(doc, update, "release", JSMN_OBJECT,
            InvalidArgument("check-in answer: field release is missing or has the wrong type")));
  ALOFT_TRY_ASSIGN(
      offer.manifest,
      Base64Field(
          doc, release, "manifest",
          InvalidArgument("check-in answer: field manifest is missing or has the wrong type"),
          InvalidArgument("check-in answer: manifest is not base64"), core::kMaxManifestSize,
          InvalidArgument("check-in answer: manifest too long")));
  ALOFT_TRY_ASSIGN(
      offer.signature,
      Base64Field(
          doc, release, "signature",
          InvalidArgument("check-in answer: field signature is missing or has the wrong type"),
          InvalidArgument("check-in answer: signature is not base64"), kMaxSignatureSize,
          InvalidArgument("check-in answer: signature is not 1 to 3 blocks")));
  if (offer.signature.empty() || offer.signature.size() % core::kSignatureBlockSize != 0) {
    return InvalidArgument("check-in answer: signature is not 1 to 3 blocks");
  }
  ALOFT_TRY_ASSIGN(
      offer.artifact_path,
      StringField(
          doc, update, "artifact_url",
          InvalidArgument("check-in answer: field artifact_url is missing or has the wrong type")));
  // The transport joins it to the server it is configured for: an absolute URL (another host)
  // is refused, and so is anything a request line could not carry as-is.
  bool path_ok = !offer.artifact_path.empty() && offer.artifact_path[0] == '/' &&
                 offer.artifact_path.size() <= kMaxArtifactPathSize &&
                 offer.artifact_path.substr(0, 2) != "//";
  for (char c : offer.artifact_path) {
    path_ok = path_ok && c > 0x20 && c < 0x7F;
  }
  if (!path_ok) {
    return InvalidArgument("check-in answer: artifact_url is not a path");
  }
  ALOFT_TRY_ASSIGN(
      const uint64_t size,
      UnsignedField(
          doc, update, "size", std::numeric_limits<uint32_t>::max(),
          InvalidArgument("check-in answer: field size is missing or has the wrong type")));
  offer.size_bytes = static_cast<uint32_t>(size);
  ALOFT_TRY_ASSIGN(
      const std::string_view sha256,
      StringField(
          doc, update, "sha256",
          InvalidArgument("check-in answer: field sha256 is missing or has the wrong type")));
  if (!core::HexDecode(sha256, offer.sha256).ok()) {
    return InvalidArgument("check-in answer: sha256 is not 64 hex digits");
  }
  constexpr uint64_t kMaxId = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  ALOFT_TRY_ASSIGN(
      const uint64_t release_id,
      UnsignedField(
          doc, update, "release_id", kMaxId,
          InvalidArgument("check-in answer: field release_id is missing or has the wrong type")));
  ALOFT_TRY_ASSIGN(
      const uint64_t rollout_id,
      UnsignedField(
          doc, update, "rollout_id", kMaxId,
          InvalidArgument("check-in answer: field rollout_id is missing or has the wrong type")));
  offer.release_id = static_cast<int64_t>(release_id);
  offer.rollout_id = static_cast<int64_t>(rollout_id);
  return offer;
}

}  // namespace

Result<size_t> BuildCheckinRequest(const CheckinRequest& request, std::span<char> out) {
  if (request.nonce.size() != core::kCheckinNonceSize) {
    return InvalidArgument("protocol: nonce is not 16 bytes");
  }
  if (request.tags.size() > kMaxTags) {
    return InvalidArgument("protocol: too many tags");
  }
  std::array<char, 2 * core::kCheckinNonceSize> nonce_hex{};
  core::HexEncode(request.nonce, nonce_hex);
  JsonWriter json(out);
  json.Raw("{");
  json.Key("device_id", true);
  json.String(request.device_id);
  json.Key("project");
  json.String(request.project);
  json.Key("chip");
  json.String(request.chip);
  json.Key("version");
  json.String(request.version);
  json.Key("secure_version");
  json.Unsigned(request.secure_version);
  json.Key("tags");
  json.Raw("[");
  for (size_t i = 0; i < request.tags.size(); ++i) {
    if (i > 0) {
      json.Raw(",");
    }
    json.String(request.tags[i]);
  }
  json.Raw("]");
  json.Key("nonce");
  json.String({nonce_hex.data(), nonce_hex.size()});
  json.Raw("}");
  return json.Finish();
}

Result<CheckinAnswer> ParseCheckinAnswer(std::span<char> body, JsonWorkspace& workspace) {
  Document doc(body, workspace);
  if (std::optional<Fault> fault = doc.Parse()) {
    return CheckinFault(*fault);
  }
  CheckinAnswer answer;
  ALOFT_TRY_ASSIGN(
      const std::string_view nonce,
      StringField(
          doc, 0, "nonce",
          InvalidArgument("check-in answer: field nonce is missing or has the wrong type")));
  if (!core::HexDecode(nonce, answer.nonce).ok()) {
    return InvalidArgument("check-in answer: nonce is not 32 hex digits");
  }
  ALOFT_TRY_ASSIGN(
      answer.server_time_ms,
      UnsignedField(doc, 0, "server_time_ms", std::numeric_limits<uint64_t>::max(),
                    InvalidArgument(
                        "check-in answer: field server_time_ms is missing or has the wrong type")));
  int update = -1;
  if (std::optional<Fault> fault = doc.Find(0, "update", update)) {
    return CheckinFault(*fault);
  }
  const Status missing_update =
      InvalidArgument("check-in answer: field update is missing or has the wrong type");
  if (update < 0) {
    return missing_update;
  }
  if (doc.Type(update) == JSMN_PRIMITIVE && doc.View(update) == "null") {
    return answer;
  }
  if (doc.Type(update) != JSMN_OBJECT) {
    return missing_update;
  }
  ALOFT_TRY_ASSIGN(answer.update, ParseOffer(doc, update));
  return answer;
}

const char* EventStateName(EventState state) {
  switch (state) {
    case EventState::kDownloading:
      return "downloading";
    case EventState::kDownloaded:
      return "downloaded";
    case EventState::kVerified:
      return "verified";
    case EventState::kRebooting:
      return "rebooting";
    case EventState::kConfirmed:
      return "confirmed";
    case EventState::kFailed:
      return "failed";
    case EventState::kRolledBack:
      return "rolled_back";
  }
  return "unknown";
}

Result<size_t> BuildEventsRequest(std::string_view device_id, std::span<const EventReport> events,
                                  std::span<char> out) {
  if (events.empty()) {
    return InvalidArgument("protocol: no events");
  }
  JsonWriter json(out);
  json.Raw("{");
  json.Key("device_id", true);
  json.String(device_id);
  json.Key("events");
  json.Raw("[");
  for (size_t i = 0; i < events.size(); ++i) {
    const EventReport& event = events[i];
    bool id_ok = !event.id.empty() && event.id.size() <= kMaxEventIdSize;
    for (char c : event.id) {
      id_ok = id_ok && IsIdChar(c);
    }
    if (!id_ok) {
      return InvalidArgument("protocol: event id is not 1..64 id characters");
    }
    if (event.progress && *event.progress > 100) {
      return InvalidArgument("protocol: progress over 100");
    }
    if (i > 0) {
      json.Raw(",");
    }
    json.Raw("{");
    json.Key("id", true);
    json.String(event.id);
    json.Key("state");
    json.String(EventStateName(event.state));
    if (event.progress) {
      json.Key("progress");
      json.Unsigned(*event.progress);
    }
    if (event.bytes) {
      json.Key("bytes");
      json.Unsigned(*event.bytes);
    }
    if (!event.reason.empty()) {
      json.Key("reason");
      json.String(event.reason);
    }
    json.Key("version");
    json.String(event.version);
    json.Key("release_id");
    if (event.release_id) {
      json.Signed(*event.release_id);
    } else {
      json.Raw("null");
    }
    json.Key("rollout_id");
    if (event.rollout_id) {
      json.Signed(*event.rollout_id);
    } else {
      json.Raw("null");
    }
    json.Key("time_ms");
    json.Unsigned(event.time_ms);
    json.Raw("}");
  }
  json.Raw("]}");
  return json.Finish();
}

Status ParseEventsAnswer(std::span<char> body, JsonWorkspace& workspace,
                         std::span<const std::string_view> ids, std::span<bool> acknowledged) {
  ALOFT_CHECK(ids.size() == acknowledged.size());
  Document doc(body, workspace);
  if (std::optional<Fault> fault = doc.Parse()) {
    return EventsFault(*fault);
  }
  struct List {
    std::string_view key;
    Status missing;
  };
  const List lists[] = {
      {"accepted",
       InvalidArgument("events answer: field accepted is missing or has the wrong type")},
      {"duplicates",
       InvalidArgument("events answer: field duplicates is missing or has the wrong type")},
  };
  for (const List& list : lists) {
    int array = -1;
    if (std::optional<Fault> fault = doc.Find(0, list.key, array)) {
      return EventsFault(*fault);
    }
    if (array < 0 || doc.Type(array) != JSMN_ARRAY) {
      return list.missing;
    }
    ALOFT_TRY(doc.ForEachElement(array, [&](int element) -> Status {
      if (doc.Type(element) != JSMN_STRING) {
        return InvalidArgument("events answer: id is not a string");
      }
      const std::optional<std::string_view> id = doc.Unescape(element);
      if (!id) {
        return EventsFault(Fault::kBadEscape);
      }
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == *id) {
          acknowledged[i] = true;
        }
      }
      return OkStatus();
    }));
  }
  return OkStatus();
}

}  // namespace aloft::agent
