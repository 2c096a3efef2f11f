import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// The public forms take `GONGHUI_RATE_LIMIT` a minute from one address, and as many an hour for
/// one phone or one ID number wherever they come from; 0 turns the limits off. (The suite runs
/// with them off; these tests turn them on.)
@Suite struct PublicLimitTests {
    @Test func anAddressGetsItsLimitPerFormThen429WithRetryAfter() async throws {
        try await withApp(configured: { $0.rateLimit = 3 }) { app in
            _ = try await Fixture.make(app)
            try await app.db.sql.raw("DELETE FROM throttles").run() // the minute starts now, not during the fixture
            for n in 1...3 {
                let filed = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "1391111000\(n)", description: "拖欠工资第\(n)起"))
                #expect(filed.status == .created, "\(filed.body.string)")
            }
            let refused = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13911110004", description: "拖欠工资第四起"))
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers.contentType?.subType == "problem+json")
            #expect((Int(refused.headers.first(name: .retryAfter) ?? "") ?? 0) >= 1)
            #expect(try await Appeal.query(on: app.db).count() == 3)
            // another form has its own count
            let joined = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(1)))
            #expect(joined.status == .created, "\(joined.body.string)")
            // and so has sign-in
            for _ in 1...3 { _ = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"admin\",\"password\":\"wrong-pass1\"}") }
            let login = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"admin\",\"password\":\"\(Fixture.password)\"}")
            #expect(login.status == .tooManyRequests)
            #expect(login.headers.first(name: .retryAfter) != nil)
            // the page form says so in the page (a fresh count: on a loaded machine the minute that
            // began with the first appeal above may have run out by now)
            let (visitor, _) = try await SitePageTests.visitor(app, "/appeal")
            try await app.db.sql.raw("DELETE FROM throttles").run()
            for _ in 1...3 { _ = try await visitor.post("/appeal", ["name": "王五", "phone": "13800138000", "description": "x"]) }
            let page = try await visitor.post("/appeal", ["name": "王五", "phone": "13800138000", "description": "x"])
            #expect(page.status == .tooManyRequests)
            #expect(page.headers.first(name: .retryAfter) != nil)
            #expect(page.body.string.contains("提交过于频繁"))
        }
    }

    /// One phone (an appeal) and one ID number (a joining application) are limited however many
    /// addresses they come from.
    @Test func aPhoneAndAnIDNumberAreLimitedFromEveryAddress() async throws {
        try await withApp(configured: { $0.rateLimit = 3; $0.trustedProxies = [IPRange("127.0.0.1")!] }) { app in
            _ = try await Fixture.make(app)
            let tester = try app.testing(method: .running(hostname: "127.0.0.1", port: freePort()))
            func post(_ path: String, _ json: String, from address: String) async throws -> TestingHTTPResponse {
                try await tester.sendRequest(.POST, path, headers: ["Content-Type": "application/json", "X-Forwarded-For": address],
                                             body: ByteBuffer(string: json))
            }
            for n in 1...3 {
                let filed = try await post("/api/v1/appeals", appealJSON(phone: "13911112222", description: "第\(n)件事"), from: "192.0.2.\(n)")
                #expect(filed.status == .created)
            }
            let phone = try await post("/api/v1/appeals", appealJSON(phone: "13911112222", description: "第四件事"), from: "192.0.2.4")
            #expect(phone.status == .tooManyRequests)
            #expect(phone.json["detail"] as? String == "这个手机号或身份证号码近一小时提交的次数太多，请 \(phone.headers.first(name: .retryAfter) ?? "") 秒后再试。")
            #expect(try await post("/api/v1/appeals", appealJSON(phone: "13911113333", description: "别人"), from: "192.0.2.4").status == .created)

            let id = residentID(7)
            for n in 1...3 {
                let applied = try await post("/api/v1/member-applications", applicationJSON(id: id, phone: "1370000000\(n)"), from: "198.51.100.\(n)")
                #expect(applied.status != .tooManyRequests)
            }
            let again = try await post("/api/v1/member-applications", applicationJSON(id: id, phone: "13700000009"), from: "198.51.100.9")
            #expect(again.status == .tooManyRequests)
            // no ID number or phone is kept in the counters, only their keyed hashes
            let buckets = try await app.db.sql.raw("SELECT bucket FROM throttles").all().map { try $0.decode(column: "bucket", as: String.self) }
            #expect(!buckets.isEmpty && buckets.allSatisfy { !$0.contains(id) && !$0.contains("13911112222") && !$0.contains("1370000000") })
        }
    }

    /// `GONGHUI_RATE_LIMIT=0` (the suite's and the load scripts' setting) turns the limits off.
    @Test func zeroTurnsTheLimitsOff() async throws {
        #expect(GonghuiConfig().rateLimit == 20)
        #expect(try GonghuiConfig.fromEnvironment(["GONGHUI_RATE_LIMIT": "0"]).rateLimit == 0)
        #expect(throws: GonghuiConfig.Problem.self) { try GonghuiConfig.fromEnvironment(["GONGHUI_RATE_LIMIT": "fast"]) }
        try await withApp(configured: { $0.rateLimit = 0 }) { app in
            _ = try await Fixture.make(app)
            for n in 1...25 {
                let filed = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13911112222", description: "第\(n)件"))
                #expect(filed.status == .created)
            }
        }
    }
}
