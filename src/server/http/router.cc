#include "server/http/router.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <optional>
#include <set>
#include <utility>

namespace aloft::server {
namespace {

// tchar of RFC 9110 §5.6.2.
bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

// Segments of a path: inline for the paths the API has (no allocation per request).
using Segments = boost::container::small_vector<std::string_view, 8>;

// Splits "/a/b/c" into {"a", "b", "c"}; "/" gives {""}. REQUIRES: path starts with '/'.
Segments SplitPath(std::string_view path) {
  Segments segments;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return segments;
    }
    path.remove_prefix(slash + 1);
  }
}

// Match ranks routes with one bit per segment in a uint64_t.
constexpr size_t kMaxSegments = 64;

}  // namespace

Status Router::Add(std::string_view method, std::string_view pattern, Handler handler) {
  if (!IsToken(method)) {
    return InvalidArgument("router: bad method");
  }
  if (pattern.empty() || pattern.front() != '/') {
    return InvalidArgument("router: bad pattern");
  }
  Route route;
  route.method = std::string(method);
  route.handler = std::move(handler);
  Segments parts = SplitPath(pattern);
  if (parts.size() > kMaxSegments) {
    return InvalidArgument("router: bad pattern");
  }
  for (std::string_view part : parts) {
    // The root pattern "/" is the one place an empty segment is allowed.
    if (part.empty() && parts.size() > 1) {
      return InvalidArgument("router: bad pattern");
    }
    Segment segment;
    if (!part.empty() && part.front() == '{') {
      if (part.size() < 3 || part.back() != '}') {
        return InvalidArgument("router: bad pattern");
      }
      segment.text = std::string(part.substr(1, part.size() - 2));
      segment.is_param = true;
    } else {
      segment.text = std::string(part);
    }
    if (segment.text.find_first_of("{}") != std::string::npos) {
      return InvalidArgument("router: bad pattern");
    }
    if (segment.is_param) {
      for (const Segment& earlier : route.segments) {
        if (earlier.is_param && earlier.text == segment.text) {
          return InvalidArgument("router: bad pattern");
        }
      }
    }
    route.segments.push_back(std::move(segment));
  }
  for (const Route& existing : routes_) {
    if (existing.method != route.method || existing.segments.size() != route.segments.size()) {
      continue;
    }
    bool same = std::equal(existing.segments.begin(), existing.segments.end(),
                           route.segments.begin(), [](const Segment& a, const Segment& b) {
                             return a.is_param == b.is_param && (a.is_param || a.text == b.text);
                           });
    if (same) {
      return AlreadyExists("router: duplicate route");
    }
  }
  routes_.push_back(std::move(route));
  return OkStatus();
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch match;
  if (path.empty() || path.front() != '/') {
    return match;
  }
  Segments parts = SplitPath(path);

  // Specificity: one bit per segment, first segment most significant, set for a parameter;
  // the smallest key is the most specific (a literal wins at the first difference).
  auto key_if_matches = [&parts](const Route& route) -> std::optional<uint64_t> {
    if (route.segments.size() != parts.size()) {
      return std::nullopt;
    }
    uint64_t key = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const Segment& segment = route.segments[i];
      if (segment.is_param ? parts[i].empty() : segment.text != parts[i]) {
        return std::nullopt;
      }
      key = (key << 1) | (segment.is_param ? 1 : 0);
    }
    return key;
  };
  const Route* best = nullptr;
  const Route* best_get = nullptr;  // fallback for HEAD
  uint64_t best_key = 0;
  uint64_t best_get_key = 0;
  for (const Route& route : routes_) {
    std::optional<uint64_t> key = key_if_matches(route);
    if (!key) {
      continue;
    }
    if (route.method == method && (best == nullptr || *key < best_key)) {
      best = &route;
      best_key = *key;
    }
    if (method == "HEAD" && route.method == "GET" && (best_get == nullptr || *key < best_get_key)) {
      best_get = &route;
      best_get_key = *key;
    }
  }
  if (best == nullptr) {
    best = best_get;
  }
  if (best == nullptr) {
    // Not found: a second pass collects what the path does allow, for 405.
    std::set<std::string> allowed;
    for (const Route& route : routes_) {
      if (key_if_matches(route)) {
        allowed.insert(route.method);
        if (route.method == "GET") {
          allowed.insert("HEAD");
        }
      }
    }
    if (!allowed.empty()) {
      match.status = 405;
      for (const std::string& name : allowed) {
        match.allow += match.allow.empty() ? name : ", " + name;
      }
    }
    return match;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!best->segments[i].is_param) {
      continue;
    }
    Result<std::string> value = PercentDecode(parts[i], false);
    // A parameter that does not decode cannot name anything: treat the path as unknown.
    if (!value.ok()) {
      return RouteMatch();
    }
    match.path_params.emplace_back(best->segments[i].text, std::move(value).value());
  }
  match.status = 200;
  match.handler = &best->handler;
  return match;
}

HttpResponse Router::Dispatch(HttpRequest& request) const {
  RouteMatch match = Match(request.method, request.path);
  if (match.status == 405) {
    HttpResponse response =
        JsonError(405, "method_not_allowed", "method " + request.method + " is not allowed here");
    response.headers.Add("Allow", std::move(match.allow));
    return response;
  }
  if (match.status != 200) {
    return JsonError(404, "not_found", "no resource at " + request.path);
  }
  request.path_params = std::move(match.path_params);
  return (*match.handler)(request);
}

}  // namespace aloft::server
