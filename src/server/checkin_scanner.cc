// ScanCheckin (checkin_request.h): Boost.JSON's SAX parser with a handler that accepts only the
// shape of a valid check-in (one object of known, unrepeated keys; strings, one integer, one
// array of strings) and gives up on anything else by returning false, which stops the parse.
// Whatever it accepts then passes the same size, text and value checks as the document parser.

#include <boost/json/basic_parser_impl.hpp>

#include "server/checkin_request.h"
#include "server/json_fields.h"
#include "server/store/records.h"

namespace aloft::server {
namespace {

using boost::json::error_code;
using JsonStringView = boost::json::string_view;

enum class Field : uint8_t {
  kNone,
  kDeviceId,
  kProject,
  kChip,
  kVersion,
  kSecureVersion,
  kTags,
  kNonce
};

constexpr uint8_t Bit(Field field) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(field));
}

// Every field but tags.
constexpr uint8_t kRequiredFields = Bit(Field::kDeviceId) | Bit(Field::kProject) |
                                    Bit(Field::kChip) | Bit(Field::kVersion) |
                                    Bit(Field::kSecureVersion) | Bit(Field::kNonce);

Field FieldNamed(std::string_view key) {
  if (key == "device_id") return Field::kDeviceId;
  if (key == "project") return Field::kProject;
  if (key == "chip") return Field::kChip;
  if (key == "version") return Field::kVersion;
  if (key == "secure_version") return Field::kSecureVersion;
  if (key == "tags") return Field::kTags;
  if (key == "nonce") return Field::kNonce;
  return Field::kNone;
}

class CheckinHandler {
 public:
  static constexpr std::size_t max_array_size = kMaxTags;
  static constexpr std::size_t max_object_size = 7;  // the fields above, each at most once
  // No valid key or string is longer than the longest field (kMaxIdBytes).
  static constexpr std::size_t max_string_size = kMaxIdBytes;
  static constexpr std::size_t max_key_size = kMaxIdBytes;

  CheckinRequest checkin;
  uint8_t seen = 0;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (depth_ != 0) {
      return GiveUp(ec);
    }
    depth_ = 1;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) { return true; }

  bool on_array_begin(error_code& ec) {
    if (depth_ != 1 || field_ != Field::kTags) {
      return GiveUp(ec);
    }
    depth_ = 2;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    depth_ = 1;
    field_ = Field::kNone;
    return true;
  }

  bool on_key_part(JsonStringView part, std::size_t, error_code& ec) { return Append(part, ec); }
  bool on_key(JsonStringView last, std::size_t, error_code& ec) {
    if (!Append(last, ec)) {
      return false;
    }
    field_ = FieldNamed(TakeText());
    if (field_ == Field::kNone || (seen & Bit(field_)) != 0) {
      return GiveUp(ec);  // unknown or repeated: the document parser words the error
    }
    seen |= Bit(field_);
    return true;
  }

  bool on_string_part(JsonStringView part, std::size_t, error_code& ec) { return Append(part, ec); }
  bool on_string(JsonStringView last, std::size_t, error_code& ec) {
    if (!Append(last, ec)) {
      return false;
    }
    const std::string_view text = TakeText();
    if (depth_ == 2) {
      checkin.tags.emplace_back(text);
      return true;
    }
    std::string* target = nullptr;
    switch (field_) {
      case Field::kDeviceId:
        target = &checkin.device_id;
        break;
      case Field::kProject:
        target = &checkin.project;
        break;
      case Field::kChip:
        target = &checkin.chip;
        break;
      case Field::kVersion:
        target = &checkin.version;
        break;
      case Field::kNonce:
        target = &checkin.nonce_hex;
        break;
      default:
        return GiveUp(ec);
    }
    target->assign(text);
    field_ = Field::kNone;
    return true;
  }

  bool on_number_part(JsonStringView, error_code&) { return true; }
  bool on_int64(int64_t value, JsonStringView, error_code& ec) {
    if (depth_ != 1 || field_ != Field::kSecureVersion || value < 0 || value > UINT32_MAX) {
      return GiveUp(ec);
    }
    checkin.secure_version = static_cast<uint32_t>(value);
    field_ = Field::kNone;
    return true;
  }
  bool on_uint64(uint64_t, JsonStringView, error_code& ec) { return GiveUp(ec); }
  bool on_double(double, JsonStringView, error_code& ec) { return GiveUp(ec); }
  bool on_bool(bool, error_code& ec) { return GiveUp(ec); }
  bool on_null(error_code& ec) { return GiveUp(ec); }
  bool on_comment_part(JsonStringView, error_code& ec) { return GiveUp(ec); }
  bool on_comment(JsonStringView, error_code& ec) { return GiveUp(ec); }

 private:
  static bool GiveUp(error_code& ec) {
    ec = boost::json::error::syntax;
    return false;
  }

  // Keys and strings may arrive in parts (escapes); max_*_size keeps them within text_.
  bool Append(JsonStringView part, error_code& ec) {
    if (part.size() > text_.size() - text_size_) {
      return GiveUp(ec);
    }
    std::copy(part.begin(), part.end(), text_.begin() + static_cast<std::ptrdiff_t>(text_size_));
    text_size_ += part.size();
    return true;
  }
  std::string_view TakeText() {
    const std::string_view text(text_.data(), text_size_);
    text_size_ = 0;
    return text;
  }

  int depth_ = 0;  // 1 inside the object, 2 inside its tags array
  Field field_ = Field::kNone;
  std::array<char, kMaxIdBytes> text_{};
  size_t text_size_ = 0;
};

// The size and text checks JsonFields makes on each string (String, OptionalStringArray).
bool IsFieldText(std::string_view text, size_t max_bytes) {
  return !text.empty() && text.size() <= max_bytes && IsPrintableText(text);
}

}  // namespace

std::optional<CheckinRequest> ScanCheckin(std::string_view body) {
  boost::json::basic_parser<CheckinHandler> parser(boost::json::parse_options{});
  error_code ec;
  const size_t used = parser.write_some(false, body.data(), body.size(), ec);
  if (ec || used != body.size() || (parser.handler().seen & kRequiredFields) != kRequiredFields) {
    return std::nullopt;
  }
  CheckinRequest& checkin = parser.handler().checkin;
  if (!IsFieldText(checkin.device_id, kMaxIdBytes) ||
      !IsFieldText(checkin.project, kCheckinProjectMaxBytes) ||
      !IsFieldText(checkin.chip, kCheckinChipMaxBytes) ||
      !IsFieldText(checkin.version, kCheckinVersionMaxBytes) ||
      !IsFieldText(checkin.nonce_hex, kCheckinNonceHexChars) ||
      !std::all_of(checkin.tags.begin(), checkin.tags.end(),
                   [](const std::string& tag) { return IsFieldText(tag, kMaxIdBytes); }) ||
      CheckCheckinValues(checkin).has_value()) {
    return std::nullopt;
  }
  checkin.tags = CanonicalTags(std::move(checkin.tags));
  return std::move(checkin);
}

}  // namespace aloft::server
