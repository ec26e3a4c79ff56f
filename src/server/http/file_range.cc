#include "server/http/file_range.h"

#include <utility>

#include "core/text.h"

namespace aloft::server {
namespace {

// The next element of a comma-separated list, trimmed; empty elements are skipped (RFC 9110
// §5.6.1). nullopt at the end of the list.
std::optional<std::string_view> NextListElement(std::string_view& list) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = core::TrimOws(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (!element.empty()) {
      return element;
    }
  }
  return std::nullopt;
}

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // quotes included
};

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
std::optional<EntityTag> ParseEntityTag(std::string_view text) {
  EntityTag tag;
  if (text.starts_with("W/")) {
    tag.weak = true;
    text.remove_prefix(2);
  }
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return std::nullopt;
  }
  for (char c : text.substr(1, text.size() - 2)) {
    unsigned char u = static_cast<unsigned char>(c);
    // etagc = %x21 / %x23-7E / obs-text
    if (u == '"' || u < 0x21 || u == 0x7F) {
      return std::nullopt;
    }
  }
  tag.opaque = text;
  return tag;
}

}  // namespace

ByteRange ParseRange(std::string_view value, uint64_t size) {
  value = core::TrimOws(value);
  size_t eq = value.find('=');
  if (eq == std::string_view::npos ||
      !EqualsIgnoreCase(core::TrimOws(value.substr(0, eq)), "bytes")) {
    return ByteRange();
  }
  std::string_view list = value.substr(eq + 1);
  std::optional<std::string_view> spec = NextListElement(list);
  if (!spec || NextListElement(list)) {
    return ByteRange();  // no range, or several: answer the whole file
  }
  size_t dash = spec->find('-');
  if (dash == std::string_view::npos) {
    return ByteRange();
  }
  std::string_view first_text = spec->substr(0, dash);
  std::string_view last_text = spec->substr(dash + 1);
  ByteRange unsatisfiable{ByteRange::Kind::kUnsatisfiable, 0, 0};

  if (first_text.empty()) {  // suffix range "-n": the last n bytes
    std::optional<uint64_t> suffix = core::ParseDecimal(last_text);
    if (!suffix) {
      return ByteRange();
    }
    if (*suffix == 0 || size == 0) {
      return unsatisfiable;
    }
    uint64_t length = *suffix < size ? *suffix : size;
    return ByteRange{ByteRange::Kind::kSatisfiable, size - length, length};
  }
  std::optional<uint64_t> first = core::ParseDecimal(first_text);
  if (!first) {
    return ByteRange();
  }
  uint64_t last = UINT64_MAX;  // "a-": to the end
  if (!last_text.empty()) {
    std::optional<uint64_t> parsed = core::ParseDecimal(last_text);
    if (!parsed || *parsed < *first) {
      return ByteRange();
    }
    last = *parsed;
  }
  if (*first >= size) {
    return unsatisfiable;
  }
  if (last >= size) {
    last = size - 1;
  }
  return ByteRange{ByteRange::Kind::kSatisfiable, *first, last - *first + 1};
}

bool EtagListMatches(std::string_view list, std::string_view etag, bool weak_comparison) {
  std::optional<EntityTag> current = ParseEntityTag(etag);
  if (!current) {
    return false;
  }
  if (core::TrimOws(list) == "*") {
    return true;
  }
  bool matched = false;
  while (std::optional<std::string_view> element = NextListElement(list)) {
    std::optional<EntityTag> tag = ParseEntityTag(*element);
    if (!tag) {
      return false;
    }
    if (tag->opaque != current->opaque) {
      continue;
    }
    if (weak_comparison || (!tag->weak && !current->weak)) {
      matched = true;
    }
  }
  return matched;
}

FileDecision DecideFileResponse(const FileConditions& conditions, std::string_view etag,
                                uint64_t size) {
  FileDecision whole{200, 0, size};
  if (conditions.if_none_match && conditions.is_get_or_head &&
      EtagListMatches(*conditions.if_none_match, etag, /*weak_comparison=*/true)) {
    return FileDecision{304, 0, 0};
  }
  if (!conditions.range || !conditions.is_get_or_head) {
    return whole;
  }
  if (conditions.if_range) {
    std::string_view validator = core::TrimOws(*conditions.if_range);
    // A date cannot match: these files have no Last-Modified.
    if (!ParseEntityTag(validator) ||
        !EtagListMatches(validator, etag, /*weak_comparison=*/false)) {
      return whole;
    }
  }
  ByteRange range = ParseRange(*conditions.range, size);
  switch (range.kind) {
    case ByteRange::Kind::kIgnore:
      return whole;
    case ByteRange::Kind::kUnsatisfiable:
      return FileDecision{416, 0, 0};
    case ByteRange::Kind::kSatisfiable:
      return FileDecision{206, range.first, range.length};
  }
  return whole;
}

std::string ContentRangeValue(uint64_t first, uint64_t length, uint64_t size) {
  if (length == 0) {
    return "bytes */" + std::to_string(size);
  }
  return "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" +
         std::to_string(size);
}

std::string StrongEtag(std::string_view digest_hex) {
  std::string etag;
  etag.reserve(digest_hex.size() + 2);
  etag.push_back('"');
  etag.append(digest_hex);
  etag.push_back('"');
  return etag;
}

HttpResponse FileResponse(const HttpRequest& request, FileBody file, std::string_view etag,
                          std::string_view content_type) {
  auto field = [&](std::string_view name) -> std::optional<std::string_view> {
    const std::string* value = request.Header(name);
    return value ? std::optional<std::string_view>(*value) : std::nullopt;
  };
  FileConditions conditions;
  conditions.is_get_or_head = request.method == "GET" || request.method == "HEAD";
  conditions.range = field("Range");
  conditions.if_range = field("If-Range");
  conditions.if_none_match = field("If-None-Match");
  FileDecision decision = DecideFileResponse(conditions, etag, file.total_size);

  HttpResponse response;
  if (decision.status == 416) {
    response = JsonError(
        416, "range_not_satisfiable",
        "the requested range is outside the file's " + std::to_string(file.total_size) + " bytes");
    response.headers.Add("Content-Range", ContentRangeValue(0, 0, file.total_size));
    return response;
  }
  response.status = decision.status;
  response.headers.Add("ETag", std::string(etag));
  response.headers.Add("Accept-Ranges", "bytes");
  if (decision.status == 304) {
    return response;
  }
  response.headers.Add("Content-Type", std::string(content_type));
  if (decision.status == 206) {
    response.headers.Add("Content-Range",
                         ContentRangeValue(decision.offset, decision.length, file.total_size));
  }
  file.offset = decision.offset;
  file.length = decision.length;
  response.body = std::move(file);
  return response;
}

}  // namespace aloft::server
