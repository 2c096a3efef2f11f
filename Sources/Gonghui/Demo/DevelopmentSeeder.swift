import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// 建功立业 for the demo and `seed`: a registry of past awards (model workers every five years,
/// capital medals every year, the craftsmen), this year's capital-medal campaign standing in public
/// notice with one objection open, the 北京工匠 pool, innovation studios at every level (the
/// craftsmen's with their grants paid through the funds ledger), and two contests: one published
/// with its ranking and medals, one open for registration (at Beijing scale, 50,000 registrations).
struct DevelopmentSeeder {
    let db: any Database
    let progress: @Sendable (String) -> Void

    struct Scale: Sendable {
        var modelWorkers: Int
        var medalsPerYear: Int
        var studios: Int
        var contestRegistrations: Int

        static let demo = Scale(modelWorkers: 60, medalsPerYear: 20, studios: 40, contestRegistrations: 120)
        static let city = Scale(modelWorkers: 300, medalsPerYear: 60, studios: 800, contestRegistrations: 5_000)
        static let beijing = Scale(modelWorkers: 1_250, medalsPerYear: 300, studios: 5_000, contestRegistrations: 50_000)
    }

    struct Pick {
        let id: Int
        let org: Int
        let name: String
        let employer: String
        let women: Bool
    }

    static let citations = ["扎根生产一线，带头攻克关键工艺难题", "带领班组连续安全生产三千天", "主持技术革新 12 项，年创效益逾千万元",
                            "坚守城市运行保障岗位二十年", "师带徒培养技术骨干 40 余名", "在重大活动服务保障中表现突出"]

    func members(_ n: Int, skip: Int) async throws -> [Pick] {
        let total = try await db.sql.raw("SELECT COUNT(*) AS n FROM members WHERE status = 'active'").first()?.decode(column: "n", as: Int.self) ?? 0
        guard total > 0 else { return [] }
        // coprime with the seeder's hundred surnames, so the picks do not all share one
        var stride = max(1, total / max(1, n * 3))
        while stride > 1 && (stride % 2 == 0 || stride % 5 == 0) { stride += 1 }
        var out: [Pick] = []
        for r in try await db.sql.raw("""
            SELECT id, org_id, name, employer_name, sex FROM members WHERE status = 'active' AND (id % \(unsafeRaw: String(stride))) = \(unsafeRaw: String(skip % stride))
            ORDER BY id LIMIT \(unsafeRaw: String(n))
            """).all() {
            let employer = try r.decode(column: "employer_name", as: String?.self)
            out.append(Pick(id: try r.decode(column: "id", as: Int.self), org: try r.decode(column: "org_id", as: Int.self), name: try r.decode(column: "name", as: String.self),
                            employer: employer ?? "", women: try r.decode(column: "sex", as: String.self) == "F"))
        }
        return out
    }

