import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Generated members for the demo and the scale runs: valid, distinct ID numbers (Beijing address
/// codes, births 1965–2005), mobile numbers, employers named after their unions, encrypted and
/// indexed exactly as real ones are. Also a few pending applications for the booth screen.
struct MemberSeeder {
    let db: any Database
    let cipher: FieldCipher
    let cardPrefix: String
    let progress: @Sendable (String) -> Void

    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
    static let given = Array("伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国海燕春梅晨宇浩然欣怡子涵思雨佳琪俊杰文博雪梅志强")
    static let areas = ["110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
                        "110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119"]
    static let dayCount = 14_975 // 1965-01-01 … 2005-12-31

    /// YYYYMMDD for each day from 1965-01-01, worked out once.
    static let birthDates: [String] = {
        var dates: [String] = []
        dates.reserveCapacity(dayCount)
        var (year, month, day) = (1965, 1, 1)
        while dates.count < dayCount {
            dates.append(pad(year, 4) + pad(month, 2) + pad(day, 2))
            day += 1
            if day > CalendarDate.daysIn(month: month, year: year) { day = 1; month += 1 }
            if month > 12 { month = 1; year += 1 }
        }
        return dates
    }()

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// The n-th generated person: distinct for n < 239 million.
    static func person(_ n: Int) -> (name: String, id: String, phone: String) {
        let area = areas[n % areas.count]
        // k → k·7919 mod (days × 1000) is a bijection (7919 is prime and divides neither), so people
        // are spread over every birth date and both sexes while staying distinct.
        let span = dayCount * 1000
        let k = ((n / areas.count) % span) &* 7919 % span
        let day = k % dayCount
        let seq = k / dayCount
        let birth = birthDates[day]
        let body = area + birth + pad(seq, 3)
        let id = body + String(ResidentID.checkCharacter(for: body)!)
        let name = String(surnames[n % surnames.count]) + String(given[(n / 7) % given.count])
            + (n % 3 == 0 ? "" : String(given[(n / 131) % given.count]))
        let phone = "1" + ["3", "5", "7", "8", "9"][n % 5] + pad((n &* 7_919) % 1_000_000_000, 9)
        return (name, id, phone)
    }

    /// `count` members spread round-robin over every grassroots union.
    func seed(count: Int) async throws {
        guard count > 0 else { return }
        let unions = try await Organization.query(on: db).filter(\.$kind ~~ OrgKind.grassrootsKinds)
            .sort(\.$id).all()
        guard !unions.isEmpty else { return }
        let offset = try await Member.query(on: db).count()
        let started = Date()
        // SQLite: a connection of its own with one prepared INSERT, as a roster import writes.
        let writer = try await SQLiteMemberWriter.open(for: db, source: "import", cardPrefix: cardPrefix)
        let batch = 100_000
        var lastShown = -1
        for start in stride(from: 0, to: count, by: batch) {
            var rows: [MemberBulk.Row] = []
            rows.reserveCapacity(batch)
            for n in start..<min(start + batch, count) {
                let p = Self.person(n + offset)
                let union = unions[n % unions.count]
                let birth = String(p.id.dropFirst(6).prefix(8))
                let joinedYear = 2010 + n % 15
                rows.append(MemberBulk.Row(orgID: union.id!, name: p.name, sealed: try cipher.seal(p.id), index: cipher.blindIndex(p.id),
                                           sex: Int(String(p.id.dropFirst(16).prefix(1)))! % 2 == 1 ? "M" : "F",
                                           birth: "\(birth.prefix(4))-\(birth.dropFirst(4).prefix(2))-\(birth.suffix(2))", phone: p.phone,
                                           employer: union.name.replacingOccurrences(of: "工会", with: ""), creditCode: union.creditCode,
                                           joined: String(format: "%04d-%02d-%02d", joinedYear, 1 + n % 12, 1 + n % 28)))
            }
            if let writer {
                try await writer.write(rows)
            } else {
                let ready = rows
                _ = try await db.transaction { tx in
                    try await MemberBulk.insert(ready, source: "import", cardPrefix: cardPrefix, on: tx)
                }
            }
            let done = min(start + batch, count)
            let percent = done * 100 / count
            if percent / 10 != lastShown / 10 || done == count {
                lastShown = percent
                progress("members: \(done) / \(count) (\(percent)%)")
            }
        }
        let seconds = Date().timeIntervalSince(started)
        progress(String(format: "seeded %d members in %.1f s (%.0f rows/s)", count, seconds, Double(count) / max(seconds, 0.001)))
    }

    /// A handful of pending applications at the given street, as if workers had just applied at its booth.
    func pendingApplications(at street: Organization, count: Int, meetingID: Int? = nil) async throws {
        let base = 230_000_000
        for n in 0..<count {
            let p = Self.person(base + n)
            let application = MemberApplication()
            application.orgID = street.id!
            application.name = p.name
            application.idCipher = try cipher.seal(p.id)
            application.idIndex = cipher.blindIndex(p.id)
            let parsed = try ResidentID(parsing: p.id, today: ShanghaiClock.today(), minimumAge: 0)
            application.sex = parsed.sex.rawValue
            application.birthDate = parsed.birthDate.description
            application.phone = p.phone
            application.employerName = ["顺丰速运北京分公司", "美团配送建外站", "国贸物业管理有限公司", "京东物流朝阳营业部"][n % 4]
            application.status = .pending
            application.meetingID = meetingID
            try await application.create(on: db)
        }
    }
}

extension Seeder.Scale {
    /// Members for the scale: the demo's few thousand, or Beijing's 6.21 million.
    var members: Int {
        switch self {
        case .demo: 3_000
        case .city: 200_000
        case .beijing: 6_210_000
        }
    }
}
