import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// What the phone layout needs from the pages (issue 14, items 11 and 12); the look itself was checked
/// in Chromium at 390 × 844 and 1280 × 800.
@Suite struct LayoutTests {
    @Test func listsAreCardsWithLabelledKeyColumnsAndTheirFiltersFold() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let city = try await ConsoleSession.signIn(app, "admin")
            for path in ["/console/members", "/console/appeals", "/console/enterprises", "/console/sites"] {
                let page = try await city.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(page.body.string.contains("<table class=\"cards\">"), "\(path)")
                if path != "/console/members" {
                    #expect(page.body.string.contains("<details class=\"fold\""), "\(path)")
                }
            }
            // an appeal's due date stays on its card, labelled
            let f = try await Organization.query(on: app.db).filter(\.$divisionCode == "110105").first()!
            _ = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.id!))
            let queue = try await city.get("/console/appeals")
            #expect(queue.body.string.contains("data-label=\"答复期限\"") || queue.body.string.contains("data-label=\"\(app.localizer.text("appeal.due", .zhHans))\""))
        }
    }

    @Test func theStylesheetSpacesFormRowsWithTheGridAndGivesPhonesLargeTapTargets() throws {
        let css = try String(contentsOfFile: AppPaths.root() + "Public/css/app.css", encoding: .utf8)
        #expect(css.contains("form.grid > label + label, form .grid > label + label { margin-top: 0; }"))
        #expect(css.contains("form.grid, form .grid { row-gap: .75rem; }"))
        #expect(css.contains(".pager a { display: inline-flex; align-items: center; min-height: 44px;"))
        #expect(css.contains("nav.main a.active { order: -1; }"))
    }
}
