import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct AuthTests {
    @Test func loginAnswersATokenThatMeRecognises() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let login = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"Chaoyang\",\"password\":\"\(Fixture.password)\"}")
            #expect(login.status == .ok)
            #expect((login.json["token"] as? String)?.hasPrefix("ghs_") == true)
            #expect(login.json["expiresAt"] is String)
            #expect((login.json["user"] as? [String: Any])?["role"] as? String == "districtStaff")
            var auth = HTTPHeaders()
            auth.bearerAuthorization = .init(token: login.json["token"] as! String)
            let me = try await app.send(.GET, "/api/v1/me", auth)
            #expect((me.json["org"] as? [String: Any])?["id"] as? Int == f.chaoyang.id)
            #expect(try await app.auditCount("auth.login") == 1)
            // only a hash of the token is stored
            let stored = try await ApiToken.query(on: app.db).all()
            #expect(stored.allSatisfy { !($0.tokenHash.contains(login.json["token"] as! String)) })
        }
    }

    /// Wrong passwords never lock the account (anyone could lock anyone): the name backs off, and
    /// while it does every attempt is answered as a wrong password (see SignInAbuseTests).
    @Test func wrongPasswordsBackOffAndEveryAttemptIsAudited() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            for _ in 1...6 {
                let wrong = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"haidian\",\"password\":\"wrong-pass1\"}")
                #expect(wrong.status == .unauthorized)
                #expect(wrong.json["title"] as? String == "用户名或密码错误")
            }
            let right = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"haidian\",\"password\":\"\(Fixture.password)\"}")
            #expect(right.status == .unauthorized)
            #expect(right.json["title"] as? String == "用户名或密码错误")
            let unknown = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"nobody\",\"password\":\"whatever1\"}")
            #expect(unknown.status == .unauthorized)
            #expect(try await app.auditCount("auth.login.failed") == 8)
            // a city admin lifts the back-off
            let admin = try await app.token("admin")
            let staff = try await StaffUser.query(on: app.db).filter(\.$username == "haidian").first()!
            let unlock = try await app.send(.PATCH, "/api/v1/staff/\(staff.id!)", admin, json: "{\"unlock\":true}")
            #expect(unlock.json["locked"] as? Bool == false)
            _ = try await app.token("haidian")
        }
    }

    @Test func logoutAndDisablingRevokeTokens() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let token = try await app.token("jianwai")
            #expect(try await app.send(.POST, "/api/v1/auth/logout", token).status == .noContent)
            let after = try await app.send(.GET, "/api/v1/me", token)
            #expect(after.status == .unauthorized)
            #expect(after.headers.first(name: .wwwAuthenticate) == "Bearer")
            let again = try await app.token("jianwai")
            let admin = try await app.token("chaoyang")
            let staff = try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first()!
            #expect(try await app.send(.PATCH, "/api/v1/staff/\(staff.id!)", admin, json: "{\"disabled\":true}").status == .ok)
            #expect(try await app.send(.GET, "/api/v1/me", again).status == .unauthorized)
            let login = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"jianwai\",\"password\":\"\(Fixture.password)\"}")
            #expect(login.status == .unauthorized)
        }
    }

    @Test func missingOrForgedTokensAreUnauthorised() async throws {
        try await withApp { app in
            for header in ["", "Bearer", "Bearer ghs_forged", "Basic YWRtaW46eA=="] {
                var headers = HTTPHeaders()
                if !header.isEmpty { headers.add(name: .authorization, value: header) }
                let response = try await app.send(.GET, "/api/v1/orgs", headers)
                #expect(response.status == .unauthorized)
                #expect(response.headers.contentType?.description.hasPrefix("application/problem+json") == true)
            }
        }
    }

    @Test func staffAccountsAreCheckedAndCreated() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("chaoyang")
            let bad = try await app.send(.POST, "/api/v1/staff", auth, json: "{\"username\":\"张\",\"password\":\"short\",\"role\":\"king\",\"orgId\":\"x\"}")
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.problemFields == ["orgId"]) // a type error is reported before the rest
            let bad2 = try await app.send(.POST, "/api/v1/staff", auth, json: "{\"username\":\"张\",\"password\":\"short\",\"role\":\"king\",\"orgId\":\(f.jianwai.id!)}")
            #expect(Set(bad2.problemFields) == ["username", "password", "role"])
            let mismatch = try await app.send(.POST, "/api/v1/staff", auth, json: "{\"username\":\"li.na\",\"password\":\"gonghui2024\",\"role\":\"districtStaff\",\"orgId\":\(f.jianwai.id!)}")
            #expect(mismatch.problemFields == ["orgId"])
            let ok = try await app.send(.POST, "/api/v1/staff", auth, json: "{\"username\":\"li.na\",\"password\":\"gonghui2024\",\"role\":\"streetStaff\",\"orgId\":\(f.jianwai.id!)}")
            #expect(ok.status == .created)
            let dup = try await app.send(.POST, "/api/v1/staff", auth, json: "{\"username\":\"LI.NA\",\"password\":\"gonghui2024\",\"role\":\"streetStaff\",\"orgId\":\(f.jianwai.id!)}")
            #expect(dup.status == .conflict)
            #expect(try await app.auditCount("staff.create") == 8)
            let stored = try await StaffUser.query(on: app.db).filter(\.$username == "li.na").first()!
            #expect(stored.passwordHash.hasPrefix("$2"))
        }
    }

    @Test func createAdminRefusesBadArgumentsByName() async throws {
        try await withApp { app in
            await #expect(throws: CreateAdminCommand.Failure.self) {
                _ = try await CreateAdminCommand.create(username: "a", password: "gonghui2024", orgID: nil, role: "cityAdmin", name: nil, on: app)
            }
            do {
                _ = try await CreateAdminCommand.create(username: "root", password: "gonghui2024", orgID: nil, role: "districtStaff", name: nil, on: app)
                Issue.record("a district role at the city node was accepted")
            } catch let failure as CreateAdminCommand.Failure {
                #expect(failure.description.hasPrefix("--role"))
            }
            let made = try await CreateAdminCommand.create(username: "root", password: "gonghui2024", orgID: nil, role: "cityAdmin", name: nil, on: app)
            #expect(made.role == .cityAdmin)
        }
    }

    @Test func noPasswordOrTokenEverReachesTheLog() async throws {
        try await withApp { app in
            let capture = LogCapture()
            // the production handler, at the most talkative level
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            app.logger.logLevel = .trace
            _ = try await Fixture.make(app)
            let login = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"admin\",\"password\":\"\(Fixture.password)\"}")
            let token = login.json["token"] as? String ?? "missing"
            _ = try await app.send(.POST, "/api/v1/auth/login", json: "{\"username\":\"admin\",\"password\":\"Wrong-Secret-77\"}")
            var admin = HTTPHeaders()
            admin.bearerAuthorization = .init(token: token)
            _ = try await app.send(.POST, "/api/v1/orgs", admin, json: "{\"kind\":\"other\",\"name\":\"x\",\"parentId\":1,\"contactPhone\":\"13912345678\"}")
            let lines = capture.lines.withLockedValue { $0 }
            #expect(!lines.isEmpty)
            let requestLines = lines.filter { $0.contains("POST /api") }
            #expect(!requestLines.isEmpty)
            #expect(requestLines.allSatisfy { $0.contains("request-id") })
            for secret in [Fixture.password, "Wrong-Secret-77", token, "13912345678"] {
                #expect(!lines.contains { $0.contains(secret) }, "\(secret) was logged")
            }
        }
    }
}

