import Foundation
import Testing
@testable import GonghuiCore

@Suite struct GeoTests {
    /// Reference pairs published with the widely used eviltransform library (WGS-84 → GCJ-02).
    static let pairs: [(Double, Double, Double, Double)] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215), // Shanghai
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363), // Shenzhen
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657), // Beijing
    ]

    @Test func gcj02MatchesTheReferenceAndTheInverseComesBack() {
        for (wLat, wLng, gLat, gLng) in Self.pairs {
            let g = GCJ02.fromWGS84(GeoPoint(lat: wLat, lng: wLng))
            #expect(abs(g.lat - gLat) < 1e-9 && abs(g.lng - gLng) < 1e-9, "\(g)")
            let w = GCJ02.toWGS84(GeoPoint(lat: gLat, lng: gLng))
            // The iterative inverse lands within a millimetre of the original.
            #expect(w.distance(to: GeoPoint(lat: wLat, lng: wLng)) < 0.001)
        }
        // The offset in Beijing is several hundred metres, which is why the system must be named.
        let tiananmen = GeoPoint(lat: 39.9087, lng: 116.3975)
        let offset = tiananmen.distance(to: tiananmen.converted(to: .gcj02))
        #expect(offset > 300 && offset < 800)
        // Outside China nothing moves.
        let london = GeoPoint(lat: 51.5, lng: -0.12)
        #expect(london.converted(to: .gcj02) == london)
        #expect(GeoPoint(lat: 39.9, lng: 116.4).wgs84(from: .wgs84) == GeoPoint(lat: 39.9, lng: 116.4))
    }

    @Test func distancesAndRanges() throws {
        // One degree of latitude is about 111.2 km on the mean sphere.
        let d = GeoPoint(lat: 39, lng: 116).distance(to: GeoPoint(lat: 40, lng: 116))
        #expect(abs(d - 111_195) < 10)
        // 天安门 to 国贸: about 4.9 km east along Chang'an Avenue.
        let guomao = GeoPoint(lat: 39.9087, lng: 116.4552)
        #expect(abs(GeoPoint(lat: 39.9087, lng: 116.3975).distance(to: guomao) - 4_925) < 30)
        #expect(throws: GeoPoint.RangeError.latitude) { try GeoPoint(checkingLat: 91, lng: 116) }
        #expect(throws: GeoPoint.RangeError.longitude) { try GeoPoint(checkingLat: 39, lng: 181) }
        #expect(throws: GeoPoint.RangeError.latitude) { try GeoPoint(checkingLat: .nan, lng: 116) }
    }
}

@Suite struct OpeningHoursTests {
    @Test func chineseAndOSMTextsParseToTheSameWeek() throws {
        let a = try WeeklyHours(parsing: "周一至周五 08:00-20:00；周六、周日 09:00-17:00")
        let b = try WeeklyHours(parsing: "Mo-Fr 08:00-20:00; Sa,Su 09:00-17:00")
        let c = try WeeklyHours(parsing: "周一至五 8:00－20:00\n周末 ０９：００-17:00")
        #expect(a == b && b == c)
        #expect(a.text == "Mo-Fr 08:00-20:00; Sa-Su 09:00-17:00")
        #expect(try WeeklyHours(parsing: a.text) == a)
        #expect(try WeeklyHours(parsing: "24小时").isAlwaysOpen)
        #expect(try WeeklyHours(parsing: "每天 00:00-24:00").text == "24/7")
        let lunch = try WeeklyHours(parsing: "Mo-Su 09:00-12:00,13:00-17:00; 周日 休息")
        #expect(lunch.days[0] == [DayInterval(open: 540, close: 720), DayInterval(open: 780, close: 1020)])
        #expect(lunch.days[6].isEmpty)
        #expect(lunch.text == "Mo-Sa 09:00-12:00,13:00-17:00")
        #expect(try WeeklyHours(parsing: lunch.text) == lunch)
        #expect(try WeeklyHours(parsing: "").isEmpty)
        // A week with a wrap-around range: Friday to Monday.
        #expect(try WeeklyHours(parsing: "Fr-Mo 10:00-14:00").days.map(\.isEmpty) == [false, true, true, true, false, false, false])
    }

