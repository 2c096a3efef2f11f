import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// Appeals for the demo and the benchmarks, in the seeds' proportions: most about wages and
/// contracts, most by the hotline, nearly all resolved on time (Beijing: 98.11 %) and rated
/// satisfied (97.07 %), the open ones spread over every state, some overdue and supervised.
struct AppealSeeder {
    let db: any Database
    let progress: @Sendable (String) -> Void

    static let subjects = ["unpaidWages", "unpaidWages", "unpaidWages", "unpaidWages", "unpaidWages", "unpaidWages", "unpaidWages",
                           "labourContract", "labourContract", "labourContract", "socialInsurance", "socialInsurance", "workInjury", "dismissal",
                           "dismissal", "hoursAndLeave", "safety", "membership", "assistance", "legalAid"]
    static let channels: [AppealChannel] = [.hotline, .hotline, .hotline, .hotline, .hotline, .hotline, .app, .app, .web, .walkIn]
    static let texts = ["公司拖欠两个月工资，多次催要未果", "到期不续签劳动合同也不给经济补偿", "单位没有给缴纳社会保险", "工作中受伤，单位不给申报工伤",
                        "被无故辞退", "长期加班没有加班费", "工地防护措施不到位", "想了解怎样加入工会", "家庭困难，希望申请帮扶", "需要法律援助"]

