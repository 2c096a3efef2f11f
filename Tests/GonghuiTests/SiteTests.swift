import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

func siteJSON(_ name: String, orgId: Int, lat: Double, lng: Double, coord: String = "wgs84", type: String = "warm-station",
              amenities: [String] = ["water", "charging"], extra: String = "") -> String {
    let list = amenities.map { "\"\($0)\"" }.joined(separator: ",")
    return "{\"name\":\"\(name)\",\"type\":\"\(type)\",\"lat\":\(lat),\"lng\":\(lng),\"coord\":\"\(coord)\",\"orgId\":\(orgId),\"amenities\":[\(list)]\(extra)}"
}

extension Application {
    /// Creates a site through the API and answers its id.
    func site(_ auth: HTTPHeaders, _ json: String) async throws -> Int {
        let response = try await send(.POST, "/api/v1/sites", auth, json: json)
        #expect(response.status == .created, "\(response.body.string)")
        return try #require(response.json["id"] as? Int)
    }
}

extension TestingHTTPResponse {
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
}

@Suite struct SiteFinderTests {
    /// 国贸 in WGS-84: the point a phone near the China World Trade Center reports.
    static let guomao = GeoPoint(lat: 39.9087, lng: 116.4552)

    @Test func theNearestOpenSitesComeFirstInEitherCoordinateSystem() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            // A 24-hour station 300 m east, a bank with no hours known 150 m north, one given in GCJ-02 (as picked on Amap)
            // 600 m west, a mother-and-baby room that is temporarily closed, and one far away in Haidian.
            let east = GeoPoint(lat: 39.9087, lng: 116.4587)
            let north = GeoPoint(lat: 39.91005, lng: 116.4552)
            let westWGS = GeoPoint(lat: 39.9087, lng: 116.4482)
            let westGCJ = westWGS.converted(to: .gcj02)
            let a = try await app.site(jianwai, siteJSON("国贸东暖心驿站", orgId: f.jianwai.id!, lat: east.lat, lng: east.lng,
                                                         amenities: ["water", "microwave", "charging"], extra: ",\"hours\":\"24小时\""))
            let b = try await app.site(jianwai, siteJSON("国贸北银行驿站", orgId: f.jianwai.id!, lat: north.lat, lng: north.lng, extra: ",\"hostKind\":\"bankBranch\""))
            let c = try await app.site(jianwai, siteJSON("永安里驿站", orgId: f.jianwai.id!, lat: westGCJ.lat, lng: westGCJ.lng, coord: "gcj02",
                                                         amenities: ["water", "microwave"], extra: ",\"hours\":\"Mo-Su 00:00-24:00\""))
            let d = try await app.site(jianwai, siteJSON("国贸母婴室", orgId: f.jianwai.id!, lat: 39.9088, lng: 116.4553, type: "mother-baby",
                                                         amenities: ["nursing"], extra: ",\"hours\":\"24/7\",\"state\":\"temporarilyClosed\""))
            let haidian = try await app.token("haidian")
            _ = try await app.site(haidian, siteJSON("中关村驿站", orgId: f.zhongguancun.id!, lat: 39.9836, lng: 116.3164))

            // The GCJ-02 input is stored as WGS-84.
            let stored = try #require(try await Site.find(c, on: app.db))
            #expect(stored.point.distance(to: westWGS) < 0.01)

