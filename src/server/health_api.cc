// Operations: GET /healthz (open: a load balancer's probe; 200 when the database answers, 503
// otherwise) and GET /metrics (Prometheus text; admin token required, since rollout names and
// counts are the fleet's business).

#include "server/api_handlers.h"
#include "server/api_json.h"

namespace aloft::server {

HttpResponse HandleHealth(ApiContext& context, const HttpRequest&) {
  const Status ping = context.store.Ping();
  if (!ping.ok()) {
    return JsonError(503, "database_unavailable", ping.reason());
  }
  Result<int64_t> schema = context.store.SchemaVersion();
  return JsonResponse(
      200, boost::json::object{{"status", "ok"}, {"schema_version", schema.ok() ? *schema : 0}});
}

HttpResponse HandleMetrics(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  Result<std::string> text = context.metrics.Render(context.store);
  if (!text.ok()) {
    return StoreError(text.status(), "metrics").ToResponse();
  }
  HttpResponse response;
  response.headers.Add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  response.body = std::move(text).value();
  return response;
}

}  // namespace aloft::server
