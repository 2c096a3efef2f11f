import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// A browser: keeps the session cookie and the form's CSRF token.
struct ConsoleSession {
    let app: Application
    var cookie: String
    var csrf: String

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: "name=\"_csrf\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func cookie(from response: TestingHTTPResponse) -> String? {
        response.headers[.setCookie].first { $0.hasPrefix("gh_session=") }?.split(separator: ";").first.map(String.init)
    }

    static func signIn(_ app: Application, _ username: String, password: String = Fixture.password) async throws -> ConsoleSession {
        let page = try await app.testing().sendRequest(.GET, "/login")
        let cookie = try #require(Self.cookie(from: page))
        let csrf = try #require(Self.csrf(in: page.body.string))
        var session = ConsoleSession(app: app, cookie: cookie, csrf: csrf)
        let response = try await session.post("/login", ["username": username, "password": password])
        #expect(response.status == .seeOther, "\(response.body.string)")
        // Signing in renews the session and its form token, as a browser then sees them.
        session.cookie = try #require(Self.cookie(from: response))
        session.csrf = try #require(Self.csrf(in: try await session.get("/console").body.string))
        return session
    }

    func get(_ path: String, headers extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = extra
        headers.replaceOrAdd(name: .cookie, value: cookie)
        headers.replaceOrAdd(name: .accept, value: "text/html")
        return try await app.testing().sendRequest(.GET, path, headers: headers)
    }

    /// Posts a form with one file, as a browser's upload does (multipart/form-data).
    func upload(_ path: String, _ fields: [String: String], fileName: String, contents: String) async throws -> TestingHTTPResponse {
        let boundary = "----gonghui-test"
        var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(csrf)\r\n"
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\nContent-Type: text/csv\r\n\r\n\(contents)\r\n"
        body += "--\(boundary)--\r\n"
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .cookie, value: cookie)
        headers.replaceOrAdd(name: .accept, value: "text/html")
        headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
        return try await app.testing().sendRequest(.POST, path, headers: headers, body: ByteBuffer(string: body))
    }

    func post(_ path: String, _ fields: [String: String], csrf token: String? = nil) async throws -> TestingHTTPResponse {
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .cookie, value: cookie)
        headers.replaceOrAdd(name: .accept, value: "text/html")
        var form = fields
        form["_csrf"] = token ?? csrf
        return try await app.testing().sendRequest(.POST, path, headers: headers, beforeRequest: { req in
            try req.content.encode(form, as: .urlEncodedForm)
        })
    }
}

@Suite struct ConsoleTests {
    @Test func signInPageIsChineseByDefaultAndEnglishSticks() async throws {
        try await withApp { app in
            let zh = try await app.testing().sendRequest(.GET, "/login", headers: ["Accept-Language": "en-US,en;q=0.9"])
            #expect(zh.status == .ok)
            #expect(zh.body.string.contains("工作人员登录"))
            #expect(zh.body.string.contains("lang=\"zh-CN\""))
            let switched = try await app.testing().sendRequest(.GET, "/lang/en?back=%2Flogin")
            #expect(switched.status == .seeOther)
            #expect(switched.headers.first(name: .location) == "/login")
            let cookie = try #require(switched.headers[.setCookie].first { $0.hasPrefix("gh_lang=en") })
            let en = try await app.testing().sendRequest(.GET, "/login", headers: ["Cookie": String(cookie.split(separator: ";")[0])])
            #expect(en.body.string.contains("Staff sign-in"))
            // an open redirect is not possible through the switch
            let evil = try await app.testing().sendRequest(.GET, "/lang/en?back=%2F%2Fevil.example")
            #expect(evil.headers.first(name: .location) == "/console")
        }
    }

