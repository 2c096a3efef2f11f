import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// `/console` shows each role what waits for it, and every tile opens.
@Suite struct HomeWorkTests {
    static func tiles(_ html: String) -> [(href: String, figure: String)] {
        let pattern = try! NSRegularExpression(pattern: #"<a class="stat work[^"]*" href="([^"]+)"><b[^>]*>([^<]*)</b>"#)
        let range = NSRange(html.startIndex..., in: html)
        return pattern.matches(in: html, range: range).map { m in
            (String(html[Range(m.range(at: 1), in: html)!]).replacingOccurrences(of: "&amp;", with: "&"),
             String(html[Range(m.range(at: 2), in: html)!]))
        }
    }

    @Test func everyRoleLandsOnItsQueuesAndNoTileLeadsToA403() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            _ = try await CreateAdminCommand.create(username: "keeper", password: Fixture.password, orgID: f.jianwai.id, role: "stationKeeper",
                                                    name: "keeper", on: app)
            // Work in 建外: an application waiting, an appeal past its deadline and supervised by 朝阳.
            let filed = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(41), orgId: f.jianwaiUnion.id!))
            #expect(filed.status == .created)
            let appeal = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            #expect(appeal.status == .created)
            try await app.db.sql.raw("UPDATE appeals SET due_at = \(bind: Date().addingTimeInterval(-86_400))").run()
            try await AppealService.sweep(on: app.db, now: Date(), throttle: false)

            var seen: [String: [String: String]] = [:]
            for username in ["admin", "chaoyang", "haidian", "jianwai", "zgc", "jwunion", "hotline", "keeper"] {
                let session = try await ConsoleSession.signIn(app, username)
                let home = try await session.get("/console")
                #expect(home.status == .ok)
                let tiles = Self.tiles(home.body.string)
                #expect(!tiles.isEmpty, "\(username) sees no work")
                for tile in tiles {
                    let opened = try await session.get(tile.href)
                    #expect(opened.status == .ok, "\(username): \(tile.href) answered \(opened.status.code)")
                }
                seen[username] = Dictionary(tiles.map { ($0.href, $0.figure) }, uniquingKeysWith: { a, _ in a })
            }
            // The street and the union see the application; 海淀 does not.
            #expect(seen["jianwai"]?["/console/applications?status=open"] == "1")
            #expect(seen["jwunion"]?["/console/applications?status=open"] == "1")
            #expect(seen["haidian"]?["/console/applications?status=open"] == "0")
            // The overdue appeal: late at 建外, supervised by 朝阳, invisible in 海淀.
            #expect(seen["jianwai"]?["/console/appeals?overdue=true"] == "1")
            #expect(seen["chaoyang"]?["/console/appeals?supervised=true"] == "1")
            #expect(seen["jianwai"]?["/console/appeals?supervised=true"] == "0")
            #expect(seen["haidian"]?["/console/appeals?overdue=true"] == "0")
            // A grassroots union sees its roster and its import; the station keeper only its sites.
            #expect(seen["jwunion"]?.keys.contains("/console/members/import") == true)
            #expect(seen["keeper"]?.keys.sorted() == ["/console/sites?stale=true"])
            #expect(seen["hotline"]?["/console/appeals?overdue=true"] == "1")
        }
    }
}
