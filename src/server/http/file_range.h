#pragma once
// HTTP range requests and conditional requests for files (RFC 9110 §13, §14): which status,
// which bytes, which headers. Pure functions of the request headers, the file's size and its
// strong ETag (for content-addressed artifacts, the quoted SHA-256), so every case is a table
// row in file_range_test.cc.
//
// Decisions, in RFC 9110 §13.2.2 order:
//   If-None-Match lists the ETag (weak comparison) or is "*"  → 304 Not Modified, no body.
//   Range absent, unparsable, of another unit, or listing several ranges → 200, whole file.
//     (Several ranges are answered with the whole file, never multipart/byteranges: devices
//     resume with one range, and ignoring Range is always allowed.)
//   If-Range present and not the current ETag by strong comparison (or a date: there is no
//     Last-Modified to compare it with) → 200, whole file.
//   One satisfiable range → 206 with Content-Range: bytes first-last/size; an end past the file
//     is clamped to its last byte, a suffix "-n" longer than the file means the whole file.
//   One unsatisfiable range (first byte at or past the end, "-0", or any range of an empty
//     file) → 416 with Content-Range: bytes */size.
// If-Match and If-(Un)Modified-Since are not evaluated.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/http/http_types.h"

namespace aloft::server {

// One parsed "Range: bytes=..." header against a file of `size` bytes.
struct ByteRange {
  enum class Kind {
    kIgnore,         // no usable single byte range: answer the whole file
    kSatisfiable,    // [first, first + length), length >= 1
    kUnsatisfiable,  // 416
  };
  Kind kind = Kind::kIgnore;
  uint64_t first = 0;
  uint64_t length = 0;

  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// Parses a Range field value. Syntax errors (a missing '=', non-digits, first > last, numbers
// that overflow 64 bits) and other units give kIgnore, as RFC 9110 §14.2 requires.
ByteRange ParseRange(std::string_view value, uint64_t size);

// True if the field value (a comma-separated list of entity tags, or "*") contains `etag`.
// Weak comparison ignores W/ prefixes; strong comparison never matches a weak tag. A
// malformed list matches nothing. `etag` is a full entity tag, quotes included ("\"abc\"").
bool EtagListMatches(std::string_view list, std::string_view etag, bool weak_comparison);

// The request fields that decide a file response; absent fields are nullopt.
struct FileConditions {
  bool is_get_or_head = true;
  std::optional<std::string_view> range;
  std::optional<std::string_view> if_range;
  std::optional<std::string_view> if_none_match;
};

struct FileDecision {
  int status = 200;     // 200, 206, 304 or 416
  uint64_t offset = 0;  // bytes to send, for 200 and 206
  uint64_t length = 0;

  friend bool operator==(const FileDecision&, const FileDecision&) = default;
};

// The decision for a file of `size` bytes whose strong ETag is `etag` (quoted).
FileDecision DecideFileResponse(const FileConditions& conditions, std::string_view etag,
                                uint64_t size);

// "bytes 0-99/1000" for 206, "bytes */1000" for 416 (length 0).
std::string ContentRangeValue(uint64_t first, uint64_t length, uint64_t size);

// The strong ETag for a content-addressed file: the digest in quotes.
std::string StrongEtag(std::string_view digest_hex);

// The whole response for GET or HEAD of a file: reads Range, If-Range and If-None-Match from
// `request`, decides with DecideFileResponse, and sets status, ETag, Accept-Ranges,
// Content-Type, Content-Range and the body's byte range. 304 and 416 carry no file (416 has a
// JSON error body). REQUIRES: file.total_size is the file's size; file holds an open fd or a path.
HttpResponse FileResponse(const HttpRequest& request, FileBody file, std::string_view etag,
                          std::string_view content_type);

}  // namespace aloft::server
