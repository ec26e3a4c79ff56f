#pragma once
// Router: picks the Handler for a method and path. Patterns are absolute paths whose segments
// are literals or parameters in braces: "/api/v1/artifacts/{sha256}",
// "/api/v1/devices/{id}/events". Matching is per segment and exact (no prefix or wildcard
// matches, a trailing slash is a different path); parameter values are percent-decoded and may
// not be empty.
//
// Precedence: among the patterns that match the path and have a route for the method, the most
// specific wins (a literal beats a parameter at the first segment where they differ). A path
// that matches no pattern is 404; a path that matches only patterns without the method is 405
// with Allow listing the methods of every matching pattern. HEAD is served by the GET route
// when there is no HEAD route (the server then drops the body), and Allow lists HEAD beside GET.
//
// Build it on one thread, then Dispatch concurrently from any number of threads (const).

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "server/http/http_types.h"

namespace aloft::server {

// The pure outcome of Match: a handler and its decoded parameters, 404, or 405 with Allow.
struct RouteMatch {
  int status = 404;                  // 200 (found), 404 or 405
  const Handler* handler = nullptr;  // set when status == 200; lives as long as the Router
  Params path_params;                // set when status == 200
  std::string allow;                 // set when status == 405: "GET, HEAD, POST"
};

class Router {
 public:
  // Registers `handler` for `method` (e.g. "GET") on `pattern`.
  // kInvalidArgument "router: bad pattern" if the pattern does not start with '/', has an empty
  // segment, an unbalanced or empty "{}", braces inside a literal, a repeated parameter name,
  // or more than 64 segments;
  // "router: bad method" if the method is empty or not an HTTP token.
  // kAlreadyExists "router: duplicate route" for a second handler on the same method and
  // pattern (parameter names aside: "/a/{x}" and "/a/{y}" are the same pattern).
  Status Add(std::string_view method, std::string_view pattern, Handler handler);

  // Finds the route for `method` and a raw (not decoded) `path`. No side effects.
  RouteMatch Match(std::string_view method, std::string_view path) const;

  // Routes `request`: fills request.path_params and calls the handler; otherwise answers
  // JsonError 404 "not_found" or 405 "method_not_allowed" (with Allow).
  HttpResponse Dispatch(HttpRequest& request) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter name
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    Handler handler;
  };

  std::vector<Route> routes_;
};

}  // namespace aloft::server