    func seed(_ scale: Scale) async throws -> Bool {
        if try await HonourCampaign.query(on: db).count() > 0 { return false }
        guard let city = try await Organization.query(on: db).filter(\.$kind == .city).first() else { return false }
        let started = Date()
        let year = ShanghaiClock.today().year
        let cityID = try city.requireID()
        var awards = 0
        // the registry: model workers (2020, 2025), capital medals for five years, craftsmen
        let categories = ["frontLine", "frontLine", "frontLine", "technical", "technical", "managerial"]
        for (code, y, n, skip) in [("modelWorker", 2020, scale.modelWorkers, 1), ("modelWorker", 2025, scale.modelWorkers, 2),
                                   ("capitalMedal", year - 1, scale.medalsPerYear, 3), ("capitalMedal", year - 2, scale.medalsPerYear, 4),
                                   ("capitalMedal", year - 3, scale.medalsPerYear, 5), ("bjCraftsman", year - 1, 10, 6)] {
            let honour = try await HonourCampaigns.honour(code: code, on: db)
            let picks = try await members(n, skip: skip)
            let campaign = HonourCampaign()
            campaign.orgID = cityID
            campaign.honourCode = code
            campaign.title = "\(y)年\(honour?.name ?? code)评选"
            campaign.year = y
            campaign.quota = max(n, picks.count)
            campaign.noticeDays = honour?.noticeDays ?? 7
            campaign.dayRule = honour?.dayRule ?? "calendar"
            campaign.prizeFen = honour?.prizeFen ?? 0
            campaign.state = .closed
            campaign.closedOn = "\(y)-05-01"
            try await campaign.create(on: db)
            let campaignID = try campaign.requireID()
            try await db.transaction { tx in
                let sql = tx as! any SQLDatabase
                for chunk in stride(from: 0, to: picks.count, by: 200) {
                    let part = picks[chunk..<min(picks.count, chunk + 200)]
                    var insert = sql.insert(into: HonourNomination.schema).columns("campaign_id", "org_id", "nominee_kind", "member_id", "name", "employer", "category",
                                                                                   "women", "non_public", "migrant", "new_forms", "citation", "checklist", "state", "created_at")
                    for (i, p) in part.enumerated() {
                        insert = insert.values(SQLBind(campaignID), SQLBind(p.org), SQLBind("person"), SQLBind(p.id), SQLBind(p.name), SQLBind(p.employer),
                                               SQLBind(categories[(chunk + i) % categories.count]), SQLBind(p.women), SQLBind((chunk + i) % 3 == 0),
                                               SQLBind((chunk + i) % 9 == 0), SQLBind((chunk + i) % 17 == 0), SQLBind(Self.citations[(chunk + i) % Self.citations.count]),
                                               SQLBind("credit,tax,safety,discipline"), SQLBind("awarded"), SQLBind(Date()))
                    }
                    try await insert.run()
                }
                try await sql.raw("""
                    INSERT INTO honour_awards (nomination_id, campaign_id, honour_code, honour_name, year, org_id, member_id, name, employer, category, prize_fen, awarded_on, created_at)
                    SELECT id, campaign_id, \(bind: code), \(bind: honour?.name ?? code), \(bind: y), org_id, member_id, name, employer, category, \(bind: campaign.prizeFen),
                           \(bind: "\(y)-04-28"), \(bind: Date()) FROM honour_nominations WHERE campaign_id = \(bind: campaignID)
                    """).run()
            }
            awards += picks.count
        }
        // the craftsman pool: twenty more nominees of the last round who were not named
        if let pool = try await HonourCampaign.query(on: db).filter(\.$honourCode == "bjCraftsman").first() {
            for (i, p) in try await members(20, skip: 7).enumerated() {
                try await db.sql.raw("""
                    INSERT INTO honour_nominations (campaign_id, org_id, nominee_kind, member_id, name, employer, category, women, non_public, migrant, new_forms,
                      citation, checklist, state, reason, created_at)
                    VALUES (\(bind: pool.requireID()), \(bind: p.org), 'person', \(bind: p.id), \(bind: p.name), \(bind: p.employer), 'frontLine', \(bind: p.women),
                      \(bind: false), \(bind: false), \(bind: false), \(bind: Self.citations[i % Self.citations.count]), 'credit,tax,safety,discipline', 'rejected', '入围未当选', \(bind: Date()))
                    """).run()
            }
        }
        try await currentCampaign(city: city, year: year)
        let studios = try await studios(scale.studios, city: city, year: year)
        let registrations = try await contests(city: city, registrations: scale.contestRegistrations)
        progress(String(format: "seeded %d honours in the registry, a campaign in notice, %d studios, 2 contests with %d registrations in %.1f s",
                        awards, studios, registrations, Date().timeIntervalSince(started)))
        return true
    }

