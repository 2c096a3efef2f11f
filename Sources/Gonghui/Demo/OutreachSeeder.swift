import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Fills the enterprise ledger and a year of communication meetings, in the seeds' proportions:
/// Beijing's 344,000 legal entities; every street's weekly workers' meeting and every district's
/// monthly day; 0.61 enterprise meetings per workers' meeting, 1.23 firms each; about 23
/// consultations and 41 member records per workers' meeting (31,506 meetings, 714,700
/// consultations, 1,300,900 records, 19,203 enterprise meetings reaching 23,600 firms, to July 2023).
struct OutreachSeeder {
    let db: any Database
    let progress: @Sendable (String) -> Void

    static func enterprises(_ scale: Seeder.Scale) -> Int {
        switch scale {
        case .demo: 900
        case .city: 60_000
        case .beijing: 344_000
        }
    }

    /// Approximate centres of Beijing's districts (WGS-84), for coordinates around them.
    static let centres: [String: (Double, Double)] = [
        "110101": (39.9288, 116.4160), "110102": (39.9122, 116.3660), "110105": (39.9215, 116.4864), "110106": (39.8585, 116.2870),
        "110107": (39.9056, 116.2229), "110108": (39.9593, 116.2981), "110109": (39.9405, 116.1021), "110111": (39.7355, 116.1430),
        "110112": (39.9025, 116.6564), "110113": (40.1301, 116.6545), "110114": (40.2207, 116.2312), "110115": (39.7267, 116.3413),
        "110116": (40.3160, 116.6319), "110117": (40.1407, 117.1213), "110118": (40.3763, 116.8433), "110119": (40.4565, 115.9749),
    ]

    static let prefixes = Array("华金恒鑫盛泰达兴隆瑞通宏昌顺安康明德正信诚博远新创")
    static let trades: [(String, IndustrySection)] = [
        ("物流", .G), ("快递", .G), ("餐饮管理", .H), ("物业管理", .L), ("科技", .I), ("软件", .I), ("建筑工程", .E), ("商贸", .F),
        ("汽车服务", .O), ("家政服务", .O), ("医疗器械", .C), ("食品", .C), ("文化传媒", .R), ("教育咨询", .P), ("保安服务", .L), ("超市", .F),
    ]
    static let statusMix: [UnionStatus] = [.founded, .founded, .founded, .founded, .founded, .standard, .standard, .none, .none, .none,
                                           .contacted, .contacted, .intent, .founding, .founded, .none]
    static let typeMix: [EnterpriseType] = [.privateOwned, .privateOwned, .privateOwned, .privateOwned, .privateOwned, .privateOwned,
                                            .stateOwned, .foreignInvested, .hkMacaoTaiwan, .individualBusiness, .publicInstitution, .socialOrganisation]
    static let places = ["社区文化广场", "商务楼宇大堂", "快递分拣中心门口", "地铁站出口", "园区食堂", "便民服务中心", "商场员工通道", "工地生活区"]