            let wgs = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)&coord=wgs84&limit=10")
            #expect(wgs.status == .ok, "\(wgs.body.string)")
            let items = wgs.items
            #expect(items.map { $0["id"] as? Int } == [d, b, a, c, items.last?["id"] as? Int])
            #expect(items.count == 5)
            for item in items {
                let p = GeoPoint(lat: item["lat"] as! Double, lng: item["lng"] as! Double)
                #expect(abs(Double(item["distanceMeters"] as! Int) - Self.guomao.distance(to: p)) <= 1)
            }
            #expect(items[1]["distanceMeters"] as? Int == Int(Self.guomao.distance(to: north).rounded()))
            #expect(items[0]["openNow"] as? Bool == false) // temporarily closed
            #expect(items[1]["openNow"] as? Bool == false) // no hours known
            #expect(items[2]["openNow"] as? Bool == true)
            #expect(items[2]["amenities"] as? [String] == ["water", "microwave", "charging"])
            #expect(items[3]["lat"] as? Double == NearbyRequest.round(westWGS.lat))

            // The same place asked in GCJ-02: the same sites, the same distances, points answered in GCJ-02.
            let g = Self.guomao.converted(to: .gcj02)
            let gcj = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(g.lat)&lng=\(g.lng)&coord=gcj02&limit=10")
            #expect(gcj.json["coord"] as? String == "gcj02")
            #expect(gcj.items.map { $0["id"] as? Int } == items.map { $0["id"] as? Int })
            for (x, y) in zip(gcj.items, items) {
                #expect(abs((x["distanceMeters"] as! Int) - (y["distanceMeters"] as! Int)) <= 1)
            }
            let gcjWest = try #require(gcj.items.first { $0["id"] as? Int == c })
            #expect(abs((gcjWest["lat"] as! Double) - westGCJ.lat) < 1e-6 && abs((gcjWest["lng"] as! Double) - westGCJ.lng) < 1e-6)

            // Filters: open now, an amenity, a type, a radius, a limit.
            let open = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)&openNow=true")
            #expect(open.items.map { $0["id"] as? Int } == [a, c])
            let microwave = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)&amenity=microwave&amenity=water")
            #expect(microwave.items.map { $0["id"] as? Int } == [a, c])
            let rooms = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)&type=mother-baby")
            #expect(rooms.items.map { $0["id"] as? Int } == [d])
            let near = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)&radius=400")
            #expect(near.items.map { $0["id"] as? Int } == [d, b, a])
            let two = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)&limit=2")
            #expect(two.items.count == 2)

            // A site's page answers in either system too; a retired site leaves the finder.
            let one = try await app.send(.GET, "/api/v1/sites/\(c)?coord=gcj02")
            #expect(abs((one.json["lat"] as! Double) - westGCJ.lat) < 1e-6)
            #expect(one.json["hours"] as? String == "24/7")
            #expect((one.json["schedule"] as? [[String: Any]])?.count == 7)
            #expect(try await app.send(.POST, "/api/v1/sites/\(b)/retire", jianwai, json: "{\"reason\":\"银行网点撤并\"}").status == .ok)
            let after = try await app.send(.GET, "/api/v1/sites/nearby?lat=\(Self.guomao.lat)&lng=\(Self.guomao.lng)")
            #expect(!after.items.contains { $0["id"] as? Int == b })
            #expect(try await app.send(.GET, "/api/v1/sites/\(b)").status == .notFound)
            #expect(try await app.auditCount("site.retire") == 1)
            #expect(try await app.auditCount("site.create") == 5)
        }
    }

    /// The nearby answer is written by hand for speed: names with quotes and backslashes stay valid JSON.
    @Test func theHandWrittenAnswerIsValidJSON() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            _ = try await app.site(jianwai, #"{"name":"老王\"的\\驿站","type":"warm-station","lat":39.9,"lng":116.4,"coord":"wgs84","orgId":ORG,"address":"东路\t1号"}"#
                .replacingOccurrences(of: "ORG", with: String(f.jianwai.id!)))
            let answer = try await app.send(.GET, "/api/v1/sites/nearby?lat=39.9&lng=116.4")
            #expect(answer.headers.contentType == .json)
            #expect(answer.items.first?["name"] as? String == "老王\"的\\驿站")
            #expect(answer.items.first?["address"] as? String == "东路 1号")
            #expect(answer.items.first?["distanceMeters"] as? Int == 0)
            #expect(JSONText.quote("a\u{1}b\u{2028}\"") == #""a\u0001b\u2028\"""#)
        }
    }

    /// Another app process sharing the database writes a site: this one notices within maxAge,
    /// without being told, and answers from what it held meanwhile.
    @Test func aWriteFromAnotherProcessReachesTheFinder() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            _ = try await app.site(jianwai, siteJSON("甲", orgId: f.jianwai.id!, lat: 39.9, lng: 116.4))
            let finder = SiteFinder(maxAge: 0)
            #expect(try await finder.snapshot(app).index.count == 1)
            // The other process: a row written straight to the database, no invalidate here.
            let other = Site()
            (other.name, other.typeCode, other.hostKind, other.orgID, other.lat, other.lng, other.hours) = ("乙", "warm-station", .other, f.jianwai.id!, 39.901, 116.401, "")
            (other.openToNonMembers, other.stepFree, other.state, other.ratingCount, other.ratingSum, other.useCount) = (true, false, .open, 0, 0, 0)
            try await other.create(on: app.db)
            // The first request after the write is answered from the snapshot held while the check runs
            // in the background; once that check is done (awaited here, not slept for) the new site shows.
            #expect(try await finder.snapshot(app).index.count == 1)
            await finder.drain()
            #expect(try await finder.snapshot(app).index.count == 2)
            let version = try await SiteFinder.version(on: app.db)
            #expect(try await SiteFinder.version(on: app.db) == version)
        }
    }

    @Test func everyBadFieldIsNamed() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let bad = try await app.send(.POST, "/api/v1/sites", jianwai, json: """
                {"name":"","type":"spa","lat":95,"lng":200,"coord":"bd09","orgId":\(f.jianwai.id!),"amenities":["water","jacuzzi"],
                 "hours":"Mo 08:00-12:00,11:00-14:00","hostKind":"castle","phone":"abc","state":"gone","verifiedOn":"2099-01-01"}
                """)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.headers.contentType?.description.hasPrefix("application/problem+json") == true)
            #expect(Set(bad.problemFields) == ["name", "type", "lat", "lng", "coord", "amenities[1]", "hours", "hostKind", "phone", "state", "verifiedOn"])
            let codes = Dictionary(uniqueKeysWithValues: ((bad.json["errors"] as? [[String: Any]]) ?? []).map { ($0["field"] as! String, $0["code"] as! String) })
            #expect(codes["hours"] == "overlap")
            let night = try await app.send(.POST, "/api/v1/sites", jianwai, json: siteJSON("夜间驿站", orgId: f.jianwai.id!, lat: 39.9, lng: 116.4, extra: ",\"hours\":\"每天 22:00-06:00\""))
            #expect(night.problemFields == ["hours"])
            #expect(((night.json["errors"] as? [[String: Any]])?.first?["code"] as? String) == "endBeforeStart")
            #expect(night.body.string.contains("22:00-06:00"))
            let empty = try await app.send(.POST, "/api/v1/sites", jianwai, json: "{}")
            #expect(Set(empty.problemFields) == ["name", "type", "orgId", "lat", "lng", "coord"])
            let text = try await app.send(.POST, "/api/v1/sites", jianwai, json: "{\"lat\":\"north\"}")
            #expect(text.status == .unprocessableEntity || text.status == .badRequest)
            #expect(text.problemFields == ["lat"])
            // English messages for an English caller.
            var en = jianwai
            en.replaceOrAdd(name: .acceptLanguage, value: "en")
            let english = try await app.send(.POST, "/api/v1/sites", en, json: siteJSON("x", orgId: f.jianwai.id!, lat: 91, lng: 116))
            #expect(english.body.string.contains("Latitude must be a number from -90 to 90"))

            let q = "/api/v1/sites/nearby"
            #expect(Set(try await app.send(.GET, q).problemFields) == ["lat", "lng"])
            #expect(Set(try await app.send(.GET, q + "?lat=abc&lng=116.4").problemFields) == ["lat"])
            #expect(Set(try await app.send(.GET, q + "?lat=39.9&lng=-190").problemFields) == ["lng"])
            let filters = try await app.send(.GET, q + "?lat=39.9&lng=116.4&coord=bd09&type=spa&amenity=jacuzzi&limit=0&radius=-5&openNow=maybe")
            #expect(filters.status == .unprocessableEntity)
            #expect(Set(filters.problemFields) == ["coord", "type", "amenity", "limit", "radius", "openNow"])

            let site = try await app.site(jianwai, siteJSON("驿站", orgId: f.jianwai.id!, lat: 39.9, lng: 116.4))
            let exception = try await app.send(.POST, "/api/v1/sites/\(site)/exceptions", jianwai, json: "{\"from\":\"2026-10-07\",\"to\":\"2026-10-01\",\"hours\":\"25:00-26:00\"}")
            #expect(Set(exception.problemFields) == ["to", "hours"])
            let moved = try await app.send(.PATCH, "/api/v1/sites/\(site)", jianwai, json: "{\"lat\":39.91,\"lng\":116.41}")
            #expect(moved.problemFields == ["coord"])
        }
    }

    @Test func staffSeeTheirSubtreeAndKeepersOnlyTheirSitesHours() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let site = try await app.site(jianwai, siteJSON("建外驿站", orgId: f.jianwaiUnion.id!, lat: 39.9, lng: 116.45))
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.PATCH, "/api/v1/sites/\(site)", haidian, json: "{\"hours\":\"24/7\"}").status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/retire", haidian).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/sites/\(site)/activity", haidian).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/sites", haidian).json["total"] as? Int == 0)
            #expect(try await app.send(.GET, "/api/v1/sites", try await app.token("chaoyang")).json["total"] as? Int == 1)
            let intoOther = try await app.send(.POST, "/api/v1/sites", haidian, json: siteJSON("越界", orgId: f.jianwai.id!, lat: 39.9, lng: 116.4))
            #expect(intoOther.problemFields == ["orgId"])
            // The union's own admin keeps its sites; a hotline agent reads but does not write.
            #expect(try await app.send(.PATCH, "/api/v1/sites/\(site)", try await app.token("jwunion"), json: "{\"phone\":\"010-65123456\"}").status == .ok)
            #expect(try await app.send(.POST, "/api/v1/sites", try await app.token("hotline"), json: siteJSON("x", orgId: f.city.id!, lat: 39.9, lng: 116.4)).status == .forbidden)

            // A station keeper bound to the union changes hours, amenities, state; not the name, and nothing elsewhere.
            _ = try await CreateAdminCommand.create(username: "keeper", password: Fixture.password, orgID: f.jianwaiUnion.id, role: "stationKeeper", name: "赵磊", on: app)
            _ = try await CreateAdminCommand.create(username: "keeper2", password: Fixture.password, orgID: f.zgcUnion.id, role: "stationKeeper", name: "钱多", on: app)
            let keeper = try await app.token("keeper")
            let changed = try await app.send(.PATCH, "/api/v1/sites/\(site)", keeper, json: "{\"hours\":\"周一至周五 08:00-20:00；周六 09:00-17:00\",\"amenities\":[\"water\",\"microwave\"],\"state\":\"temporarilyClosed\"}")
            #expect(changed.status == .ok, "\(changed.body.string)")
            #expect(changed.json["hours"] as? String == "Mo-Fr 08:00-20:00; Sa 09:00-17:00")
            #expect(changed.json["amenities"] as? [String] == ["water", "microwave"])
            #expect(changed.json["state"] as? String == "temporarilyClosed")
            let renamed = try await app.send(.PATCH, "/api/v1/sites/\(site)", keeper, json: "{\"name\":\"改名\"}")
            #expect(renamed.status == .forbidden)
            #expect(renamed.problemFields == ["name"])
            #expect(try await app.send(.PATCH, "/api/v1/sites/\(site)", keeper, json: "{\"state\":\"retired\"}").status == .unprocessableEntity)
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/retire", keeper).status == .forbidden)
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/verify", keeper).json["verifiedOn"] as? String == ShanghaiClock.today().description)
            #expect(try await app.send(.PATCH, "/api/v1/sites/\(site)", try await app.token("keeper2"), json: "{\"hours\":\"24/7\"}").status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/sites", keeper, json: siteJSON("x", orgId: f.jianwaiUnion.id!, lat: 39.9, lng: 116.4)).status == .forbidden)
        }
    }

    @Test func anExceptionClosesASiteForItsDaysOnly() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let site = try await app.site(jianwai, siteJSON("全天驿站", orgId: f.jianwai.id!, lat: 39.9, lng: 116.45, extra: ",\"hours\":\"24/7\""))
            let nearby = "/api/v1/sites/nearby?lat=39.9&lng=116.45"
            #expect(try await app.send(.GET, nearby).items.first?["openNow"] as? Bool == true)
            let today = ShanghaiClock.today()
            let closed = try await app.send(.POST, "/api/v1/sites/\(site)/exceptions", jianwai,
                                            json: "{\"from\":\"\(today)\",\"to\":\"\(today.adding(days: 1))\",\"note\":\"设备检修\"}")
            #expect(closed.status == .created, "\(closed.body.string)")
            #expect(closed.json["openNow"] as? Bool == false)
            let next = try #require(closed.json["nextChange"] as? [String: Any])
            #expect(next["open"] as? Bool == true)
            #expect(next["at"] as? String == "\(today.adding(days: 2))T00:00")
            #expect(try await app.send(.GET, nearby).items.first?["openNow"] as? Bool == false)
            #expect(try await app.send(.GET, nearby + "&openNow=true").items.isEmpty)
            let exceptionID = try #require(((closed.json["exceptions"] as? [[String: Any]])?.first?["id"]) as? Int)
            #expect(try await app.send(.DELETE, "/api/v1/sites/\(site)/exceptions/\(exceptionID)", jianwai).status == .noContent)
            #expect(try await app.send(.GET, nearby).items.first?["openNow"] as? Bool == true)
            // Short hours on a holiday: open only then.
            let short = try await app.send(.POST, "/api/v1/sites/\(site)/exceptions", jianwai, json: "{\"from\":\"\(today)\",\"hours\":\"00:00-00:01\"}")
            #expect((short.json["exceptions"] as? [[String: Any]])?.first?["hours"] as? String == "00:00-00:01")
        }
    }

    @Test func ratingsAndUsesAreCountedOncePerDeviceAndByMonth() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let site = try await app.site(jianwai, siteJSON("评价驿站", orgId: f.jianwai.id!, lat: 39.9, lng: 116.45))
            var phone = HTTPHeaders()
            phone.add(name: "X-Device-Id", value: "phone-1")
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/ratings", phone, json: "{\"stars\":6}").problemFields == ["stars"])
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/ratings", phone, json: "{}").problemFields == ["stars"])
            let rated = try await app.send(.POST, "/api/v1/sites/\(site)/ratings", phone, json: "{\"stars\":4,\"comment\":\"热水很方便\"}")
            #expect(rated.status == .created)
            #expect(rated.json["ratingCount"] as? Int == 1)
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/ratings", phone, json: "{\"stars\":5}").status == .tooManyRequests)
            var other = HTTPHeaders()
            other.add(name: "X-Device-Id", value: "phone-2")
            let second = try await app.send(.POST, "/api/v1/sites/\(site)/ratings", other, json: "{\"stars\":5}")
            #expect(second.json["ratingAverage"] as? Double == 4.5)
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/uses", phone).status == .created)
            let again = try await app.send(.POST, "/api/v1/sites/\(site)/uses", phone)
            #expect(again.status == .ok)
            #expect(again.json["useCount"] as? Int == 1)
            #expect(try await app.send(.POST, "/api/v1/sites/\(site)/uses", other).json["useCount"] as? Int == 2)
            let activity = try await app.send(.GET, "/api/v1/sites/\(site)/activity?months=3", jianwai)
            let months = try #require(activity.json["months"] as? [[String: Any]])
            #expect(months.count == 3)
            #expect(months.last?["month"] as? String == String(ShanghaiClock.today().description.prefix(7)))
            #expect(months.last?["uses"] as? Int == 2)
            #expect(months.last?["ratings"] as? Int == 2)
            #expect(months.last?["ratingAverage"] as? Double == 4.5)
            #expect(try await app.send(.POST, "/api/v1/sites/999999/uses", phone).status == .notFound)
        }
    }

    @Test func coverageByDistrictAndTheCataloguesCityStaffKeep() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let jianwai = try await app.token("jianwai")
            _ = try await app.site(jianwai, siteJSON("一", orgId: f.jianwai.id!, lat: 39.9, lng: 116.45))
            _ = try await app.site(jianwai, siteJSON("二", orgId: f.jianwaiUnion.id!, lat: 39.9, lng: 116.46, type: "mother-baby", extra: ",\"verifiedOn\":\"2020-01-01\""))
            _ = try await app.site(try await app.token("haidian"), siteJSON("三", orgId: f.zhongguancun.id!, lat: 39.98, lng: 116.31))
            let city = try await app.send(.GET, "/api/v1/site-coverage", admin)
            #expect(city.status == .ok)
            let rows = try #require(city.json["rows"] as? [[String: Any]])
            let chaoyang = try #require(rows.first { $0["orgId"] as? Int == f.chaoyang.id! })
            #expect(chaoyang["total"] as? Int == 2)
            #expect(chaoyang["stale"] as? Int == 1)
            #expect((chaoyang["byType"] as? [String: Int])?["mother-baby"] == 1)
            #expect((city.json["total"] as? [String: Any])?["total"] as? Int == 3)
            // A district sees its streets, and not the other district.
            let streets = try await app.send(.GET, "/api/v1/site-coverage?orgId=\(f.chaoyang.id!)", try await app.token("chaoyang"))
            #expect((streets.json["rows"] as? [[String: Any]])?.first { $0["orgId"] as? Int == f.jianwai.id! }?["total"] as? Int == 2)
            #expect(try await app.send(.GET, "/api/v1/site-coverage?orgId=\(f.haidian.id!)", try await app.token("chaoyang")).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/sites?stale=true", admin).json["total"] as? Int == 1)
            #expect(try await app.send(.GET, "/api/v1/sites?type=mother-baby", admin).json["total"] as? Int == 1)
            #expect(try await app.send(.GET, "/api/v1/sites?amenity=charging", admin).json["total"] as? Int == 3)

            // Types and amenities are data: the city adds its own, and it works at once.
            let types = try await app.send(.GET, "/api/v1/site-types")
            #expect((types.items.map { $0["code"] as? String }).contains("warm-station"))
            #expect(try await app.send(.GET, "/api/v1/amenities").items.count >= 13)
            let added = try await app.send(.POST, "/api/v1/amenities", admin, json: "{\"code\":\"ebike-charging\",\"nameZh\":\"电动车充电\",\"nameEn\":\"E-bike charging\",\"icon\":\"🔋\"}")
            #expect(added.status == .created, "\(added.body.string)")
            #expect(try await app.send(.POST, "/api/v1/amenities", admin, json: "{\"code\":\"ebike-charging\",\"nameZh\":\"x\",\"nameEn\":\"x\"}").status == .conflict)
            #expect(try await app.send(.POST, "/api/v1/site-types", admin, json: "{\"code\":\"Bad Code\",\"nameZh\":\"x\",\"nameEn\":\"x\"}").problemFields == ["code"])
            #expect(try await app.send(.POST, "/api/v1/site-types", jianwai, json: "{\"code\":\"hut\",\"nameZh\":\"小屋\",\"nameEn\":\"Hut\"}").status == .forbidden)
            let withNew = try await app.site(jianwai, siteJSON("充电驿站", orgId: f.jianwai.id!, lat: 39.9, lng: 116.47, amenities: ["ebike-charging"]))
            let found = try await app.send(.GET, "/api/v1/sites/nearby?lat=39.9&lng=116.47&amenity=ebike-charging")
            #expect(found.items.map { $0["id"] as? Int } == [withNew])
        }
    }
}

