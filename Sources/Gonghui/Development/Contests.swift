import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

enum Contests {
    static let defaultStages = [ContestStage(code: "theory", name: "理论", weight: 30, maxScore: 100),
                                ContestStage(code: "practice", name: "实操", weight: 70, maxScore: 100)]

    /// `2026-12-31T17:00:00+08:00`, or a day (`2026-12-31`: registration closes at the end of that day, Beijing time).
    static func closingTime(_ raw: String?, _ v: inout Validator) -> Date? {
        guard let raw, !raw.isEmpty else {
            v.add("registrationClosesAt", "required")
            return nil
        }
        if let day = try? CalendarDate(parsing: raw), (2000...2100).contains(day.year) {
            return ShanghaiClock.startOfDay(day.adding(days: 1)).addingTimeInterval(-1)
        }
        let f = ISO8601DateFormatter()
        if raw.count <= 40, let d = f.date(from: raw) { return d }
        v.add("registrationClosesAt", "format", "contest.error.time")
        return nil
    }

    static func create(_ req: Request, _ input: ContestInput) async throws -> Contest {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        var v = Validator()
        let trade = v.text(input.trade, "trade", required: true, max: 60)
        let name = v.text(input.name, "name", required: false, max: 100)
        let level = input.level ?? "grassroots"
        if !Contest.levels.contains(level) { v.add("level", "unknown", "error.field.oneOf", ["values": Contest.levels.joined(separator: ", ")]) }
        if input.capacity == nil { v.add("capacity", "required") }
        else if !(1...1_000_000).contains(input.capacity!) { v.add("capacity", "range", "error.field.range", ["min": "1", "max": "1000000"]) }
        let closes = closingTime(input.registrationClosesAt, &v)
        if let closes, closes < Date() { v.add("registrationClosesAt", "past", "contest.error.past") }
        let stages = input.stages ?? defaultStages
        if stages.isEmpty || stages.count > 6 { v.add("stages", "count", "contest.error.stages") }
        for (i, s) in stages.enumerated() {
            if s.code.isEmpty || s.code.count > 30 || stages.filter({ $0.code == s.code }).count > 1 { v.add("stages[\(i)].code", "format", "contest.error.stageCode") }
            if !(1...100).contains(s.weight) { v.add("stages[\(i)].weight", "range", "error.field.range", ["min": "1", "max": "100"]) }
            if !(1...1000).contains(s.maxScore) { v.add("stages[\(i)].maxScore", "range", "error.field.range", ["min": "1", "max": "1000"]) }
            if s.name.isEmpty || s.name.count > 30 { v.add("stages[\(i)].name", "required") }
        }
        if !stages.isEmpty && stages.reduce(0, { $0 + $1.weight }) != 100 { v.add("stages", "weights", "contest.error.weights") }
        let prizes = [v.yuan(input.goldYuan, "goldYuan", positive: false) ?? 0, v.yuan(input.silverYuan, "silverYuan", positive: false) ?? 0,
                      v.yuan(input.bronzeYuan, "bronzeYuan", positive: false) ?? 0]
        let budget = input.prizeBudgetYuan.map { v.yuan($0, "prizeBudgetYuan", positive: false) ?? 0 } ?? prizes.reduce(0, +) * 2
        let promoteTop = input.promoteTop ?? 10
        if !(0...1000).contains(promoteTop) { v.add("promoteTop", "range", "error.field.range", ["min": "0", "max": "1000"]) }
        let passMark = input.passMark ?? 60
        if !(0...100).contains(passMark) { v.add("passMark", "range", "error.field.range", ["min": "0", "max": "100"]) }
        try v.check()
        let org = try await scope.org(input.orgId ?? scope.rootID, on: req.db)
        return try await req.db.transaction { tx in
            let c = Contest()
            c.orgID = try org.requireID()
            c.trade = trade!
            c.name = name ?? "\(org.name) \(trade!)职业技能竞赛"
            c.level = level
            c.capacity = input.capacity!
            c.registered = 0
            c.registrationClosesAt = closes!
            c.stages = String(decoding: try JSONEncoder().encode(stages), as: UTF8.self)
            c.prizes = String(decoding: try JSONEncoder().encode(prizes), as: UTF8.self)
            c.state = .open
            c.promoteTop = promoteTop
            c.passMark = passMark
            c.staffID = scope.staffID
            try await c.create(on: tx)
            if budget > 0 {
                let fund = try await FundsLedger.fund(kind: "contestPrizes", refID: c.requireID(), year: ShanghaiClock.today().year, name: c.name,
                                                      rootOrgID: c.orgID, on: tx)
                try await FundsLedger.allocate(fund, to: org, from: nil, fen: budget, .init(staffID: scope.staffID, reason: c.name), on: tx)
                c.fundID = try fund.requireID()
                try await c.save(on: tx)
            }
            try await req.audit.record("contest.create", targetType: "contest", targetID: c.id, org: org, details: ["trade": c.trade], on: tx)
            return c
        }
    }

