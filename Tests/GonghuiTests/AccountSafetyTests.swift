import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui
#if canImport(Glibc)
import Glibc
#endif

/// The smaller holes of the probe: passwords and sessions, who may change whom, a node's own
/// identity, an appeal's phone, files on disk, /metrics, the booth's link.
@Suite struct AccountSafetyTests {
    /// A password reset ends the account's console sessions; changing one's own keeps this one
    /// and ends the others, and asks for the current password.
    @Test func aPasswordSetEndsTheSessionsSignedInBeforeIt() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let victim = try await ConsoleSession.signIn(app, "jianwai")
            let admin = try await ConsoleSession.signIn(app, "admin")
            let staff = try #require(try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first())
            let reset = try await app.send(.PATCH, "/api/v1/staff/\(staff.id!)", try await app.token("chaoyang"),
                                           json: "{\"password\":\"reset-pass-77\"}")
            #expect(reset.status == .ok)
            #expect(try await victim.get("/console").status == .seeOther)
            #expect(try await admin.get("/console").status == .ok)

            let laptop = try await ConsoleSession.signIn(app, "jianwai", password: "reset-pass-77")
            let phone = try await ConsoleSession.signIn(app, "jianwai", password: "reset-pass-77")
            let refused = try await laptop.post("/console/staff/\(staff.id!)", ["displayName": "jianwai", "password": "own-pass-88"])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("当前密码"))
            let changed = try await laptop.post("/console/staff/\(staff.id!)", ["displayName": "jianwai", "password": "own-pass-88",
                                                                                "currentPassword": "reset-pass-77"])
            #expect(changed.status == .seeOther, "\(changed.body.string)")
            #expect(try await laptop.get("/console").status == .ok)
            #expect(try await phone.get("/console").status == .seeOther)
        }
    }

    /// An account changes another only from a higher rank or a node above it: two district
    /// accounts of one district cannot reset each other's passwords.
    @Test func equalsCannotResetEachOther() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            _ = try await CreateAdminCommand.create(username: "chaoyang2", password: Fixture.password, orgID: f.chaoyang.id,
                                                    role: StaffRole.districtStaff.rawValue, name: "chaoyang2", on: app)
            let other = try #require(try await StaffUser.query(on: app.db).filter(\.$username == "chaoyang2").first())
            let street = try #require(try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first())
            let chaoyang = try await app.token("chaoyang")
            #expect(try await app.send(.PATCH, "/api/v1/staff/\(other.id!)", chaoyang, json: "{\"password\":\"take-over-11\"}").status == .forbidden)
            #expect(try await app.send(.PATCH, "/api/v1/staff/\(other.id!)", chaoyang, json: "{\"disabled\":true}").status == .forbidden)
            #expect(try await app.send(.PATCH, "/api/v1/staff/\(street.id!)", chaoyang, json: "{\"password\":\"reset-pass-22\"}").status == .ok)
            #expect(try await app.send(.PATCH, "/api/v1/staff/\(other.id!)", try await app.token("admin"),
                                       json: "{\"password\":\"reset-pass-33\"}").status == .ok)
        }
    }

    /// A node's name and credit code are set from above: its own accounts change its details only.
    @Test func aNodesOwnAccountsCannotRenameItOrChangeItsCreditCode() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let union = try await app.token("jwunion")
            let path = "/api/v1/orgs/\(f.jianwaiUnion.id!)"
            let renamed = try await app.send(.PATCH, path, union, json: "{\"name\":\"别的公司工会\"}")
            #expect(renamed.status == .unprocessableEntity)
            #expect(renamed.problemFields == ["name"])
            let recoded = try await app.send(.PATCH, path, union, json: "{\"creditCode\":\"91350100M000100Y43\"}")
            #expect(recoded.problemFields == ["creditCode"])
            #expect(try await app.send(.PATCH, path, union, json: "{\"chairName\":\"刘洋\"}").status == .ok)
            #expect(try await app.send(.PATCH, "/api/v1/orgs/\(f.jianwai.id!)", try await app.token("jianwai"),
                                       json: "{\"name\":\"改名街道\"}").status == .unprocessableEntity)
            #expect(try await app.send(.PATCH, path, try await app.token("jianwai"), json: "{\"name\":\"北京华联科技股份公司工会\"}").status == .ok)
            #expect(try await Organization.find(f.jianwaiUnion.id, on: app.db)?.name == "北京华联科技股份公司工会")
        }
    }

    /// An appeal's whole phone, shown for the call back, is a sensitive read with its audit line.
    @Test func theWholePhoneOfAnAppealIsAudited() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let filed = try await app.send(.POST, "/api/v1/appeals", json: appealJSON())
            let id = try #require(filed.json["id"] as? Int)
            let admin = try await app.token("admin")
            let list = try await app.send(.GET, "/api/v1/appeals", admin)
            #expect(list.status == .ok && !list.body.string.contains("13911112222"))
            #expect(try await app.auditCount("appeal.phone.view") == 0)
            let one = try await app.send(.GET, "/api/v1/appeals/\(id)", admin)
            #expect(one.json["phone"] as? String == "13911112222")
            #expect(try await app.auditCount("appeal.phone.view") == 1)
            _ = try await ConsoleSession.signIn(app, "admin").get("/console/appeals/\(id)")
            #expect(try await app.auditCount("appeal.phone.view") == 2)
        }
    }

    /// Uploads and exports wait in a folder only this user may enter; a file whose writing failed goes.
    @Test func uploadsAndExportsArePrivateAndNoneIsLeftBehind() async throws {
        #expect(PrivateFiles.isPrivate(PrivateFiles.directory))
        let path = PrivateFiles.path("export", ext: "csv")
        #expect(path.hasPrefix(PrivateFiles.directory + "/"))
        let file = try ExportFile(path: path, format: "csv", sheetName: "t", header: ["a"], widths: [8])
        try file.add([.text("110105194912310021")])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o077 == 0)
        file.discard()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// `/metrics` answers Prometheus: the bearer token when one is set, else this machine only.
    @Test func metricsAreNotPublic() async throws {
        try await withApp { app in
            #expect(try await app.send(.GET, "/metrics").status == .forbidden)
            let local = try app.testing(method: .running(hostname: "127.0.0.1", port: freePort()))
            #expect(try await local.sendRequest(.GET, "/metrics").status == .ok)
            // a local proxy passing a request on from outside is not this machine
            #expect(try await local.sendRequest(.GET, "/metrics", headers: ["X-Forwarded-For": "203.0.113.7"]).status == .forbidden)
        }
        let token = "prometheus-scrape-token-1"
        try await withApp(configured: { $0.metricsToken = token }) { app in
            #expect(try await app.send(.GET, "/metrics").status == .unauthorized)
            var headers = HTTPHeaders()
            headers.bearerAuthorization = .init(token: token)
            let scraped = try await app.send(.GET, "/metrics", headers)
            #expect(scraped.status == .ok && scraped.body.string.contains("http_requests_total"))
        }
        #expect(throws: GonghuiConfig.Problem.self) { try GonghuiConfig.fromEnvironment(["GONGHUI_METRICS_TOKEN": "short"]) }
    }

    /// The booth's QR link is built from the configured public address, never a request's `Host`.
    @Test func theBoothLinkComesFromThePublicURL() async throws {
        try await withApp(configured: { $0.publicURL = "https://gonghui.example.cn" }) { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let booth = try await staff.get("/console/booth?org=\(f.jianwai.id!)", headers: ["Host": "evil.example", "X-Forwarded-Proto": "http"])
            #expect(booth.body.string.contains("https://gonghui.example.cn/join?org=\(f.jianwai.id!)"))
            #expect(!booth.body.string.contains("evil.example"))
        }
        var config = GonghuiConfig()
        config.host = "0.0.0.0"
        config.port = 9000
        #expect(config.linkBase == "http://127.0.0.1:9000")
    }
}
