import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// Service sites for the demo and the benchmarks: spread over each district's extent in
/// proportion to its population, with the kinds, hosts, hours and amenities real stations have.
struct SiteSeeder {
    let db: any Database
    let progress: @Sendable (String) -> Void

    static func count(_ scale: Seeder.Scale) -> Int {
        switch scale {
        case .demo: 170
        case .city: 3_000
        case .beijing: 12_000
        }
    }

    /// Kinds in roughly Beijing's proportions (11,291 warm-heart stations, 2,020 mother-and-baby rooms …).
    static let typeMix = ["warm-station", "warm-station", "warm-station", "warm-station", "warm-station", "warm-station", "warm-station",
                          "warm-station", "warm-station", "warm-station", "warm-station", "warm-station", "warm-station", "warm-station",
                          "mother-baby", "mother-baby", "workers-home", "workers-home", "union-station", "public-home"]
    static let hosts: [(HostKind, [String], String)] = [
        (.convenienceStore, ["好邻居便利店", "便利蜂", "物美便利", "7-Eleven", "罗森便利店"], "24/7"),
        (.convenienceStore, ["好邻居便利店", "便利蜂", "物美便利"], "Mo-Su 07:00-23:00"),
        (.bankBranch, ["中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "北京银行", "中国邮政储蓄银行"], "Mo-Fr 09:00-17:00; Sa-Su 09:30-16:00"),
        (.petrolStation, ["中国石化加油站", "中国石油加油站"], "24/7"),
        (.estateAgency, ["链家", "我爱我家", "麦田房产"], "Mo-Su 09:00-21:00"),
        (.community, ["社区党群服务中心", "社区服务站"], "Mo-Fr 08:30-17:30; Sa 09:00-12:00"),
        (.publicSpace, ["公园服务中心", "地铁站服务点"], "Mo-Su 06:00-22:00"),
        (.convenienceStore, ["好邻居便利店", "便利蜂"], "24/7"),
    ]
    static let extras = ["microwave", "toilet", "wifi", "first-aid", "umbrella", "sewing-kit", "heatstroke", "bp-meter", "raincoat", "heating",
                         "air-conditioning", "tyre-pump", "glucose-meter"]

    /// A deterministic stream of numbers in [0, 1).
    struct Stream {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    /// A point inside the district's box that is not closer (relative to size) to another district's centre.
    static func point(in d: DistrictPlace, all: [DistrictPlace], _ r: inout Stream) -> GeoPoint {
        for _ in 0..<50 {
            let p: GeoPoint
            if r.next() < 0.6 {
                // Towns and streets cluster around the centre.
                let u = max(1e-9, r.next()), v = r.next()
                let g = sqrt(-2 * log(u)) * cos(2 * .pi * v), h = sqrt(-2 * log(u)) * sin(2 * .pi * v)
                p = GeoPoint(lat: d.centre.lat + g * (d.north - d.south) / 6, lng: d.centre.lng + h * (d.east - d.west) / 6)
            } else {
                p = GeoPoint(lat: d.south + r.next() * (d.north - d.south), lng: d.west + r.next() * (d.east - d.west))
            }
            guard d.contains(p) else { continue }
            let mine = p.distance(to: d.centre) / d.reach
            if !all.contains(where: { $0.code != d.code || $0.name != d.name ? ($0.contains(p) && p.distance(to: $0.centre) / $0.reach < mine) : false }) {
                return p
            }
        }
        return d.centre
    }

    func seed(_ scale: Seeder.Scale, now: Date = Date()) async throws -> Bool {
        if try await Site.query(on: db).count() > 0 { return false }
        let districts = try await Organization.query(on: db).filter(\.$kind == .district).sort(\.$id).all()
        let streets = try await Organization.query(on: db).filter(\.$kind == .street).sort(\.$id).all()
        guard !districts.isEmpty else { return false }
        let started = Date()
        let places = DistrictPlace.beijing
        var streetsOf: [Int: [Organization]] = [:]
        for s in streets { streetsOf[s.parentID ?? 0, default: []].append(s) }
        // Each district with its place (or Beijing's centre when the city is another), weighted by population.
        let targets: [(Organization, DistrictPlace)] = districts.map { d in
            (d, DistrictPlace.find(code: d.divisionCode, name: d.name)
                ?? DistrictPlace(code: d.divisionCode ?? "", name: d.name, centre: GeoPoint(lat: 39.9087, lng: 116.3975),
                                 south: 39.85, west: 116.3, north: 39.97, east: 116.5, population: 50))
        }
        let total = Self.count(scale)
        let weight = targets.map(\.1.population).reduce(0, +)
        // Every district gets at least a few; the rest by population.
        var quota = targets.map { max(4, Int((Double(total) * $0.1.population / weight).rounded())) }
        quota[quota.indices.max { quota[$0] < quota[$1] }!] += total - quota.reduce(0, +)
        var r = Stream(state: 20_241_121)
        var rows: [(org: Int, type: String, host: HostKind, hostName: String, name: String, address: String, p: GeoPoint, hours: String,
                    state: SiteState, verified: String, amenities: [String], ratings: Int, ratingSum: Int, uses: Int)] = []
        let today = ShanghaiClock.today(now)
        for (i, (district, place)) in targets.enumerated() {
            let local = streetsOf[district.id ?? 0] ?? []
            for n in 0..<quota[i] {
                let street = local.isEmpty ? district : local[Int(r.next() * Double(local.count))]
                let type = Self.typeMix[Int(r.next() * Double(Self.typeMix.count))]
                let host = Self.hosts[Int(r.next() * Double(Self.hosts.count))]
                let brand = host.1[Int(r.next() * Double(host.1.count))]
                let area = street.name.replacingOccurrences(of: "街道总工会", with: "").replacingOccurrences(of: "总工会", with: "")
                let suffix = ["warm-station": "暖心驿站", "mother-baby": "母婴关爱室", "workers-home": "职工之家", "union-station": "工会服务站",
                              "public-home": "公共区域职工之家"][type] ?? "服务站"
                let hostName = "\(brand)（\(area)\(n % 7 == 0 ? "" : "\(n / 7 + 1)")店）"
                var hours = type == "warm-station" ? host.2 : (type == "mother-baby" ? "Mo-Fr 09:00-18:00" : "Mo-Fr 08:30-17:30")
                if type == "union-station" { hours = "Mo-Fr 09:00-17:00; Sa 09:00-12:00" }
                var amenities = ["water", "charging", "seating"]
                for extra in Self.extras where r.next() < 0.35 { amenities.append(extra) }
                if type == "mother-baby" { amenities = ["water", "seating", "nursing", "toilet"] }
                if type == "reading-room" || type == "workers-home" { amenities.append("books") }
                let roll = r.next()
                let state: SiteState = roll < 0.02 ? .temporarilyClosed : (roll < 0.03 ? .retired : .open)
                let ratings = Int(r.next() * 12)
                rows.append((street.id ?? 0, type, type == "warm-station" ? host.0 : (type == "mother-baby" ? .publicSpace : .unionPremises),
                             hostName, "\(brand)\(area)\(n % 7 == 0 ? "" : "\(n / 7 + 1)")\(suffix)", "\(district.name)\(area)\(Int(r.next() * 300) + 1)号",
                             Self.point(in: place, all: places, &r), hours, state, today.adding(days: -Int(r.next() * 150)).description,
                             amenities, ratings, ratings * 3 + Int(r.next() * Double(ratings * 2 + 1)), Int(r.next() * 400)))
            }
        }
        let batch = 400
        for start in stride(from: 0, to: rows.count, by: batch) {
            let chunk = Array(rows[start..<min(start + batch, rows.count)])
            try await db.transaction { tx in
                let before = try await tx.sql.raw("SELECT COALESCE(MAX(id), 0) AS m FROM sites").first()?.decode(column: "m", as: Int.self) ?? 0
                var insert = tx.sql.insert(into: Site.schema).columns(
                    "type_code", "name", "host_kind", "host_name", "org_id", "address", "lat", "lng", "hours", "phone", "open_to_non_members",
                    "step_free", "state", "verified_on", "rating_count", "rating_sum", "use_count", "created_at", "updated_at")
                for (k, s) in chunk.enumerated() {
                    insert = insert.values(
                        SQLBind(s.type), SQLBind(s.name), SQLBind(s.host.rawValue), SQLBind(s.hostName), SQLBind(s.org), SQLBind(s.address),
                        SQLBind(s.p.lat), SQLBind(s.p.lng), SQLBind(s.hours), SQLBind("010-6\(String(format: "%07d", (start + k) * 7919 % 10_000_000))"),
                        SQLBind(s.type != "child-care"), SQLBind((start + k) % 3 == 0), SQLBind(s.state.rawValue), SQLBind(s.verified),
                        SQLBind(s.ratings), SQLBind(s.ratingSum), SQLBind(s.uses), SQLBind(now), SQLBind(now))
                }
                try await insert.run()
                let ids = try await tx.sql.raw("SELECT id FROM sites WHERE id > \(bind: before) ORDER BY id").all().map { try $0.decode(column: "id", as: Int.self) }
                var amenityInsert = tx.sql.insert(into: SiteAmenity.schema).columns("site_id", "amenity_code")
                for (k, s) in chunk.enumerated() where k < ids.count {
                    for a in s.amenities { amenityInsert = amenityInsert.values(SQLBind(ids[k]), SQLBind(a)) }
                }
                try await amenityInsert.run()
                // The months behind the counts: uses spread over the last year, ratings with a few comments.
                var useInsert = tx.sql.insert(into: SiteUse.schema).columns("site_id", "at")
                var ratingInsert = tx.sql.insert(into: SiteRating.schema).columns("site_id", "stars", "comment", "at")
                var ratingRows = 0
                for (k, s) in chunk.enumerated() where k < ids.count {
                    for u in 0..<min(s.uses, 12) {
                        useInsert = useInsert.values(SQLBind(ids[k]), SQLBind(now.addingTimeInterval(-Double((u * 31 + k) % 360) * 86_400 - Double(u * 3671 % 40_000))))
                    }
                    for q in 0..<s.ratings {
                        let stars = min(5, max(1, (s.ratingSum / max(1, s.ratings)) + (q % 3 == 0 ? 1 : 0) - (q % 5 == 0 ? 1 : 0)))
                        ratingInsert = ratingInsert.values(SQLBind(ids[k]), SQLBind(stars),
                                                           SQLBind(q % 4 == 0 ? ["热水很方便，店员很热情", "冬天进来暖和一下，谢谢", "充电很方便", "位置好找"][q % 16 / 4] : nil as String?),
                                                           SQLBind(now.addingTimeInterval(-Double((q * 47 + k) % 300) * 86_400)))
                        ratingRows += 1
                    }
                }
                try await useInsert.run()
                if ratingRows > 0 { try await ratingInsert.run() }
            }
        }
        // Keep the counts equal to the rows behind them where the rows were made.
        try await db.sql.raw("UPDATE sites SET rating_count = (SELECT COUNT(*) FROM site_ratings r WHERE r.site_id = sites.id), rating_sum = (SELECT COALESCE(SUM(stars), 0) FROM site_ratings r WHERE r.site_id = sites.id)").run()
        progress(String(format: "seeded %d service sites in %.1f s", rows.count, Date().timeIntervalSince(started)))
        return true
    }

    /// The demo's walk-through: stations around 建外/国贸 kept by the 建外 community (the demo's station keeper).
    func seedJianwai(now: Date = Date()) async throws {
        var node = try await Organization.query(on: db).filter(\.$kind == .community).filter(\.$name ~~ "建外").first()
        if node == nil { node = try await Organization.query(on: db).filter(\.$kind == .street).filter(\.$name ~~ "建外").first() }
        guard let keeperNode = node else { return }
        let spots: [(String, String, HostKind, String, Double, Double, String, [String])] = [
            ("建外SOHO好邻居暖心驿站", "warm-station", .convenienceStore, "好邻居便利店（建外SOHO店）", 39.9054, 116.4592, "24/7", ["water", "microwave", "charging", "seating", "toilet", "umbrella"]),
            ("国贸工商银行暖心驿站", "warm-station", .bankBranch, "中国工商银行国贸支行", 39.9087, 116.4565, "Mo-Fr 09:00-17:00; Sa-Su 09:30-16:00", ["water", "charging", "seating", "wifi", "bp-meter", "first-aid"]),
            ("光华路中石化暖心驿站", "warm-station", .petrolStation, "中国石化光华路加油站", 39.9142, 116.4598, "24/7", ["water", "microwave", "charging", "toilet", "tyre-pump"]),
            ("建外街道职工之家", "workers-home", .unionPremises, "建外街道总工会", 39.9068, 116.4503, "Mo-Fr 08:30-17:30", ["water", "seating", "books", "wifi", "toilet"]),
            ("国贸商城母婴关爱室", "mother-baby", .publicSpace, "国贸商城", 39.9093, 116.4614, "Mo-Su 10:00-22:00", ["nursing", "water", "seating", "toilet"]),
            ("永安里链家暖心驿站", "warm-station", .estateAgency, "链家（永安里店）", 39.9071, 116.4490, "Mo-Su 09:00-21:00", ["water", "charging", "seating", "sewing-kit", "umbrella"]),
        ]
        for (i, s) in spots.enumerated() {
            let site = Site()
            site.name = s.0
            site.typeCode = s.1
            site.hostKind = s.2
            site.hostName = s.3
            site.orgID = try keeperNode.requireID()
            site.address = "朝阳区建国门外大街\(i * 3 + 1)号"
            let w = GeoPoint(lat: s.4, lng: s.5).wgs84(from: .gcj02)
            (site.lat, site.lng) = (w.lat, w.lng)
            site.hours = s.6
            site.phone = "010-6568\(1000 + i * 37)"
            site.openToNonMembers = true
            site.stepFree = i % 2 == 0
            site.state = .open
            site.verifiedOn = ShanghaiClock.today(now).adding(days: -(i * 40)).description
            site.ratingCount = 0
            site.ratingSum = 0
            site.useCount = 0
            try await site.create(on: db)
            for a in s.7 { try await SiteAmenity(siteID: site.requireID(), code: a).create(on: db) }
        }
    }
}