    /// One registration: the member's union must sit under the organiser; before the deadline; the
    /// seat is taken by a conditional update (`registered < capacity`), so no race passes capacity;
    /// the unique (contest, member) index refuses a second one.
    static func register(_ req: Request, contestID: Int, member: Member, now: Date = Date()) async throws -> ContestRegistration {
        guard let c = try await Contest.find(contestID, on: req.db), let org = try await Organization.find(c.orgID, on: req.db) else { throw AppError.notFound }
        guard let union = try await Organization.find(member.orgID, on: req.db), org.treePath.contains(union.treePath) else {
            throw AppError.invalid([FieldIssue("memberId", "outside", "contest.error.outside", ["org": org.name])])
        }
        guard c.isOpen(at: now) else {
            throw AppError.invalid([FieldIssue("registrationClosesAt", "closed", "contest.error.closed")])
        }
        let memberID = try member.requireID()
        @Sendable func already() -> AppError { AppError.conflict("contest.error.already", fields: [FieldIssue("memberId", "duplicate", "contest.error.already")]) }
        if try await ContestRegistration.query(on: req.db).filter(\.$contestID == contestID).filter(\.$memberID == memberID).first() != nil { throw already() }
        do {
            return try await req.db.transaction { tx in
                let seat = try await (tx as! any SQLDatabase).raw("""
                    UPDATE contests SET registered = registered + 1 WHERE id = \(bind: contestID) AND registered < capacity RETURNING id
                    """).first()
                guard seat != nil else {
                    throw AppError.conflict("contest.error.full", args: ["capacity": String(c.capacity)],
                                            fields: [FieldIssue("capacity", "full", "contest.error.full", ["capacity": String(c.capacity)])])
                }
                if try await ContestRegistration.query(on: tx).filter(\.$contestID == contestID).filter(\.$memberID == memberID).first() != nil { throw already() }
                let r = ContestRegistration()
                r.contestID = contestID
                r.memberID = memberID
                r.orgID = member.orgID
                r.name = member.name
                r.prizeFen = 0
                r.promoted = false
                r.registeredAt = now
                try await r.create(on: tx)
                return r
            }
        } catch let error as AppError {
            throw error
        } catch {
            // two registrations of one member at once: the unique index refused the second
            if try await ContestRegistration.query(on: req.db).filter(\.$contestID == contestID).filter(\.$memberID == memberID).first() != nil { throw already() }
            throw error
        }
    }

    static func find(_ req: Request, _ id: Int) async throws -> (Contest, Organization) {
        guard let c = try await Contest.find(id, on: req.db) else { throw AppError.notFound }
        return (c, try await req.scope.org(c.orgID, on: req.db))
    }

