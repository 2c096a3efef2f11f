import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, items 3 and 4: the public finder lists each station once; the console's search
/// finds by the term it is given.
@Suite struct SiteListUXTests {
    @Test func theFinderListsEveryStationOnce() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            for (n, lat) in [39.9087, 39.9095, 39.9100].enumerated() {
                _ = try await app.site(jianwai, siteJSON("国贸驿站\(n + 1)号", orgId: f.jianwai.id!, lat: lat, lng: 116.4587, extra: ",\"hours\":\"24/7\""))
            }
            let html = try await app.testing().sendRequest(.GET, "/sites?lat=39.9087&lng=116.4552&coord=wgs84", headers: ["Accept": "text/html"]).body.string
            #expect(html.components(separatedBy: "<li class=\"site").count - 1 == 3)
            #expect(html.contains("3 个站点"))
            #expect(html.components(separatedBy: "<b>国贸驿站2号</b>").count - 1 == 1)
        }
    }

    @Test func theConsoleAndAPISearchFindOnlyTheSitesNamedSo() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            _ = try await app.site(jianwai, siteJSON("国贸东暖心驿站", orgId: f.jianwai.id!, lat: 39.9087, lng: 116.4587))
            _ = try await app.site(jianwai, siteJSON("建外SOHO驿站", orgId: f.jianwai.id!, lat: 39.9054, lng: 116.4592))
            _ = try await app.site(jianwai, siteJSON("永安里职工之家", orgId: f.jianwai.id!, lat: 39.9080, lng: 116.4500,
                                                     extra: ",\"hostName\":\"国贸物业\""))
            // the API: by the site's name, or by its host's
            let api = try await app.send(.GET, "/api/v1/sites?q=%E5%9B%BD%E8%B4%B8", jianwai)
            #expect(Set(api.items.compactMap { $0["name"] as? String }) == ["国贸东暖心驿站", "永安里职工之家"])
            let none = try await app.send(.GET, "/api/v1/sites?q=%E6%B2%A1%E6%9C%89", jianwai)
            #expect(none.items.isEmpty && none.json["total"] as? Int == 0)
            // the console list
            let session = try await ConsoleSession.signIn(app, "jianwai")
            let page = try await session.get("/console/sites?q=%E5%BB%BA%E5%A4%96").body.string
            #expect(page.contains("建外SOHO驿站") && !page.contains("国贸东暖心驿站") && !page.contains("永安里职工之家"))
        }
    }
}