    /// This year's capital-medal campaign: nominations from every district, reviewed, in notice; one objection open.
    func currentCampaign(city: Organization, year: Int) async throws {
        let c = HonourCampaign()
        c.orgID = try city.requireID()
        c.honourCode = "capitalMedal"
        c.title = "\(year)年首都劳动奖章评选"
        c.year = year
        c.quota = 12
        c.noticeDays = 7
        c.dayRule = "calendar"
        c.prizeFen = 500_000
        c.state = .open
        try await c.create(on: db)
        let fund = try await FundsLedger.fund(kind: "honourPrizes", refID: c.requireID(), year: year, name: c.title, rootOrgID: c.orgID, on: db)
        try await FundsLedger.allocate(fund, to: city, from: nil, fen: 6_000_000, .init(reason: c.title), on: db)
        c.fundID = try fund.requireID()
        try await c.save(on: db)
        for (category, lo, hi) in [("frontLine", 4500, nil), ("technical", 2000, nil), ("managerial", nil, 1000)] as [(String, Int?, Int?)] {
            let r = HonourQuotaRule()
            r.campaignID = try c.requireID()
            r.category = category
            r.minBP = lo
            r.maxBP = hi
            try await r.create(on: db)
        }
        let picks = try await members(14, skip: 8)
        var noms: [HonourNomination] = []
        for (i, p) in picks.enumerated() {
            let n = HonourNomination()
            n.campaignID = try c.requireID()
            n.orgID = p.org
            n.nomineeKind = "person"
            n.memberID = p.id
            n.name = p.name
            n.employer = p.employer
            n.category = i == 6 ? "managerial" : (i % 3 == 2 ? "technical" : "frontLine")
            n.women = p.women
            n.nonPublic = i % 3 == 0
            n.migrant = i % 5 == 0
            n.newForms = i % 7 == 3
            n.citation = Self.citations[i % Self.citations.count]
            n.checklist = "credit,tax,safety,discipline"
            n.state = i < 10 ? .cityReviewed : (i < 12 ? .districtReviewed : .nominated)
            try await n.create(on: db)
            if i < 10 { noms.append(n) }
        }
        let shortlist = noms
        try await db.transaction { tx in try await NominationActions.putInNotice(c, city, shortlist, today: ShanghaiClock.today(), on: tx) }
        if let first = noms.first, let entry = first.noticeEntryID, let notice = c.noticeID {
            _ = try await PublicNotices.object(noticeID: notice, entryID: entry, name: "刘明", phone: "13700137000", text: "反映该同志所在班组去年发生过安全事故，请核实。", on: db)
        }
    }