    /// One score or a list; each in 0…the stage's full marks, at most two decimals.
    static func score(_ req: Request, _ c: Contest, _ input: ContestScoresInput) async throws -> Int {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        guard c.state == .open else { throw NominationActions.conflict("contest.error.published") }
        let list = input.scores ?? [ContestScoreInput(registrationId: input.registrationId, memberId: input.memberId, stage: input.stage, score: input.score)]
        var v = Validator()
        if list.isEmpty || list.count > 5000 { v.add("scores", "count", "error.field.range", ["min": "1", "max": "5000"]) }
        let stages = c.stageList
        var rows: [(reg: Int?, member: Int?, stage: String, cp: Int)] = []
        for (i, s) in list.enumerated() {
            let p = input.scores == nil ? "" : "scores[\(i)]."
            if s.registrationId == nil && s.memberId == nil { v.add("\(p)registrationId", "required") }
            guard let code = s.stage, let stage = stages.first(where: { $0.code == code }) else {
                v.add("\(p)stage", "unknown", "error.field.oneOf", ["values": stages.map(\.code).joined(separator: ", ")])
                continue
            }
            guard let score = s.score, score >= 0, score <= Decimal(stage.maxScore) else {
                v.add("\(p)score", "range", "error.field.range", ["min": "0", "max": String(stage.maxScore)])
                continue
            }
            let cp = NSDecimalNumber(decimal: score * 100).doubleValue
            guard cp == cp.rounded() else { v.add("\(p)score", "format", "contest.error.scoreFormat"); continue }
            rows.append((s.registrationId, s.memberId, code, Int(cp)))
        }
        try v.check()
        let contestID = try c.requireID()
        let parsed = rows
        return try await req.db.transaction { tx in
            let regs = try await ContestRegistration.query(on: tx).filter(\.$contestID == contestID).all()
            let byID = Dictionary(uniqueKeysWithValues: regs.map { ($0.id ?? 0, $0) })
            let byMember = Dictionary(regs.map { ($0.memberID, $0) }, uniquingKeysWith: { a, _ in a })
            var issues: [FieldIssue] = []
            for (i, row) in parsed.enumerated() {
                guard let reg = row.reg.flatMap({ byID[$0] }) ?? row.member.flatMap({ byMember[$0] }) else {
                    issues.append(FieldIssue(input.scores == nil ? "registrationId" : "scores[\(i)].registrationId", "notFound", "contest.error.notRegistered"))
                    continue
                }
                let regID = try reg.requireID()
                try await (tx as! any SQLDatabase).raw("DELETE FROM contest_scores WHERE registration_id = \(bind: regID) AND stage = \(bind: row.stage)").run()
                try await (tx as! any SQLDatabase).raw("""
                    INSERT INTO contest_scores (registration_id, stage, score_cp, staff_id) VALUES (\(bind: regID), \(bind: row.stage), \(bind: row.cp), \(bind: scope.staffID))
                    """).run()
            }
            if !issues.isEmpty { throw AppError.invalid(issues) }
            try await req.audit.record("contest.scores", targetType: "contest", targetID: contestID, details: ["count": String(parsed.count)], on: tx)
            return parsed.count
        }
    }

    struct Ranked {
        let reg: ContestRegistration
        let scores: [String: Int]
        let total: Int64?
        let rank: Int?
        let medal: String?
        let promoted: Bool
    }

    /// Weighted totals, competition ranking (1, 2, 2, 4), medals for places 1–3 with ties sharing,
    /// and promotions for the top places that passed every stage.
    static func rank(_ c: Contest, on db: any Database) async throws -> [Ranked] {
        let contestID = try c.requireID()
        let regs = try await ContestRegistration.query(on: db).filter(\.$contestID == contestID).sort(\.$id).all()
        let scores = try await ContestScore.query(on: db).join(ContestRegistration.self, on: \ContestScore.$registrationID == \ContestRegistration.$id)
            .filter(ContestRegistration.self, \.$contestID == contestID).all()
        let byReg = Dictionary(grouping: scores, by: \.registrationID)
        let stages = c.stageList
        var rows: [(ContestRegistration, [String: Int], Int64?, Bool)] = regs.map { r in
            let s = Dictionary((byReg[r.id ?? 0] ?? []).map { ($0.stage, $0.scoreCP) }, uniquingKeysWith: { a, _ in a })
            let complete = stages.allSatisfy { s[$0.code] != nil }
            // normalised to each stage's full marks: total = Σ score/max × weight, in hundredths × 100
            let total: Int64? = complete ? stages.reduce(Int64(0)) { $0 + Int64(s[$1.code]!) * Int64($1.weight) * 100 / Int64($1.maxScore) } : nil
            let passed = complete && stages.allSatisfy { s[$0.code]! >= c.passMark * $0.maxScore }
            return (r, s, total, passed)
        }
        rows.sort { ($0.2 ?? -1, -($0.0.id ?? 0)) > ($1.2 ?? -1, -($1.0.id ?? 0)) }
        let medals = ["gold", "silver", "bronze"]
        return rows.map { r, s, total, passed in
            guard let total else { return Ranked(reg: r, scores: s, total: nil, rank: nil, medal: nil, promoted: false) }
            let rank = 1 + rows.filter { ($0.2 ?? -1) > total }.count
            return Ranked(reg: r, scores: s, total: total, rank: rank, medal: rank <= 3 ? medals[rank - 1] : nil, promoted: passed && rank <= c.promoteTop)
        }
    }

