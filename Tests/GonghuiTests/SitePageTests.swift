import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The public finder a worker uses on a phone, and the registry staff and keepers use.
@Suite struct SitePageTests {
    /// A visitor's session on the public pages: the cookie and form token a browser would hold.
    static func visitor(_ app: Application, _ path: String) async throws -> (ConsoleSession, TestingHTTPResponse) {
        let page = try await app.testing().sendRequest(.GET, path, headers: ["Accept": "text/html"])
        let session = try #require(ConsoleSession.cookie(from: page))
        let device = page.headers[.setCookie].first { $0.hasPrefix("gh_device=") }?.split(separator: ";").first.map(String.init)
        let csrf = ConsoleSession.csrf(in: page.body.string) ?? ""
        return (ConsoleSession(app: app, cookie: [session, device].compactMap { $0 }.joined(separator: "; "), csrf: csrf), page)
    }

    @Test func aWorkerWhoAllowsLocationSeesTheNearestOpenStationsAndGetsANavigateLink() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let open = try await app.site(jianwai, siteJSON("国贸东暖心驿站", orgId: f.jianwai.id!, lat: 39.9087, lng: 116.4587,
                                                            amenities: ["water", "microwave"], extra: ",\"hours\":\"24/7\",\"address\":\"建国门外大街1号\""))
            let far = try await app.site(jianwai, siteJSON("远处驿站", orgId: f.jianwai.id!, lat: 39.95, lng: 116.50, extra: ",\"hours\":\"24/7\""))
            let unknown = try await app.site(jianwai, siteJSON("国贸北银行驿站", orgId: f.jianwai.id!, lat: 39.91005, lng: 116.4552))

