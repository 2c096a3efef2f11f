import Fluent
import FluentSQL
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct AuditTests {
    @Test func theDatabaseRefusesToChangeOrDeleteAuditRows() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let before = try await AuditEvent.query(on: app.db).count()
            #expect(before > 0)
            let sql = app.db as! any SQLDatabase
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE audit_events SET action = 'x'").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM audit_events").run() }
            #expect(try await AuditEvent.query(on: app.db).count() == before)
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "x").count() == 0)
        }
    }

    /// "From where" is the client a configured proxy forwarded for (see SignInAbuseTests for a forged header).
    @Test func recordsWhoWhatWhichWhenAndFromWhere() async throws {
        try await withApp(configured: { $0.trustedProxies = [IPRange("127.0.0.1")!] }) { app in
            let f = try await Fixture.make(app)
            var auth = try await app.token("chaoyang")
            auth.add(name: "X-Forwarded-For", value: "203.0.113.7")
            auth.add(name: "X-Request-Id", value: "req-42")
            auth.add(name: .contentType, value: "application/json")
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: freePort()))
            _ = try await tester.sendRequest(.PATCH, "/api/v1/orgs/\(f.jianwai.id!)", headers: auth, body: ByteBuffer(string: "{\"chairName\":\"张伟\"}"))
            let event = try #require(try await AuditEvent.query(on: app.db).filter(\.$action == "org.update").first())
            #expect(event.actorUsername == "chaoyang")
            #expect(event.targetType == "org" && event.targetID == String(f.jianwai.id!))
            #expect(event.ip == "203.0.113.7")
            #expect(event.requestID == "req-42")
            #expect(event.orgPath == f.jianwai.path)
            #expect(event.details == "{\"fields\":\"chairName\"}")
        }
    }

    @Test func cityAdminsFilterTheLogAndEveryExportIsAudited() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            _ = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"zgc\",\"password\":\"nope-nope1\"}")
            let admin = try await app.token("admin")
            let failed = try await app.send(.GET, "/api/v1/audit?action=auth.login.failed", admin)
            #expect(failed.json["total"] as? Int == 1)
            let byActor = try await app.send(.GET, "/api/v1/audit?actor=admin&targetType=staff", admin)
            #expect((byActor.json["total"] as? Int ?? 0) >= 1)
            let badDate = try await app.send(.GET, "/api/v1/audit?from=2024-13-01", admin)
            #expect(badDate.problemFields == ["from"])
            let session = try await ConsoleSession.signIn(app, "admin")
            let csv = try await session.get("/console/audit/export.csv?action=auth")
            #expect(csv.status == .ok)
            #expect(try await app.auditCount("audit.export") == 1)
        }
    }
}

@Suite struct OpsTests {
    @Test func healthReadinessMetricsAndRequestIDs() async throws {
        try await withApp { app in
            let health = try await app.send(.GET, "/healthz")
            #expect(health.status == .ok)
            #expect(health.headers.first(name: "X-Request-Id")?.isEmpty == false)
            #expect(try await app.send(.GET, "/readyz").status == .ok)
            // /metrics answers this machine (see SecurityTests for the token and the world)
            let metrics = try await app.testing(method: .running(hostname: "127.0.0.1", port: freePort())).sendRequest(.GET, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.body.string.contains("http_requests_total"))
            let spec = try await app.send(.GET, "/openapi.yaml")
            #expect(spec.body.string.hasPrefix("openapi: 3.1"))
            let missing = try await app.send(.GET, "/api/v1/nothing-here")
            #expect(missing.status == .notFound)
            #expect(missing.headers.contentType?.description.hasPrefix("application/problem+json") == true)
        }
    }
}

@Suite struct ConfigTests {
    @Test func malformedValuesNameTheVariable() {
        let cases: [(String, String)] = [
            ("GONGHUI_DATABASE_URL", "mysql://x"), ("GONGHUI_DATABASE_URL", "postgres://"), ("GONGHUI_PORT", "80a"),
            ("GONGHUI_PORT", "70000"), ("GONGHUI_DATA_KEY", "c2hvcnQ="), ("GONGHUI_LOG_LEVEL", "loud"), ("GONGHUI_SMS", "aliyun"),
            ("GONGHUI_DIVISIONS_FILE", "/no/such.csv"), ("GONGHUI_CITY_CODE", "11"),
        ]
        for (name, value) in cases {
            #expect(throws: GonghuiConfig.Problem.self) { try GonghuiConfig.fromEnvironment([name: value]) }
            do { _ = try GonghuiConfig.fromEnvironment([name: value]) } catch { #expect(error.variable == name) }
        }
    }

    @Test func readsGoodValues() throws {
        let key = Data(repeating: 7, count: 32).base64EncodedString()
        let config = try GonghuiConfig.fromEnvironment([
            "GONGHUI_DATABASE_URL": "postgres://gh:pw@db.internal:5433/gonghui", "GONGHUI_PORT": "9000",
            "GONGHUI_DATA_KEY": key, "GONGHUI_LOG_LEVEL": "DEBUG",
        ])
        #expect(config.database == .postgres("postgres://gh:pw@db.internal:5433/gonghui"))
        #expect(config.port == 9000 && config.dataKey?.count == 32 && config.logLevel == .debug)
        #expect(try GonghuiConfig.fromEnvironment([:]).database == .sqliteFile("gonghui.sqlite"))
    }
}