    func studios(_ n: Int, city: Organization, year: Int) async throws -> Int {
        let leaders = try await members(n, skip: 9)
        guard !leaders.isEmpty else { return 0 }
        let fields = ["数控加工", "特种焊接", "电力运维", "轨道交通信号", "建筑施工", "软件研发", "医疗护理", "餐饮烹饪", "汽车维修", "精密测量"]
        let levels = ["grassroots", "grassroots", "grassroots", "district", "district", "city", "national"]
        let craftsman: [(Int, Int)] = try await db.transaction { tx in
            let sql = tx as! any SQLDatabase
            for chunk in stride(from: 0, to: leaders.count, by: 200) {
                let part = leaders[chunk..<min(leaders.count, chunk + 200)]
                var insert = sql.insert(into: Studio.schema).columns("org_id", "name", "level", "leader_member_id", "leader_name", "field", "premises", "state",
                                                                    "grant_kind", "grant_fen", "grant_years", "named_on", "created_at")
                for (k, p) in part.enumerated() {
                    let i = chunk + k
                    let level = i % 25 == 0 ? "city" : levels[i % levels.count]
                    let kind = i % 25 == 0 ? "craftsman" : (level == "city" ? (i % 2 == 0 ? "cityA" : "cityB") : (level == "district" ? "district" : "none"))
                    let plan = Studio.grantKinds[kind]!
                    let state = i % 10 == 9 ? "applied" : (i % 10 == 8 ? "visited" : "named")
                    insert = insert.values(SQLBind(p.org), SQLBind("\(p.name)\(fields[i % fields.count])创新工作室"), SQLBind(level), SQLBind(p.id), SQLBind(p.name),
                                           SQLBind(fields[i % fields.count]), SQLBind("生产区 \(i % 9 + 1) 号楼"), SQLBind(state), SQLBind(kind), SQLBind(plan.fen),
                                           SQLBind(plan.years), SQLBind(state == "named" ? "\(year - 2 + i % 2)-06-01" : nil as String?), SQLBind(Date()))
                }
                try await insert.run()
            }
            try await sql.raw("""
                INSERT INTO studio_results (studio_id, year, kind, title, created_at)
                SELECT id, \(bind: year - 1), CASE WHEN (id % 3) = 0 THEN 'patent' WHEN (id % 3) = 1 THEN 'innovation' ELSE 'apprentice' END, '年度创新成果', \(bind: Date())
                FROM studios WHERE state = 'named' AND (id % 11) <> 5
                """).run()
            try await sql.raw("""
                INSERT INTO studio_results (studio_id, year, kind, title, created_at)
                SELECT id, \(bind: year - 2), 'innovation', '工艺改进成果', \(bind: Date()) FROM studios WHERE state = 'named' AND named_on < \(bind: "\(year - 1)-01-01")
                """).run()
            return try await sql.raw("SELECT id, named_on FROM studios WHERE grant_kind = 'craftsman' AND state = 'named' ORDER BY id").all().map { r in
                let named = try r.decode(column: "named_on", as: String.self)
                return (try r.decode(column: "id", as: Int.self), Int(named.prefix(4)) ?? year)
            }
        }
        // the craftsmen's grants, paid through the ledger from the city's development budget
        for y in Set(craftsman.map(\.1)).union(craftsman.map { $0.1 + 1 }).sorted() where y <= year {
            let fund = try await DevelopmentFunds.fund(city, year: y, on: db)
            try await FundsLedger.allocate(fund, to: city, from: nil, fen: Int64(craftsman.count) * 10_000_000, .init(reason: "建功立业 \(y) 预算"), on: db)
        }
        for (id, named) in craftsman {
            for y in named...min(year - 1, named + 2) {
                try await db.transaction { tx in
                    let fund = try await DevelopmentFunds.fund(city, year: y, on: tx)
                    let context = FundsLedger.Context(reason: "创新工作室 \(y) 年度资助", ref: "studio:\(id):\(y)")
                    try await FundsLedger.reserve(fund, org: city, fen: 10_000_000, context, on: tx)
                    let entry = try await FundsLedger.pay(fund, orgID: city.requireID(), fen: 10_000_000, context, on: tx)
                    try await (tx as! any SQLDatabase).raw("""
                        INSERT INTO studio_years (studio_id, year, accepted, results, accepted_on, grant_fen, fund_entry_id)
                        VALUES (\(bind: id), \(bind: y), \(bind: y < year - 1 ? true : nil as Bool?), \(bind: y < year - 1 ? 1 : 0), \(bind: y < year - 1 ? "\(y)-12-20" : nil as String?),
                                \(bind: Int64(10_000_000)), \(bind: entry.requireID()))
                        """).run()
                }
            }
        }
        return leaders.count
    }