            // What the page's script sends once the phone allows its location (WGS-84).
            let list = try await app.testing().sendRequest(.GET, "/sites?lat=39.9087&lng=116.4552&coord=wgs84", headers: ["Accept": "text/html"])
            #expect(list.status == .ok)
            let html = list.body.string
            #expect(html.contains("离您最近"))
            // Nearest first, with its distance and its state.
            let first = try #require(html.range(of: "国贸北银行驿站")), second = try #require(html.range(of: "国贸东暖心驿站")), third = try #require(html.range(of: "远处驿站"))
            #expect(first.lowerBound < second.lowerBound && second.lowerBound < third.lowerBound)
            #expect(html.contains("150 米") && html.contains("300 米"))
            #expect(html.contains("开放中") && html.contains("已关闭"))
            #expect(html.contains("href=\"/sites/\(open)?from=39.9087,116.4552\""))
            #expect(html.contains("💧"))
            // Filters without JavaScript: open now only.
            let openOnly = try await app.testing().sendRequest(.GET, "/sites?lat=39.9087&lng=116.4552&openNow=true", headers: ["Accept": "text/html"])
            #expect(!openOnly.body.string.contains("国贸北银行驿站") && openOnly.body.string.contains("国贸东暖心驿站"))
            // Location refused: a district, or a place by name.
            let district = try await app.testing().sendRequest(.GET, "/sites?district=\(f.chaoyang.id!)", headers: ["Accept": "text/html"])
            #expect(district.body.string.contains("朝阳区附近"))
            let place = try await app.testing().sendRequest(.GET, "/sites?place=%E5%BB%BA%E5%9B%BD%E9%97%A8", headers: ["Accept": "text/html"])
            #expect(place.body.string.contains("建国门附近"))
            let bad = try await app.testing().sendRequest(.GET, "/sites?lat=999&lng=116.4", headers: ["Accept": "text/html"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("纬度须为 -90 到 90 之间的数字"))

            // The station's page: hours, amenities, the distance, and navigate links in the systems each map reads.
            let (visitor, page) = try await Self.visitor(app, "/sites/\(open)?from=39.9087,116.4552")
            let detail = page.body.string
            #expect(page.status == .ok)
            #expect(detail.contains("全天 24 小时") && detail.contains("微波炉") && detail.contains("300 米"))
            let g = GeoPoint(lat: 39.9087, lng: 116.4587).converted(to: .gcj02)
            #expect(detail.contains("https://uri.amap.com/navigation?to=\(String(format: "%.6f", g.lng)),\(String(format: "%.6f", g.lat))"))
            #expect(detail.contains("coordinate=gaode"))
            #expect(detail.contains("api.map.baidu.com/marker?location=39.908700,116.458700") && detail.contains("coord_type=wgs84"))
            #expect(detail.contains("maps.apple.com/?daddr=\(String(format: "%.6f", g.lat)),\(String(format: "%.6f", g.lng))"))
            // "I used this station" counts once; a rating with a comment shows.
            let used = try await visitor.post("/sites/\(open)/used", [:])
            #expect(used.body.string.contains("已记录，谢谢"))
            #expect(try await visitor.post("/sites/\(open)/used", [:]).body.string.contains("刚才已经记过了"))
            let badRating = try await visitor.post("/sites/\(open)/rate", ["comment": "没选星"])
            #expect(badRating.status == .unprocessableEntity)
            #expect(badRating.body.string.contains("请填写评分"))
            let rated = try await visitor.post("/sites/\(open)/rate", ["stars": "5", "comment": "冬天进来暖和一下"])
            #expect(rated.body.string.contains("谢谢您的评价") && rated.body.string.contains("冬天进来暖和一下") && rated.body.string.contains("★ 5.0"))
            #expect(try await Site.find(open, on: app.db)?.useCount == 1)
            _ = (far, unknown)
        }
    }

    @Test func staffKeepTheRegistryAndKeepersTheirHoursFromAPhone() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let bad = try await staff.post("/console/sites/new", ["name": "建外驿站", "type": "warm-station", "orgId": "\(f.jianwai.id!)", "lat": "95", "lng": "116.45",
                                                                   "coord": "gcj02", "hours": "每天 22:00-06:00", "amenities_water": "1"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("纬度须为") && bad.body.string.contains("跨午夜请分两段写"))
            #expect(bad.body.string.contains("value=\"建外驿站\""))
            let made = try await staff.post("/console/sites/new", ["name": "建外驿站", "type": "warm-station", "orgId": "\(f.jianwaiUnion.id!)", "lat": "39.9066", "lng": "116.4617",
                                                                    "coord": "gcj02", "hours": "周一至周五 07:00-22:00", "amenities_water": "1", "amenities_microwave": "1",
                                                                    "openToNonMembers": "true", "state": "open", "hostKind": "convenienceStore"])
            #expect(made.status == .seeOther, "\(made.body.string)")
            let site = try #require(try await Site.query(on: app.db).first())
            #expect(site.point.distance(to: GeoPoint(lat: 39.9066, lng: 116.4617).wgs84(from: .gcj02)) < 0.01)
            let detail = try await staff.get("/console/sites/\(site.id!)")
            #expect(detail.status == .ok)
            #expect(detail.body.string.contains("周一至周五 07:00–22:00") && detail.body.string.contains("微波炉"))
            let exception = try await staff.post("/console/sites/\(site.id!)/exceptions", ["from": "2026-10-01", "to": "2026-10-07", "note": "国庆节"])
            #expect(exception.status == .seeOther)
            let list = try await staff.get("/console/sites?type=warm-station")
            #expect(list.body.string.contains("建外驿站"))
            #expect(try await staff.get("/console/sites/coverage").body.string.contains("站点数"))
            let coverage = try await staff.get("/console/sites/coverage?format=csv")
            #expect(coverage.body.string.contains("合计") && coverage.body.string.contains("户外劳动者暖心驿站"))
            #expect(try await app.auditCount("site.coverage.export") == 1)
            #expect(try await staff.get("/console/sites/import").body.string.contains("导入站点"))
            let template = try await staff.get("/console/sites/template?format=csv")
            #expect(template.body.string.contains("坐标系"))

            // A keeper's phone form has the hours and amenities, not the name; the other district gets 404.
            _ = try await CreateAdminCommand.create(username: "keeper", password: Fixture.password, orgID: f.jianwaiUnion.id, role: "stationKeeper", name: "赵磊", on: app)
            let keeper = try await ConsoleSession.signIn(app, "keeper")
            let form = try await keeper.get("/console/sites/\(site.id!)/edit")
            #expect(form.status == .ok)
            #expect(form.body.string.contains("name=\"hours\"") && !form.body.string.contains("name=\"name\""))
            #expect(form.body.string.contains("value=\"周一至周五 07:00-22:00\""))
            let saved = try await keeper.post("/console/sites/\(site.id!)/edit", ["hours": "24小时", "amenities_water": "1", "state": "temporarilyClosed",
                                                                                  "verifiedOn": ShanghaiClock.today().description])
            #expect(saved.status == .seeOther, "\(saved.body.string)")
            let after = try #require(try await Site.find(site.id!, on: app.db))
            #expect(after.hours == "24/7" && after.state == .temporarilyClosed && after.name == "建外驿站")
            #expect(try await SiteAmenity.query(on: app.db).filter(\.$siteID == site.id!).all(\.$amenityCode) == ["water"])
            let other = try await ConsoleSession.signIn(app, "haidian")
            #expect(try await other.get("/console/sites/\(site.id!)").status == .notFound)
            #expect(try await other.post("/console/sites/\(site.id!)/retire", [:]).status == .notFound)
            #expect(!(try await other.get("/console/sites").body.string.contains("建外驿站")))
        }
    }
}