    @Test func badHoursNameTheProblem() {
        #expect(throws: WeeklyHours.ParseError.endBeforeStart("22:00-06:00")) { try WeeklyHours(parsing: "每天 22:00-06:00") }
        #expect(throws: WeeklyHours.ParseError.endBeforeStart("09:00-09:00")) { try WeeklyHours(parsing: "Mo 09:00-09:00") }
        #expect(throws: WeeklyHours.ParseError.overlap(day: 0, "11:00-14:00")) { try WeeklyHours(parsing: "Mo 08:00-12:00,11:00-14:00") }
        #expect(throws: WeeklyHours.ParseError.overlap(day: 4, "18:00-22:00")) { try WeeklyHours(parsing: "Mo-Fr 08:00-20:00; Fr 18:00-22:00") }
        #expect(throws: WeeklyHours.ParseError.time("25:00")) { try WeeklyHours(parsing: "Mo 08:00-25:00") }
        #expect(throws: WeeklyHours.ParseError.format("周八 08:00-20:00")) { try WeeklyHours(parsing: "周八 08:00-20:00") }
        #expect(throws: WeeklyHours.ParseError.format("早上八点")) { try WeeklyHours(parsing: "早上八点") }
    }

    /// 2026-11-23 is a Monday; 00:00 that day in Asia/Shanghai is 2026-11-22T16:00Z.
    static let mondayMidnight = 20_780.0 * 86_400 - 8 * 3600

    @Test func openNowReadsShanghaiTimeAndExceptions() throws {
        #expect(try CalendarDate(parsing: "2026-11-23").dayNumber == 20_780)
        let monday = Self.mondayMidnight
        let weekly = try WeeklyHours(parsing: "Mo-Fr 08:00-20:00; Sa 10:00-14:00")
        let plain = SiteSchedule(weekly: weekly)
        #expect(!plain.isOpen(atEpoch: monday + 7.99 * 3600))
        #expect(plain.isOpen(atEpoch: monday + 8 * 3600))
        #expect(plain.isOpen(atEpoch: monday + 19.99 * 3600))
        #expect(!plain.isOpen(atEpoch: monday + 20 * 3600))
        #expect(!plain.isOpen(atEpoch: monday + 6 * 86_400 + 12 * 3600)) // Sunday
        // The first Monday is a holiday (closed); the Tuesday has short hours.
        let holiday = HoursException(from: try CalendarDate(parsing: "2026-11-23"), to: try CalendarDate(parsing: "2026-11-23"), openings: [])
        let short = HoursException(from: try CalendarDate(parsing: "2026-11-24"), to: try CalendarDate(parsing: "2026-11-24"),
                                   openings: [DayInterval(open: 600, close: 720)])
        let bent = SiteSchedule(weekly: weekly, exceptions: [holiday, short])
        #expect(!bent.isOpen(atEpoch: monday + 12 * 3600))
        #expect(!bent.isOpen(atEpoch: monday + 86_400 + 9 * 3600))
        #expect(bent.isOpen(atEpoch: monday + 86_400 + 11 * 3600))
        // What changes next: open until 20:00; closed, opens Tuesday 10:00 (the exception).
        #expect(plain.nextChange(atEpoch: monday + 9 * 3600)! == (false, 20_780, 1200))
        #expect(bent.nextChange(atEpoch: monday + 9 * 3600)! == (true, 20_781, 600))
        #expect(plain.nextChange(atEpoch: monday + 4 * 86_400 + 21 * 3600)! == (true, 20_785, 600)) // Friday night → Saturday 10:00
        #expect(SiteSchedule(weekly: .alwaysOpen).nextChange(atEpoch: monday) == nil)
        let night = SiteSchedule(weekly: try WeeklyHours(parsing: "Mo 20:00-24:00; Tu 00:00-06:00"))
        #expect(night.nextChange(atEpoch: monday + 22 * 3600)! == (false, 20_781, 360))
    }