    @Test func everyFormNeedsItsCSRFToken() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let page = try await app.testing().sendRequest(.GET, "/login")
            let cookie = try #require(ConsoleSession.cookie(from: page))
            let session = ConsoleSession(app: app, cookie: cookie, csrf: "forged")
            let refused = try await session.post("/login", ["username": "admin", "password": Fixture.password])
            #expect(refused.status == .forbidden)
            #expect(try await app.auditCount("auth.login") == 0)
            let signedIn = try await ConsoleSession.signIn(app, "admin")
            let forged = try await signedIn.post("/console/orgs/new", ["name": "x", "kind": "district"], csrf: "nope")
            #expect(forged.status == .forbidden)
        }
    }

    /// Session fixation: whoever knew the session id before the sign-in (planted it, or read it off
    /// a shared machine) gets nothing from it after; the form token from before is refused too.
    @Test func signingInStartsANewSession() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let page = try await app.testing().sendRequest(.GET, "/login")
            let planted = try #require(ConsoleSession.cookie(from: page))
            let oldToken = try #require(ConsoleSession.csrf(in: page.body.string))
            let victim = ConsoleSession(app: app, cookie: planted, csrf: oldToken)
            let response = try await victim.post("/login", ["username": "admin", "password": Fixture.password])
            #expect(response.status == .seeOther)
            let renewed = try #require(ConsoleSession.cookie(from: response))
            #expect(renewed != planted)
            // the victim is signed in under the new id
            let signedIn = ConsoleSession(app: app, cookie: renewed, csrf: oldToken)
            #expect(try await signedIn.get("/console").status == .ok)
            // the attacker's copy of the old id is sent to sign in
            let attacker = try await victim.get("/console")
            #expect(attacker.status == .seeOther)
            #expect(attacker.headers.first(name: .location)?.hasPrefix("/login") == true)
            // and the token from before the sign-in no longer passes
            #expect(try await signedIn.post("/console/orgs/new", ["name": "x", "kind": "district"]).status == .forbidden)
        }
    }

    @Test func signedOutVisitorsAreSentToSignIn() async throws {
        try await withApp { app in
            let response = try await app.testing().sendRequest(.GET, "/console/orgs")
            #expect(response.status == .seeOther)
            #expect(response.headers.first(name: .location)?.hasPrefix("/login?next=") == true)
        }
    }

    @Test func theShellTreeAccountsAndAuditPagesRender() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let session = try await ConsoleSession.signIn(app, "admin")
            let home = try await session.get("/console")
            #expect(home.status == .ok)
            #expect(home.body.string.contains("组织架构") && home.body.string.contains("审计日志"))
            let tree = try await session.get("/console/orgs?id=\(f.chaoyang.id!)")
            #expect(tree.body.string.contains("建外街道总工会"))
            #expect(tree.body.string.contains("下属组织"))
            let staff = try await session.get("/console/staff")
            #expect(staff.body.string.contains("jianwai"))
            let audit = try await session.get("/console/audit?action=auth")
            #expect(audit.body.string.contains("登录"))
            let badFilter = try await session.get("/console/audit?from=yesterday")
            #expect(badFilter.body.string.contains("开始日期须为日期"))
            let csv = try await session.get("/console/orgs/export.csv?id=\(f.chaoyang.id!)")
            #expect(csv.headers.contentType?.subType == "csv")
            #expect(csv.body.string.hasPrefix("\u{FEFF}"))
            #expect(csv.body.string.contains("北京华联科技有限公司工会"))
            #expect(try await app.auditCount("org.export") == 1)
            // a hotline agent's shell has no accounts or audit entries
            let agent = try await ConsoleSession.signIn(app, "hotline")
            let shell = try await agent.get("/console")
            #expect(!shell.body.string.contains("/console/audit"))
            #expect(try await agent.get("/console/audit").status == .forbidden)
        }
    }

    @Test func aFormWithBadInputShowsTheMessageBesideTheFieldAndKeepsWhatWasTyped() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let session = try await ConsoleSession.signIn(app, "jianwai")
            let response = try await session.post("/console/orgs/new", [
                "kind": "enterprise", "name": "北京云帆快递有限公司工会", "parentId": String(f.jianwai.id!),
                "creditCode": "12345", "foundedOn": "", "termEndsOn": "", "chairName": "", "contactName": "",
                "contactPhone": "", "address": "", "divisionCode": "",
            ])
            #expect(response.status == .unprocessableEntity)
            #expect(response.body.string.contains("统一社会信用代码须为 18 位"))
            #expect(response.body.string.contains("value=\"北京云帆快递有限公司工会\""))
            let fixed = try await session.post("/console/orgs/new", [
                "kind": "enterprise", "name": "北京云帆快递有限公司工会", "parentId": String(f.jianwai.id!),
                "creditCode": "", "foundedOn": "2020-01-01", "termEndsOn": "", "chairName": "", "contactName": "",
                "contactPhone": "", "address": "", "divisionCode": "",
            ])
            #expect(fixed.status == .seeOther)
            #expect(try await Organization.query(on: app.db).filter(\.$name == "北京云帆快递有限公司工会").count() == 1)
        }
    }

    @Test func staffAreManagedFromTheConsole() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let session = try await ConsoleSession.signIn(app, "chaoyang")
            let created = try await session.post("/console/staff/new", [
                "username": "wangfang", "displayName": "王芳", "password": "gonghui2024", "role": "streetStaff", "orgId": String(f.jianwai.id!),
            ])
            #expect(created.status == .seeOther, "\(created.body.string)")
            let staff = try #require(try await StaffUser.query(on: app.db).filter(\.$username == "wangfang").first())
            let disabled = try await session.post("/console/staff/\(staff.id!)", ["displayName": "王芳", "role": "streetStaff",
                                                                                  "orgId": String(f.jianwai.id!), "disabled": "on"])
            #expect(disabled.status == .seeOther)
            #expect(try await StaffUser.find(staff.id, on: app.db)?.disabledAt != nil)
            let page = try await session.get("/console/staff")
            #expect(page.body.string.contains("已停用"))
        }
    }

    @Test func localeFilesHaveTheSameKeysAndCoverTheTemplates() throws {
        let root = AppPaths.root()
        let localizer = try Localizer(directory: root + "Resources/Locales")
        #expect(localizer.keys(.zhHans) == localizer.keys(.en))
        let views = FileManager.default.enumerator(atPath: root + "Resources/Views")!.compactMap { $0 as? String }.filter { $0.hasSuffix(".leaf") }
        for view in views {
            let text = try String(contentsOfFile: root + "Resources/Views/" + view, encoding: .utf8)
            let regex = try Regex("#t\\(\"([a-zA-Z0-9_.]+)\"")
            for match in text.matches(of: regex) {
                let key = String(match.output[1].substring!)
                #expect(localizer.keys(.zhHans).contains(key), "\(view): \(key)")
            }
        }
    }
}
