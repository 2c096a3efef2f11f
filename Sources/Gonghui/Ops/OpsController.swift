import Fluent
import FluentSQL
import Metrics
import NIOCore
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

    /// Ready when, within a second, the database answers, every migration of this build is
    /// applied and it takes writes; 503 otherwise, so a balancer stops sending traffic.
    @Sendable func ready(req: Request) async throws -> Response {
        let verdict = await Readiness.check(req.application, on: req.eventLoop, within: .milliseconds(req.application.gonghui.readyWithinMillis))
        guard verdict == "ok" else {
            req.logger.warning("readiness check failed: \(verdict)")
            var headers = HTTPHeaders()
            headers.replaceOrAdd(name: .retryAfter, value: String(DatabaseOutage.retryAfterSeconds))
            return try await Status(status: verdict).encodeResponse(status: .serviceUnavailable, headers: headers, for: req)
        }
        return try await Status(status: "ok").encodeResponse(for: req)
    }

    /// Prometheus text: Vapor's request counters and durations, and the process's own gauges.
    @Sendable func metrics(req: Request) async throws -> Response {
        try Self.allowMetrics(req)
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(string: MetricsSetup.registry.emitToString()))
    }
}

extension OpsController {
    /// `/metrics` tells how the server is used and how busy it is: for Prometheus, not the world.
    /// With `GONGHUI_METRICS_TOKEN` it wants that bearer token; without, a request from this machine
    /// that no proxy forwarded.
    static func allowMetrics(_ req: Request) throws {
        if let token = req.application.gonghui.metricsToken {
            guard let sent = req.headers.bearerAuthorization?.token, Data(sent.utf8).constantTimeEquals(Data(token.utf8)) else {
                throw AppError.unauthorized
            }
            return
        }
        let forwarded = !req.headers[.xForwardedFor].isEmpty || !req.headers["Forwarded"].isEmpty
        guard let peer = req.remoteAddress?.ipAddress, let bytes = IPRange.parse(peer), !forwarded,
              IPRange("127.0.0.0/8")!.contains(bytes) || IPRange("::1")!.contains(bytes)
        else { throw AppError.forbidden }
    }
}

/// The readiness verdict: "ok", or what is wrong in a few words.
enum Readiness {
    static func check(_ app: Application, on loop: any EventLoop, within limit: TimeAmount) async -> String {
        let promise = loop.makePromise(of: String.self)
        let settled = NIOLockedValueBox(false)
        let settle: @Sendable (String) -> Void = { verdict in
            let first = settled.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { promise.succeed(verdict) }
        }
        let timer = loop.scheduleTask(in: limit) { settle("database did not answer within \(limit.nanoseconds / 1_000_000) ms") }
        Task {
            let verdict = await probe(app, on: loop)
            timer.cancel()
            settle(verdict)
        }
        return (try? await promise.futureResult.get()) ?? "database unreachable"
    }

    private static func probe(_ app: Application, on loop: any EventLoop) async -> String {
        guard let db = app.databases.database(logger: app.logger, on: loop) as? any SQLDatabase else {
            return "no database configured"
        }
        do {
            let applied = try await db.raw("SELECT name FROM _fluent_migrations").all()
                .compactMap { try? $0.decode(column: "name", as: String.self) }
            let missing = Set(app.expectedMigrations).subtracting(applied)
            if !missing.isEmpty { return "database not migrated: \(missing.count) migrations pending (gonghui migrate)" }
            if app.db.isPostgres {
                let row = try await db.raw("SHOW transaction_read_only").first()
                if (try? row?.decode(column: "transaction_read_only", as: String.self)) == "on" { return "database is read-only" }
            } else {
                let row = try await db.raw("PRAGMA query_only").first()
                if (try? row?.decode(column: "query_only", as: Int.self)) == 1 { return "database is read-only" }
                if case let .sqliteFile(path) = app.gonghui.database, !FileManager.default.isWritableFile(atPath: path) {
                    return "database file is read-only"
                }
            }
            return "ok"
        } catch {
            return DatabaseOutage.isOutage(error) ? "database unreachable" : "database not migrated"
        }
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