    /// A district's electricians' contest, published with its medals; the city's welders' contest, open.
    func contests(city: Organization, registrations: Int) async throws -> Int {
        guard let district = try await Organization.query(on: db).filter(\.$kind == .district).sort(\.$id).first() else { return 0 }
        let stages = String(decoding: try JSONEncoder().encode(Contests.defaultStages), as: UTF8.self)
        func make(_ org: Organization, trade: String, level: String, capacity: Int, closes: Date, state: Contest.State, prizes: [Int64]) async throws -> Contest {
            let c = Contest()
            c.orgID = try org.requireID()
            c.name = "\(org.name)\(trade)职业技能竞赛"
            c.trade = trade
            c.level = level
            c.capacity = capacity
            c.registered = 0
            c.registrationClosesAt = closes
            c.stages = stages
            c.state = .open
            c.prizes = String(decoding: try JSONEncoder().encode(prizes), as: UTF8.self)
            c.promoteTop = 10
            c.passMark = 60
            try await c.create(on: db)
            if prizes.reduce(0, +) > 0 {
                let fund = try await FundsLedger.fund(kind: "contestPrizes", refID: c.requireID(), year: ShanghaiClock.today().year, name: c.name, rootOrgID: c.orgID, on: db)
                try await FundsLedger.allocate(fund, to: org, from: nil, fen: prizes.reduce(0, +) * 2, .init(reason: c.name), on: db)
                c.fundID = try fund.requireID()
                try await c.save(on: db)
            }
            return c
        }
        let past = try await make(district, trade: "电工", level: "district", capacity: 200, closes: Date().addingTimeInterval(-30 * 86_400), state: .open, prizes: [300_000, 200_000, 100_000])
        let path = district.treePath
        var entrants: [Pick] = []
        for r in try await db.sql.raw("""
            SELECT m.id, m.org_id, m.name FROM members m JOIN organizations o ON o.id = m.org_id
            WHERE m.status = 'active' AND o.path >= \(bind: path.value) AND o.path < \(bind: path.upperBound) ORDER BY m.id LIMIT 60
            """).all() {
            entrants.append(Pick(id: try r.decode(column: "id", as: Int.self), org: try r.decode(column: "org_id", as: Int.self),
                                 name: try r.decode(column: "name", as: String.self), employer: "", women: false))
        }
        try await register(past, entrants)
        // scores: theory and practice, one tie among the top
        let regs = try await ContestRegistration.query(on: db).filter(\.$contestID == past.requireID()).sort(\.$id).all()
        for (i, r) in regs.enumerated() {
            let theory = i == 2 ? 9000 : 9500 - (i * 37) % 3500, practice = i == 2 ? 9200 : 9300 - (i * 53) % 4000
            try await db.sql.raw("INSERT INTO contest_scores (registration_id, stage, score_cp) VALUES (\(bind: r.requireID()), 'theory', \(bind: i == 1 ? 9000 : theory))").run()
            try await db.sql.raw("INSERT INTO contest_scores (registration_id, stage, score_cp) VALUES (\(bind: r.requireID()), 'practice', \(bind: i == 1 ? 9200 : practice))").run()
        }
        try await db.transaction { tx in
            let ranked = try await Contests.rank(past, on: tx)
            let fund = try await past.fundID.asyncMap { try await Fund.find($0, on: tx) } ?? nil
            for row in ranked {
                row.reg.totalBP = row.total
                row.reg.rank = row.rank
                row.reg.medal = row.medal
                row.reg.promoted = row.promoted
                if let rank = row.rank, rank <= 3, let fund {
                    let prize = past.prizeFen[rank - 1]
                    let context = FundsLedger.Context(reason: "\(past.name) \(row.reg.name)", memberID: row.reg.memberID, ref: "contest:\(past.id ?? 0)")
                    try await FundsLedger.reserve(fund, org: district, fen: prize, context, on: tx)
                    row.reg.fundEntryID = try await FundsLedger.pay(fund, orgID: district.requireID(), fen: prize, context, on: tx).id
                    row.reg.prizeFen = prize
                }
                try await row.reg.save(on: tx)
            }
            past.state = .published
            try await past.save(on: tx)
        }
        let open = try await make(city, trade: "焊工", level: "city", capacity: max(registrations * 5 / 4, 200), closes: Date().addingTimeInterval(21 * 86_400), state: .open,
                                  prizes: [1_000_000, 500_000, 300_000])
        let many = try await members(registrations, skip: 10)
        try await register(open, Array(many.prefix(open.capacity)))
        return regs.count + min(many.count, open.capacity)
    }

    func register(_ c: Contest, _ picks: [Pick]) async throws {
        let id = try c.requireID()
        try await db.transaction { tx in
            let sql = tx as! any SQLDatabase
            for chunk in stride(from: 0, to: picks.count, by: 500) {
                let part = picks[chunk..<min(picks.count, chunk + 500)]
                var insert = sql.insert(into: ContestRegistration.schema).columns("contest_id", "member_id", "org_id", "name", "prize_fen", "promoted", "registered_at")
                for p in part { insert = insert.values(SQLBind(id), SQLBind(p.id), SQLBind(p.org), SQLBind(p.name), SQLBind(Int64(0)), SQLBind(false), SQLBind(Date())) }
                try await insert.run()
            }
            try await sql.raw("UPDATE contests SET registered = (SELECT COUNT(*) FROM contest_registrations WHERE contest_id = \(bind: id)) WHERE id = \(bind: id)").run()
        }
        c.registered = picks.count
    }
}
