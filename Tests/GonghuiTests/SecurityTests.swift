import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// The holes a probe of a running server found, kept shut: headers, redirects, bodies, pages.
@Suite struct SecurityTests {
    /// CR, LF and TAB in a redirect target never reach `Location` (no planted cookie, no split
    /// response, no `/\t/evil.example` that a browser reads as `//evil.example`).
    @Test func redirectTargetsFromInputAreSameSitePathsOnly() async throws {
        #expect(LocalRedirect.path("/console/members?q=%E5%BC%A0&page=2") == "/console/members?q=%E5%BC%A0&page=2")
        #expect(LocalRedirect.path("/console/会员") == "/console/%E4%BC%9A%E5%91%98")
        #expect(LocalRedirect.path("/appeal#top") == "/appeal")
        for evil in ["/\t/evil.example", "/x\r\nSet-Cookie: gh_session=attacker", "/x\nLocation: https://evil.example",
                     "//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example",
                     "/ /evil", "/\u{3000}/evil", "/\u{200B}/evil", "/x\u{0085}y", ""] {
            #expect(LocalRedirect.path(evil) == nil, "\(evil.debugDescription)")
        }
        try await withApp { app in
            _ = try await Fixture.make(app)
            for back in ["%2F%09%2Fevil.example", "%2Fconsole%0D%0ASet-Cookie:%20gh_session=x", "%2F%0A%2Fevil.example", "%09%2F%2Fevil.example"] {
                let switched = try await app.testing().sendRequest(.GET, "/lang/en?back=\(back)")
                #expect(switched.status == .seeOther)
                #expect(switched.headers.first(name: .location) == "/console", "\(back)")
                // No cookie named by the input (a real session id may itself begin with "x").
                #expect(switched.headers[.setCookie].allSatisfy { $0.split(separator: ";").first.map(String.init) != "gh_session=x" })
            }
            let kept = try await app.testing().sendRequest(.GET, "/lang/en?back=%2Fconsole%2Fmembers%3Fq%3D1")
            #expect(kept.headers.first(name: .location) == "/console/members?q=1")

            // the sign-in's `next`, in the form and in the query
            let page = try await app.testing().sendRequest(.GET, "/login?next=%2F%09%2Fevil.example")
            #expect(page.body.string.contains("value=\"/console\""))
            let cookie = try #require(ConsoleSession.cookie(from: page))
            let csrf = try #require(ConsoleSession.csrf(in: page.body.string))
            let session = ConsoleSession(app: app, cookie: cookie, csrf: csrf)
            let signedIn = try await session.post("/login", ["username": "admin", "password": Fixture.password,
                                                             "next": "/console\r\nSet-Cookie: gh_session=attacker"])
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.headers.first(name: .location) == "/console")
            #expect(signedIn.headers[.setCookie].allSatisfy { !$0.contains("attacker") })
        }
    }

    /// A site's name is text wherever it goes: escaped in the page, and set as text (never HTML) in
    /// the map's popups, which Leaflet would otherwise parse.
    @Test func aSiteNameNeverBecomesMarkupOnThePublicPage() async throws {
        let script = try String(contentsOfFile: AppPaths.root() + "Public/js/finder.js", encoding: .utf8)
        let popups = script.components(separatedBy: "bindPopup(").dropFirst()
        #expect(!popups.isEmpty)
        for call in popups {
            // the argument is a node built with createElement and textContent, never a string
            let argument = String(call.prefix { $0 != ")" })
            #expect(argument.allSatisfy { $0.isLetter }, "bindPopup(\(argument))")
            #expect(script.contains("var \(argument) = document.createElement("), "\(argument) is not a DOM node")
        }
        #expect(!script.contains("innerHTML"))
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let evil = "驿站<img src=x onerror=alert(1)>"
            let id = try await app.site(jianwai, siteJSON(evil.replacingOccurrences(of: "\"", with: "\\\""), orgId: f.jianwai.id!,
                                                          lat: 39.9087, lng: 116.4587))
            let page = try await app.testing().sendRequest(.GET, "/sites/\(id)", headers: ["Accept": "text/html"])
            #expect(page.status == .ok)
            #expect(!page.body.string.contains("<img src=x"))
            #expect(page.body.string.contains("data-name=\"驿站&lt;img src=x onerror=alert(1)&gt;\""))
        }
    }

    /// A page form's body is bounded before it is read or decoded: 1 MB for a form, more only for
    /// a signed-in account's upload. Three 60 MB posts to `/appeal` once stalled the server.
    @Test func pageBodiesAreSmallAndOnlySignedInUploadsAreLarge() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let (visitor, _) = try await SitePageTests.visitor(app, "/appeal")
            let huge = String(repeating: "欠薪", count: 200_000) // 1.2 MB of UTF-8
            let appeal = try await visitor.post("/appeal", ["name": "王五", "phone": "13800138000", "description": huge])
            #expect(appeal.status == .payloadTooLarge)
            #expect(appeal.body.string.contains("过大"))
            #expect(try await Appeal.query(on: app.db).count() == 0)
            // an upload route is large for a signed-in account only
            let rows = String(repeating: "张三,11010519491231002X,13800138000\n", count: 40_000) // 1.5 MB
            let anonymous = ConsoleSession(app: app, cookie: visitor.cookie, csrf: visitor.csrf)
            #expect(try await anonymous.upload("/console/members/import", [:], fileName: "a.csv", contents: rows).status == .payloadTooLarge)
            let admin = try await ConsoleSession.signIn(app, "admin")
            let uploaded = try await admin.upload("/console/members/import", [:], fileName: "a.csv", contents: rows)
            #expect(uploaded.status == .unprocessableEntity) // no union chosen: read, then refused by field
            #expect(uploaded.status != .forbidden)
        }
    }

    /// Every response carries the policy; the console and the API are never cached; no template
    /// holds an inline script, handler or style attribute the policy would block.
    @Test func responsesCarryTheSecurityHeaders() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let login = try await app.testing().sendRequest(.GET, "/login")
            let csp = try #require(login.headers.first(name: "Content-Security-Policy"))
            #expect(csp.contains("default-src 'self'"))
            #expect(csp.contains("script-src 'self';"))
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(csp.contains("img-src 'self' data: https://*.is.autonavi.com"))
            #expect(login.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(login.headers.first(name: "Referrer-Policy") == "same-origin")
            #expect(login.headers.first(name: "Strict-Transport-Security") == nil)
            #expect(login.headers[.setCookie].allSatisfy { !$0.contains("Secure") })
            let admin = try await ConsoleSession.signIn(app, "admin")
            #expect(try await admin.get("/console").headers.first(name: .cacheControl) == "no-store")
            let me = try await app.send(.GET, "/api/v1/me", try await app.token("admin"))
            #expect(me.headers.first(name: .cacheControl) == "no-store")
            #expect(me.headers.first(name: "Content-Security-Policy") != nil)
            let missing = try await app.testing().sendRequest(.GET, "/api/v1/nothing-here")
            #expect(missing.headers.first(name: .cacheControl) == "no-store")
            #expect(missing.headers.first(name: "X-Content-Type-Options") == "nosniff")
            let css = try await app.testing().sendRequest(.GET, "/css/app.css")
            #expect(css.headers.first(name: .cacheControl) != "no-store")
            #expect(css.headers.first(name: "X-Content-Type-Options") == "nosniff")
        }
        let views = AppPaths.root() + "Resources/Views"
        let files = FileManager.default.enumerator(atPath: views)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".leaf") } ?? []
        #expect(files.count > 20)
        for file in files {
            let text = try String(contentsOfFile: views + "/" + file, encoding: .utf8)
            let scripts = text.components(separatedBy: "<script").dropFirst()
            #expect(scripts.allSatisfy { $0.hasPrefix(" src=") }, "\(file): an inline script")
            #expect(text.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil, "\(file): an inline handler")
            #expect(!text.contains("style=\""), "\(file): an inline style")
            #expect(!text.contains("unpkg.com") && !text.contains("cdn."), "\(file): a CDN")
        }
    }

    /// Behind TLS (a https public URL, or the setting): `Secure` cookies and HSTS.
    @Test func behindTLSCookiesAreSecureAndHSTSIsSent() async throws {
        var env = ["GONGHUI_PUBLIC_URL": "https://gonghui.example.cn/"]
        var config = try GonghuiConfig.fromEnvironment(env)
        #expect(config.publicURL == "https://gonghui.example.cn")
        #expect(config.secureCookies)
        env["GONGHUI_SECURE_COOKIES"] = "false"
        config = try GonghuiConfig.fromEnvironment(env)
        #expect(!config.secureCookies)
        #expect(throws: GonghuiConfig.Problem.self) { try GonghuiConfig.fromEnvironment(["GONGHUI_PUBLIC_URL": "gonghui.example.cn"]) }
        #expect(throws: GonghuiConfig.Problem.self) { try GonghuiConfig.fromEnvironment(["GONGHUI_SECURE_COOKIES": "maybe"]) }
        try await withApp(configured: { $0.secureCookies = true }) { app in
            let login = try await app.testing().sendRequest(.GET, "/login")
            #expect(login.headers.first(name: "Strict-Transport-Security")?.hasPrefix("max-age=") == true)
            let session = try #require(login.headers[.setCookie].first { $0.hasPrefix("gh_session=") })
            #expect(session.contains("Secure"))
            let lang = try await app.testing().sendRequest(.GET, "/lang/en?back=%2Flogin")
            #expect(lang.headers[.setCookie].allSatisfy { $0.contains("Secure") })
        }
    }

    /// Leaflet comes from this server (Debian's libjs-leaflet at /vendor/leaflet) or not at all.
    @Test func leafletIsServedFromThisSiteOrNotAtAll() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let id = try await app.site(try await app.token("jianwai"), siteJSON("国贸驿站", orgId: f.jianwai.id!, lat: 39.9087, lng: 116.4587))
            let html = try await app.testing().sendRequest(.GET, "/sites/\(id)", headers: ["Accept": "text/html"]).body.string
            #expect(!html.contains("unpkg.com"))
            if FileManager.default.fileExists(atPath: "/usr/share/javascript/leaflet/leaflet.js") {
                #expect(html.contains("href=\"/vendor/leaflet/leaflet.css\""))
                #expect(try await app.testing().sendRequest(.GET, "/vendor/leaflet/leaflet.js").status == .ok)
            } else {
                #expect(!html.contains("leaflet.css"))
            }
        }
        #expect(SecurityHeadersMiddleware.origin("https://cdn.example.org:8443/leaflet/") == "https://cdn.example.org:8443")
        #expect(SecurityHeadersMiddleware.origin("https://tile.{s}.example.org/{z}/{x}/{y}.png") == "https:")
        #expect(SecurityHeadersMiddleware.origin("/vendor/leaflet") == nil)
    }
}