@Suite struct SiteImportTests {
    static func upload(_ app: Application, _ auth: HTTPHeaders, orgID: Int, _ text: String) async throws -> [String: Any] {
        let started = try await app.testing().sendRequest(.POST, "/api/v1/site-imports?orgId=\(orgID)&fileName=sites.csv", headers: auth, beforeRequest: { req in
            req.headers.contentType = HTTPMediaType(type: "text", subType: "csv")
            req.body = ByteBuffer(string: text)
        })
        #expect(started.status == .accepted, "\(started.body.string)")
        let id = try #require(started.json["id"] as? Int)
        await app.imports.waitForAll()
        return try await app.send(.GET, "/api/v1/site-imports/\(id)", auth).json
    }

    @Test func aSheetImportsItsGoodRowsReportsTheRestAndNothingTwice() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let g = GeoPoint(lat: 39.9066, lng: 116.4617)
            let csv = """
                站点名称,站点类型,承载单位类型,承载单位,管理工会,地址,纬度,经度,坐标系,开放时间,服务设施,对非会员开放,无障碍入口,联系电话,状态,最近核实日期
                建外SOHO暖心驿站,户外劳动者暖心驿站,便利店,好邻居便利店,北京华联科技有限公司工会,东三环中路39号,\(g.lat),\(g.lng),gcj02,周一至周五 07:00-22:00；周六、周日 09:00-20:00,饮用水、微波炉、手机充电,是,否,010-65123456,开放,2026-11-01
                国贸母婴室,mother-baby,publicSpace,国贸商城,,建国门外大街1号,39.9093,116.4550,wgs84,24小时,nursing water,yes,yes,,open,
                坏时间,warm-station,,,,,39.9,116.4,wgs84,每天 22:00-06:00,,,,,,
                坏类型,温泉,,,,,39.9,116.4,wgs84,,,,,,,
                坏坐标,warm-station,,,,,95,116.4,wgs84,,,,,,,
                无坐标系,warm-station,,,,,39.9,116.4,,,,,,,,
                坏设施,warm-station,,,,,39.9,116.4,wgs84,,按摩椅,,,,,
                外区工会,warm-station,,,北京中科软件有限公司工会,,39.9,116.4,wgs84,,,,,,,
                国贸母婴室,mother-baby,publicSpace,国贸商城,,建国门外大街1号,39.9093,116.4550,wgs84,24小时,nursing water,yes,yes,,open,
                """
            let job = try await Self.upload(app, jianwai, orgID: f.jianwai.id!, csv)
            #expect(job["state"] as? String == "done", "\(job)")
            #expect(job["imported"] as? Int == 2)
            #expect(job["failed"] as? Int == 6)
            #expect(job["duplicates"] as? Int == 1)
            let problems = try await ImportProblem.query(on: app.db).sort(\.$line).all()
            let byLine = Dictionary(grouping: problems, by: \.line)
            #expect(byLine[4]?.first?.code == "endBeforeStart")
            #expect(byLine[4]?.first?.column == "开放时间")
            #expect(byLine[5]?.first?.column == "站点类型")
            #expect(byLine[6]?.first?.column == "纬度")
            #expect(byLine[7]?.first?.column == "坐标系")
            #expect(byLine[8]?.first?.message.contains("按摩椅") == true)
            #expect(byLine[9]?.first?.code == "notFound")
            #expect(byLine[10]?.first?.code == "duplicateInFile")
            let soho = try #require(try await Site.query(on: app.db).filter(\.$name == "建外SOHO暖心驿站").first())
            #expect(soho.orgID == f.jianwaiUnion.id!)
            #expect(soho.point.distance(to: g.wgs84(from: .gcj02)) < 0.01)
            #expect(soho.hours == "Mo-Fr 07:00-22:00; Sa-Su 09:00-20:00")
            #expect(soho.hostKind == .convenienceStore && soho.openToNonMembers && !soho.stepFree && soho.verifiedOn == "2026-11-01")
            #expect(Set(try await SiteAmenity.query(on: app.db).filter(\.$siteID == soho.id!).all(\.$amenityCode)) == ["water", "microwave", "charging"])
            #expect(try await Site.query(on: app.db).filter(\.$name == "国贸母婴室").first()?.orgID == f.jianwai.id!)

            // The same file again adds nothing; the export imports back as nothing new.
            let again = try await Self.upload(app, jianwai, orgID: f.jianwai.id!, csv)
            #expect(again["imported"] as? Int == 0)
            #expect(again["duplicates"] as? Int == 3)
            let export = try await app.send(.GET, "/api/v1/sites/export?format=csv", jianwai)
            #expect(export.status == .ok)
            let text = export.body.string
            #expect(text.contains("建外SOHO暖心驿站") && text.contains("Mo-Fr 07:00-22:00; Sa-Su 09:00-20:00"))
            let back = try await Self.upload(app, jianwai, orgID: f.jianwai.id!, text)
            #expect(back["imported"] as? Int == 0, "\(back)")
            #expect(back["duplicates"] as? Int == 2)
            #expect(back["failed"] as? Int == 0)
            #expect(try await Site.query(on: app.db).count() == 2)
            #expect(try await app.auditCount("site.export") == 1)
            // The other district cannot read the job.
            let jobID = try #require(job["id"] as? Int)
            #expect(try await app.send(.GET, "/api/v1/site-imports/\(jobID)", try await app.token("haidian")).status == .notFound)
        }
    }
}