    /// Publishes the results once: ranks, medals and promotions written, prizes paid from the contest's fund.
    static func publish(_ req: Request, _ c: Contest, _ org: Organization) async throws {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        guard c.state == .open else { throw NominationActions.conflict("contest.error.published") }
        guard Date() > c.registrationClosesAt || c.registered >= c.capacity else { throw NominationActions.conflict("contest.error.stillOpen") }
        let contestID = try c.requireID()
        try await req.db.transaction { tx in
            try await tx.lock("contest:\(contestID)")
            guard let fresh = try await Contest.find(contestID, on: tx), fresh.state == .open else { throw NominationActions.conflict("contest.error.published") }
            let ranked = try await rank(fresh, on: tx)
            let prizes = fresh.prizeFen
            let fund = try await fresh.fundID.asyncMap { try await Fund.find($0, on: tx) } ?? nil
            for row in ranked {
                let r = row.reg
                r.totalBP = row.total
                r.rank = row.rank
                r.medal = row.medal
                r.promoted = row.promoted
                let prize = row.rank.map { $0 <= 3 ? prizes[$0 - 1] : 0 } ?? 0
                if prize > 0 {
                    guard let fund else { throw FundsLedger.overBudget(org) }
                    let context = FundsLedger.Context(staffID: scope.staffID, reason: "\(fresh.name) \(r.name)", memberID: r.memberID, ref: "contest:\(contestID)")
                    try await FundsLedger.reserve(fund, org: org, fen: prize, context, on: tx)
                    r.fundEntryID = try await FundsLedger.pay(fund, orgID: fresh.orgID, fen: prize, context, on: tx).id
                    r.prizeFen = prize
                }
                try await r.save(on: tx)
            }
            fresh.state = .published
            try await fresh.save(on: tx)
            c.state = .published
            try await req.audit.record("contest.publish", targetType: "contest", targetID: contestID, org: org,
                                       details: ["ranked": String(ranked.filter { $0.rank != nil }.count)], on: tx)
        }
    }

    static func results(_ c: Contest, live: Bool, on db: any Database) async throws -> ContestResultsDTO {
        guard c.state == .published || live else {
            return ContestResultsDTO(contestId: c.id ?? 0, name: c.name, published: false, registered: c.registered, results: [])
        }
        let ranked = try await rank(c, on: db)
        let unions = try await ApplicationService.orgNames(ranked.map(\.reg.orgID), on: db)
        let prizes = c.prizeFen
        return ContestResultsDTO(contestId: c.id ?? 0, name: c.name, published: c.state == .published, registered: c.registered,
                                 results: ranked.filter { $0.rank != nil }.map { row in
                                     ContestResultDTO(registrationId: row.reg.id ?? 0, name: row.reg.name, unionName: unions[row.reg.orgID]?.name ?? "",
                                                      scores: row.scores.mapValues { Decimal($0) / 100 },
                                                      total: row.total.map { Decimal($0) / 10_000 }, rank: row.rank, medal: row.medal,
                                                      prizeYuan: Decimal(fen: c.state == .published ? row.reg.prizeFen : (row.rank.map { $0 <= 3 ? prizes[$0 - 1] : 0 } ?? 0)),
                                                      promoted: row.promoted)
                                 })
    }
}