    /// Seeds when the ledger is empty; answers false when there was nothing to do.
    func seed(_ scale: Seeder.Scale, now: Date = Date()) async throws -> Bool {
        if try await Enterprise.query(on: db).count() > 0 { return false }
        let streets = try await Organization.query(on: db).filter(\.$kind == .street).sort(\.$id).all()
        let districts = try await Organization.query(on: db).filter(\.$kind == .district).sort(\.$id).all()
        guard !streets.isEmpty else { return false }
        let started = Date()
        let districtCode = Dictionary(uniqueKeysWithValues: districts.map { ($0.id ?? 0, $0.divisionCode ?? "110105") })
        let total = Self.enterprises(scale)
        var lastShown = -1
        let batch = 500
        for start in stride(from: 0, to: total, by: batch * 20) {
            let end = min(start + batch * 20, total)
            try await db.transaction { tx in
                for chunk in stride(from: start, to: end, by: batch) {
                    var insert = tx.sql.insert(into: Enterprise.schema).columns(
                        "credit_code", "name", "type", "size", "headcount", "industry", "org_id", "address", "lat", "lng", "influence",
                        "relations", "union_status", "contact_name", "contact_phone", "last_contact_at", "created_at", "updated_at")
                    for n in chunk..<min(chunk + batch, total) {
                        let street = streets[n % streets.count]
                        let code = districtCode[street.parentID ?? 0] ?? "110105"
                        let (lat0, lng0) = Self.centres[code] ?? (39.9087, 116.3975)
                        let trade = Self.trades[(n / 7) % Self.trades.count]
                        let name = "北京" + String(Self.prefixes[n % Self.prefixes.count]) + String(Self.prefixes[(n / 29) % Self.prefixes.count])
                            + trade.0 + (n >= 841 ? "\(n / 841 + 1)号" : "") + "有限公司"
                        let headcount = [8, 15, 35, 60, 120, 240, 480, 1500][(n &* 2_654_435_761 >> 7) % 8]
                        let status = Self.statusMix[(n &* 7 + n / 16) % Self.statusMix.count]
                        let daysAgo = Double((n &* 7_919) % 240)
                        let jitter = Double((n &* 104_729) % 2000) / 2000 - 0.5
                        let person = MemberSeeder.person(200_000_000 + n)
                        insert = insert.values(
                            SQLBind(Self.creditCode(n, district: code)), SQLBind(name), SQLBind(Self.typeMix[n % Self.typeMix.count].rawValue),
                            SQLBind(EnterpriseSize(headcount: headcount).rawValue), SQLBind(headcount), SQLBind(trade.1.rawValue), SQLBind(street.id!),
                            SQLBind(street.name.replacingOccurrences(of: "街道总工会", with: "街道").replacingOccurrences(of: "总工会", with: "") + "\(n % 300 + 1)号"),
                            SQLBind(lat0 + jitter * 0.08), SQLBind(lng0 + jitter * 0.1 * (n % 2 == 0 ? 1 : -1)),
                            SQLBind(n % 9 == 0 ? "key" : "ordinary"), SQLBind(n % 23 == 0 ? "atRisk" : (n % 97 == 0 ? "dispute" : "stable")),
                            SQLBind(status.rawValue), SQLBind(person.name), SQLBind(person.phone),
                            SQLBind(now.addingTimeInterval(-daysAgo * 86_400)), SQLBind(now), SQLBind(now))
                    }
                    try await insert.run()
                }
            }
            let percent = end * 100 / total
            if percent / 10 != lastShown / 10 || end == total {
                lastShown = percent
                progress("enterprises: \(end) / \(total) (\(percent)%)")
            }
        }
        try await seedMeetings(streets: streets, districts: districts, now: now)
        progress(String(format: "seeded %d enterprises and a year of meetings in %.1f s", total, Date().timeIntervalSince(started)))
        return true
    }

