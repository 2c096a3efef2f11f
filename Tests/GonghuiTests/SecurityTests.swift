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
                #expect(switched.headers[.setCookie].allSatisfy { !$0.contains("gh_session=x") })
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
}
