import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, item 9: `/` is the workers' landing page, and every public page leads to the appeal
/// form and calls 12351.
@Suite struct PublicHomeTests {
    @Test func theRootIsAWorkersLandingPageWithTheStaffSignInOneLinkAway() async throws {
        try await withApp { app in
            let home = try await app.testing().sendRequest(.GET, "/", headers: ["Accept": "text/html", "Accept-Language": "en-US"])
            #expect(home.status == .ok)
            let html = home.body.string
            #expect(html.contains("lang=\"zh-CN\"") && html.contains("职工服务"))
            for link in ["/sites", "/join", "/member", "/appeal", "/appeal/follow", "/join/status", "tel:12351", "/login"] {
                #expect(html.contains("href=\"\(link)\""), "\(link)")
            }
            #expect(html.contains("/lang/en?back=%2F"))
            // the language switch sticks to the landing page too
            let en = try await app.testing().sendRequest(.GET, "/", headers: ["Accept": "text/html", "Cookie": "gh_lang=en"])
            #expect(en.body.string.contains("Services for workers") && en.body.string.contains("Staff sign-in"))
            // a signed-in staff member is one link from the console
            _ = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let signedIn = try await staff.get("/")
            #expect(signedIn.status == .ok && signedIn.body.string.contains("href=\"/console\""))
        }
    }

    @Test func everyPublicPageLinksTheAppealFormAndCalls12351() async throws {
        try await withApp { app in
            for path in ["/join", "/sites", "/member", "/join/status", "/appeal/follow"] {
                let html = try await app.testing().sendRequest(.GET, path, headers: ["Accept": "text/html"]).body.string
                #expect(html.contains("href=\"/appeal\"") && html.contains("href=\"tel:12351\""), "\(path)")
                #expect(html.contains("<a class=\"brand\" href=\"/\">"), "\(path)")
            }
        }
    }
}