    /// 52 weeks back from this one: each street's weekly meeting (about one week in twelve missed),
    /// each district's monthly day, and enterprise meetings with their visits.
    private func seedMeetings(streets: [Organization], districts: [Organization], now: Date) async throws {
        let today = ShanghaiClock.today(now)
        let thisWeek = MeetingCalendar.weekStart(of: today)
        // Firms per street, for the visits: one in thirteen (13 shares no factor with any scale's street count).
        var firmsByStreet: [Int: [(Int, String)]] = [:]
        for row in try await db.sql.raw("SELECT id, org_id, union_status FROM enterprises WHERE id % 13 = 0").all() {
            firmsByStreet[try row.decode(column: "org_id", as: Int.self), default: []]
                .append((try row.decode(column: "id", as: Int.self), try row.decode(column: "union_status", as: String.self)))
        }
        var meetings = 0, visits = 0
        let firmLists = firmsByStreet
        for week in 1...52 {
            let monday = thisWeek.adding(days: -7 * week)
            let (m, v) = try await db.transaction { tx -> (Int, Int) in
                var meetings = 0, visits = 0
                var insert = tx.sql.insert(into: Meeting.schema).columns(
                    "kind", "series", "org_id", "starts_at", "held_on", "place", "staff_present", "consultations", "records_collected", "created_at", "updated_at")
                var rows = 0
                var enterpriseMeetings: [(street: Int, day: CalendarDate)] = []
                for (i, street) in streets.enumerated() {
                    let seed = (week &* 31 &+ i &* 17) % 97
                    if seed % 12 != 5 { // about one week in twelve has no meeting
                        let day = monday.adding(days: 1 + seed % 5)
                        insert = insert.values(
                            SQLBind("worker"), SQLBind("weekly"), SQLBind(street.id!), SQLBind(Self.time(day, hour: 14 + seed % 4)), SQLBind(day.description),
                            SQLBind(Self.places[seed % Self.places.count]), SQLBind("李娜、王强"), SQLBind(10 + seed % 26), SQLBind(20 + seed * 7 % 43),
                            SQLBind(now), SQLBind(now))
                        rows += 1
                    }
                    if seed % 100 < 61 { enterpriseMeetings.append((street.id!, monday.adding(days: 1 + (seed + 2) % 5))) }
                }
                if week % 4 == 0 {
                    for (i, district) in districts.enumerated() where week / 4 + i % 3 != 0 {
                        let day = monday.adding(days: 2)
                        insert = insert.values(
                            SQLBind("worker"), SQLBind("districtDay"), SQLBind(district.id!), SQLBind(Self.time(day, hour: 9)), SQLBind(day.description),
                            SQLBind("区职工服务中心"), SQLBind("张伟、刘洋、陈静"), SQLBind(60 + i * 5), SQLBind(120 + i * 9), SQLBind(now), SQLBind(now))
                        rows += 1
                    }
                }
                if rows > 0 { try await insert.run() }
                meetings += rows
                // Enterprise meetings, each with one or two visits.
                for (k, em) in enterpriseMeetings.enumerated() {
                    let firms = firmLists[em.street] ?? []
                    guard !firms.isEmpty else { continue }
                    let meeting = Meeting()
                    meeting.kind = .enterprise
                    meeting.series = .visit
                    meeting.orgID = em.street
                    meeting.startsAt = Self.time(em.day, hour: 10)
                    meeting.heldOn = em.day.description
                    meeting.place = "企业走访"
                    meeting.consultations = 0
                    meeting.recordsCollected = 0
                    try await meeting.create(on: tx)
                    meetings += 1
                    let count = min(k % 4 == 0 ? 2 : 1, firms.count)
                    for j in 0..<count {
                        let firm = firms[(week * 3 + k + j) % firms.count]
                        let visit = MeetingEnterprise()
                        visit.meetingID = meeting.id!
                        visit.enterpriseID = firm.0
                        visit.statusBefore = UnionStatus(rawValue: firm.1) ?? .none
                        visit.outcome = visit.statusBefore.isCovered ? .pending : [VisitOutcome.noInterest, .intent, .pending, .noInterest, .intent][(week + k) % 5]
                        visit.services = "\(1 + (week + k) % 10),\(1 + (week + k + 3) % 10)"
                        try await visit.create(on: tx)
                        visits += 1
                    }
                }
                return (meetings, visits)
            }
            meetings += m
            visits += v
        }
        progress("meetings: \(meetings), enterprise visits: \(visits)")
    }

    /// Today's weekly workers' meeting at a street (the demo's booth).
    func todaysMeeting(at street: Organization, now: Date = Date()) async throws -> Meeting {
        let meeting = Meeting()
        meeting.kind = .worker
        meeting.series = .weekly
        meeting.orgID = try street.requireID()
        let today = ShanghaiClock.today(now)
        meeting.startsAt = Self.time(today, hour: 12)
        meeting.endsAt = Self.time(today, hour: 18)
        meeting.heldOn = today.description
        meeting.title = "建外SOHO职工沟通会"
        meeting.place = "建外SOHO东区中心广场"
        meeting.lat = 39.9075
        meeting.lng = 116.4588
        meeting.staffPresent = "李娜、王强"
        meeting.consultations = 12
        meeting.recordsCollected = 0
        try await meeting.create(on: db)
        return meeting
    }

    static func time(_ day: CalendarDate, hour: Int) -> Date {
        var parts = DateComponents()
        (parts.year, parts.month, parts.day, parts.hour) = (day.year, day.month, day.day, hour)
        return Calendar.shanghai.date(from: parts) ?? Date()
    }

    /// A valid unified social credit code for the n-th seeded firm, never one of the unions'.
    static func creditCode(_ n: Int, district: String) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        var digits = ""
        var value = n
        for _ in 0..<9 { digits = String(alphabet[value % 31]) + digits; value /= 31 }
        let prefix = "9111" + String(district.suffix(2)) + "M" + digits + "Q"
        return String(prefix.prefix(17)) + String(CreditCode.checkCharacter(for: String(prefix.prefix(17)))!)
    }
}
