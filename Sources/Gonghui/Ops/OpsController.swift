import Fluent
import FluentSQL
import Metrics
import NIOConcurrencyHelpers
import Prometheus
import Vapor

/// `/healthz`, `/readyz`, `/metrics`: what a load balancer and Prometheus ask.
struct OpsController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("healthz", use: health)
        routes.get("readyz", use: ready)
        routes.get("metrics", use: metrics)
    }

    struct Status: Content {
        let status: String
    }

    /// The process is up.
    @Sendable func health(req: Request) async throws -> Status { Status(status: "ok") }

    /// The database answers; 503 otherwise, so a balancer stops sending traffic.
    @Sendable func ready(req: Request) async throws -> Response {
        do {
            _ = try await req.db.sql.raw("SELECT 1 AS one").first()
            return try await Status(status: "ok").encodeResponse(for: req)
        } catch {
            req.logger.warning("readiness check failed: database unreachable")
            return try await Status(status: "database unreachable").encodeResponse(status: .serviceUnavailable, for: req)
        }
    }

    /// Prometheus text: Vapor's request counters and durations, and the process's own gauges.
    @Sendable func metrics(req: Request) async throws -> Response {
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(string: MetricsSetup.registry.emitToString()))
    }
}

/// swift-metrics can be bootstrapped once per process; tests build many apps, so it happens here, once.
enum MetricsSetup {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

/// Every response carries the request id that every log line of the request carries.
struct RequestIDMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Request-Id", value: request.id)
        return response
    }
}