@Suite struct PasswordChangeTests {
    @Test func changingOnesOwnPasswordKeepsThisTokenAndRevokesTheOthers() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let phone = try await app.token("jianwai")
            let laptop = try await app.token("jianwai")
            let me = try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first()!
            // the current password is asked for
            let unasked = try await app.send(.PATCH, "/api/v1/staff/\(me.id!)", laptop, json: "{\"password\":\"new-secret-99\"}")
            #expect(unasked.status == .unprocessableEntity)
            #expect(unasked.problemFields == ["currentPassword"])
            let wrong = try await app.send(.PATCH, "/api/v1/staff/\(me.id!)", laptop,
                                           json: "{\"password\":\"new-secret-99\",\"currentPassword\":\"not-it-123\"}")
            #expect(wrong.problemFields == ["currentPassword"])
            let changed = try await app.send(.PATCH, "/api/v1/staff/\(me.id!)", laptop,
                                             json: "{\"password\":\"new-secret-99\",\"currentPassword\":\"\(Fixture.password)\"}")
            #expect(changed.status == .ok)
            #expect(try await app.send(.GET, "/api/v1/me", laptop).status == .ok)
            #expect(try await app.send(.GET, "/api/v1/me", phone).status == .unauthorized)
            // nor can one disable oneself or change one's own role
            #expect(try await app.send(.PATCH, "/api/v1/staff/\(me.id!)", laptop, json: "{\"disabled\":true}").status == .forbidden)
        }
    }
}