    @Test func localTimeIsUTCPlusEight() {
        // 2026-11-22T16:30Z is 00:30 on Monday the 23rd in Beijing.
        let (day, minute) = SiteSchedule.local(Self.mondayMidnight + 1800)
        #expect(day == 20_780 && minute == 30)
        #expect(SiteRules.isStale(verifiedOn: CalendarDate(dayNumber: 100), today: CalendarDate(dayNumber: 191)))
        #expect(!SiteRules.isStale(verifiedOn: CalendarDate(dayNumber: 101), today: CalendarDate(dayNumber: 191)))
        #expect(SiteRules.isCode("warm-station") && !SiteRules.isCode("Warm") && !SiteRules.isCode("1abc") && !SiteRules.isCode("a b"))
    }
}

@Suite struct NearbyIndexTests {
    /// A grid of sites around 国贸 every ~100 m, with brute force as the judge.
    @Test func theNearestAreTheNearestAndFiltersHold() throws {
        let weekdays = SiteSchedule(weekly: try WeeklyHours(parsing: "Mo-Fr 08:00-20:00"))
        var entries: [NearbyIndex.Entry] = []
        var n = 0
        for a in 0..<40 {
            for b in 0..<40 {
                n += 1
                let p = GeoPoint(lat: 39.88 + Double(a) * 0.0009 + Double(n % 7) * 0.00001, lng: 116.43 + Double(b) * 0.0012)
                entries.append(.init(id: n, point: p, type: n % 3 == 0 ? "home" : "warm", amenities: n % 2 == 0 ? ["water", "microwave"] : ["water"],
                                     schedule: n % 5 == 0 ? SiteSchedule(weekly: .alwaysOpen) : weekdays, closed: n % 11 == 0))
            }
        }
        let index = NearbyIndex(entries)
        let origin = GeoPoint(lat: 39.8963, lng: 116.4512)
        let sunday = OpeningHoursTests.mondayMidnight - 12 * 3600
        for (type, amenities, openNow) in [(nil, [String](), false), ("home", [], false), (nil, ["microwave"], true), ("warm", ["water", "microwave"], true)] {
            let q = NearbyIndex.Query(origin: origin, limit: 10, type: type, amenities: amenities, openNow: openNow, now: sunday)
            let hits = index.nearest(q)
            func passes(_ e: NearbyIndex.Entry) -> Bool {
                if let type, e.type != type { return false }
                if !amenities.allSatisfy({ e.amenities.contains($0) }) { return false }
                return !openNow || (!e.closed && e.schedule.isOpen(atEpoch: sunday))
            }
            var ranked: [(Int, Double)] = []
            for (i, e) in entries.enumerated() where passes(e) { ranked.append((i, origin.distance(to: e.point))) }
            ranked.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            let expected: [Int] = ranked.prefix(10).map { $0.0 }
            #expect(hits.map { $0.index } == expected)
            #expect(hits.count == 10)
            if openNow { #expect(hits.allSatisfy { $0.openNow && entries[$0.index].id % 5 == 0 }) }
        }
        // Asked from far outside the grid (Shanghai), the search falls back to one pass and agrees with brute force.
        let shanghai = GeoPoint(lat: 31.23, lng: 121.47)
        let far = index.nearest(.init(origin: shanghai, limit: 5, now: sunday)).map(\.index)
        let farExpected = entries.indices.sorted {
            let a = shanghai.distance(to: entries[$0].point), b = shanghai.distance(to: entries[$1].point)
            return a < b || (a == b && $0 < $1)
        }.prefix(5)
        #expect(far == Array(farExpected))
        // A radius keeps only what is inside it.
        let near = index.nearest(.init(origin: origin, limit: 50, radius: 150, now: sunday))
        #expect(!near.isEmpty && near.allSatisfy { $0.distance <= 150 })
        #expect(near.count == entries.filter { origin.distance(to: $0.point) <= 150 }.count)
        // Unknown type or amenity: nothing, not everything.
        #expect(index.nearest(.init(origin: origin, type: "nope", now: sunday)).isEmpty)
        #expect(index.nearest(.init(origin: origin, amenities: ["nope"], now: sunday)).isEmpty)
        #expect(NearbyIndex([]).nearest(.init(origin: origin, now: sunday)).isEmpty)
    }
}