    /// `count` appeals received over the last `days` days, into the streets and their unions.
    /// `focus`: a street that gets one appeal in six (the demo's 建外, so its queue has some of each state).
    func seed(count: Int, days: Int, focus: Int? = nil, now: Date = Date()) async throws -> Bool {
        if try await Appeal.query(on: db).count() > 0 { return false }
        let streets = try await Organization.query(on: db).filter(\.$kind == .street).sort(\.$id).all()
        guard !streets.isEmpty else { return false }
        let started = Date()
        let unions = try await (db as! any SQLDatabase).raw("SELECT id, parent_id FROM organizations WHERE kind IN ('enterprise', 'community', 'building') AND id % 7 = 0 LIMIT 20000")
            .all().map { (try $0.decode(column: "id", as: Int.self), try $0.decode(column: "parent_id", as: Int.self)) }
        let calendar = try await AppealService.calendar(on: db)
        var days0: [AppealTier: Int] = [:]
        for t in AppealTier.allCases { days0[t] = try await AppealService.workingDays(t, on: db) }
        let tierDays = days0
        let tiers = Dictionary(uniqueKeysWithValues: try await AppealSubject.query(on: db).all().map { ($0.id ?? "", $0.tier) })
        var parents: [Int: Int] = [:]
        for s in streets { parents[s.id ?? 0] = s.parentID }
        for (u, p) in unions { parents[u] = p }
        let parent = parents
        var r = SiteSeeder.Stream(state: 12351)
        var serials: [Int: Int] = [:]
        let batch = 500
        var done = 0
        while done < count {
            let n = min(batch * 10, count - done)
            let (r0, serials0, done0) = (r, serials, done)
            (r, serials) = try await db.transaction { tx -> (SiteSeeder.Stream, [Int: Int]) in
                var r = r0, serials = serials0
                let done = done0
                let sql = tx as! any SQLDatabase
                var offset = 0
                while offset < n {
                    let m = min(batch, n - offset)
                    let before = try await sql.raw("SELECT COALESCE(MAX(id), 0) AS m FROM appeals").first()?.decode(column: "m", as: Int.self) ?? 0
                    var insert = sql.insert(into: Appeal.schema).columns(
                        "tracking_number", "channel", "category", "subject_code", "anonymous", "name", "phone", "employer_name", "workplace_org_id",
                        "description", "people_affected", "amount_fen", "urgency", "tier", "org_id", "supervisor_org_id", "state", "received_at", "received_on",
                        "due_at", "resolved_at", "closed_at", "outcome", "recovered_fen", "on_time", "rating", "reopen_count", "updated_at")
                    var events: [(Int, String, Date, Int?, Int?)] = []
                    for k in 0..<m {
                        let i = done + offset + k
                        let received = now.addingTimeInterval(-r.next() * Double(days) * 86_400)
                        let day = ShanghaiClock.today(received)
                        serials[day.dayNumber, default: 0] += 1
                        let subject = Self.subjects[Int(r.next() * Double(Self.subjects.count))]
                        let tier = tiers[subject] ?? .general
                        let due = Date(timeIntervalSince1970: calendar.deadline(afterEpoch: received.timeIntervalSince1970, workingDays: tierDays[tier] ?? 5))
                        let street = (i % 6 == 0 ? streets.first { $0.id == focus } : nil) ?? streets[Int(r.next() * Double(streets.count))]
                        let useUnion = !unions.isEmpty && r.next() < 0.3
                        let org = useUnion ? unions[Int(r.next() * Double(unions.count))].0 : street.id!
                        let age = now.timeIntervalSince(received) / 86_400
                        // Older appeals are mostly closed; recent ones are in every state.
                        let roll = r.next()
                        let state: AppealState = age > 25 ? (roll < 0.96 ? .closed : roll < 0.985 ? .resolved : .inProgress)
                            : [.received, .accepted, .inProgress, .inProgress, .waiting, .resolved, .resolved, .closed, .closed, .reopened][Int(roll * 10)]
                        let resolvedAt: Date? = [.resolved, .closed].contains(state) ? min(now, received.addingTimeInterval((0.5 + r.next() * 6) * 86_400)) : nil
                        let onTime = resolvedAt.map { $0 <= due || r.next() < 0.98 }
                        let rating: Int? = state == .closed && r.next() < 0.8 ? (r.next() < 0.97 ? 4 + Int(r.next() * 2) : 1 + Int(r.next() * 3)) : nil
                        let amount = subject == "unpaidWages" ? Int(r.next() * 5_000_000) : 0
                        let overdue = state.clockRuns && due < now
                        let name = MemberSeeder.person(300_000_000 + i)
                        insert = insert.values(
                            SQLBind(TrackingNumber.make(day: day, serial: serials[day.dayNumber]!)), SQLBind(Self.channels[i % Self.channels.count].rawValue),
                            SQLBind(i % 20 == 0 ? "consultation" : "request"), SQLBind(subject), SQLBind(false), SQLBind(name.name), SQLBind(name.phone),
                            SQLBind("北京" + String(OutreachSeeder.prefixes[i % OutreachSeeder.prefixes.count]) + "达物流有限公司"), SQLBind(street.id!),
                            SQLBind(Self.texts[i % Self.texts.count]), SQLBind(1 + Int(r.next() * 3) * (i % 9 == 0 ? 10 : 1)), SQLBind(amount),
                            SQLBind(i % 25 == 0 ? "urgent" : "normal"), SQLBind(tier.rawValue), SQLBind(org), SQLBind(overdue ? parent[org] : nil),
                            SQLBind(state.rawValue), SQLBind(received), SQLBind(day.description), SQLBind(due), SQLBind(resolvedAt),
                            SQLBind(state == .closed ? resolvedAt.map { min(now, $0.addingTimeInterval(2 * 86_400)) } : nil),
                            SQLBind(resolvedAt == nil ? nil : ["adviceGiven", "mediated", "mediated", "legalAid", "referredArbitration", "notSubstantiated"][i % 6]),
                            SQLBind(resolvedAt == nil ? 0 : amount * 8 / 10), SQLBind(onTime), SQLBind(rating), SQLBind(state == .reopened ? 1 : 0), SQLBind(now))
                        events.append((k, "received", received, nil, org))
                        if state != .received { events.append((k, "accept", received.addingTimeInterval(3600), nil, nil)) }
                        if let resolvedAt { events.append((k, "resolve", resolvedAt, nil, nil)) }
                        if overdue, let p = parent[org] { events.append((k, "escalate", due.addingTimeInterval(60), org, p)) }
                    }
                    try await insert.run()
                    let ids = try await sql.raw("SELECT id FROM appeals WHERE id > \(bind: before) ORDER BY id").all().map { try $0.decode(column: "id", as: Int.self) }
                    var eventInsert = sql.insert(into: AppealEvent.schema).columns("appeal_id", "kind", "from_org_id", "to_org_id", "text", "internal", "at")
                    for (k, kind, at, from, to) in events where k < ids.count {
                        eventInsert = eventInsert.values(SQLBind(ids[k]), SQLBind(kind), SQLBind(from), SQLBind(to),
                                                         SQLBind(kind == "resolve" ? "已与企业沟通，问题已解决。" : nil as String?), SQLBind(kind == "escalate"), SQLBind(at))
                    }
                    try await eventInsert.run()
                    offset += m
                }
                return (r, serials)
            }
            done += n
            progress("appeals: \(done) / \(count)")
        }
        try await AppealTallies.rebuild(on: db)
        progress(String(format: "seeded %d appeals in %.1f s", count, Date().timeIntervalSince(started)))
        return true
    }
}
