import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// 维权 for the demo and `seed`: collective contracts for 90.4% of the unionised enterprises in the
/// ledger (a wage agreement beside two in three), contracts in every other state among the rest (one
/// filed late), workers' congresses with this year's session and a disclosure for 94.2% of them, and
/// mediation and legal-aid cases, the demo's linked to its unpaid-wages appeals. The rates the
/// statistics show are counted from these rows, never written down.
struct RightsSeeder {
    let db: any Database
    let progress: @Sendable (String) -> Void

    static let contractShare = 904, congressShare = 942
    /// The states the uncovered enterprises' contracts cycle through.
    static let pending: [ContractState] = [.preparing, .offered, .bargaining, .drafted, .adopted, .signed, .underReview, .expired, .ended]

    struct Firm {
        let id: Int
        let org: Int
        let headcount: Int
        let name: String
    }

    func seed(casesPerYear: Int, years: Int) async throws -> Bool {
        if try await CollectiveContract.query(on: db).count() > 0 { return false }
        let started = Date()
        var firms: [Firm] = []
        for r in try await db.sql.raw("""
            SELECT id, org_id, union_org_id, headcount, name FROM enterprises WHERE union_status IN ('founded', 'standard') ORDER BY id
            """).all() {
            let union = try r.decode(column: "union_org_id", as: Int?.self)
            firms.append(Firm(id: try r.decode(column: "id", as: Int.self), org: try union ?? r.decode(column: "org_id", as: Int.self),
                              headcount: try r.decode(column: "headcount", as: Int.self), name: try r.decode(column: "name", as: String.self)))
        }
        // A fixed shuffle, so the covered ones are spread over every street.
        let byContract = firms.sorted { ($0.id &* 7919) % 10_007 < ($1.id &* 7919) % 10_007 }
        let covered = (firms.count * Self.contractShare + 500) / 1000
        try await contracts(byContract, covered: covered)
        let byCongress = firms.sorted { ($0.id &* 104_729) % 10_009 < ($1.id &* 104_729) % 10_009 }
        let democratic = (firms.count * Self.congressShare + 500) / 1000
        try await congresses(Array(byCongress.prefix(democratic)))
        let cases = try await legalCases(perYear: casesPerYear, years: years)
        progress(String(format: "seeded %d collective contracts for %d unionised enterprises, %d congresses, %d cases in %.1f s",
                        covered, firms.count, democratic, cases, Date().timeIntervalSince(started)))
        return true
    }

    struct Plan {
        var firm: Firm
        var kind: ContractKind
        var state: ContractState
        var offer, reply, draft, vote, sign, file, reviewEnds, inForce, publish, expires, ended: CalendarDate?
        var term: Int
    }

    static func plan(_ firm: Firm, kind: ContractKind, state: ContractState, inForce start: CalendarDate, term: Int, today: CalendarDate, late: Bool = false) -> Plan {
        var p = Plan(firm: firm, kind: kind, state: state, term: term)
        let file = state == .underReview ? today.adding(days: -5) : (state == .signed ? nil : start.adding(days: -16))
        let sign = state == .signed ? today.adding(days: late ? -14 : -3) : file?.adding(days: -(firm.id % 9))
        let steps: [ContractState] = [.preparing, .offered, .bargaining, .drafted, .adopted, .signed, .underReview, .inForce]
        let reached = steps.firstIndex(of: state == .expired || state == .ended ? .inForce : state) ?? 0
        // Bargaining still under way started lately: an open offer was made in the last 25 days.
        let base = reached >= 5 ? (sign ?? today) : today.adding(days: -(firm.id % 10))
        if reached >= 1 { p.offer = base.adding(days: reached == 1 ? -(firm.id % 25) : -45) }
        if reached >= 2 { p.reply = base.adding(days: -30) }
        if reached >= 3 { p.draft = base.adding(days: -15) }
        if reached >= 4 { p.vote = base.adding(days: -5) }
        if reached >= 5 { p.sign = sign }
        if reached >= 6 { p.file = file; p.reviewEnds = file?.adding(days: RightsRules.reviewDays) }
        if reached >= 7 {
            p.inForce = start
            p.publish = start.adding(days: 4) <= today ? start.adding(days: 4) : nil
            p.expires = start.adding(years: term).adding(days: -1)
        }
        if state == .expired { p.ended = p.expires }
        if state == .ended { p.ended = today.adding(days: -(firm.id % 200) - 1) }
        return p
    }

    private func contracts(_ firms: [Firm], covered: Int) async throws {
        let today = ShanghaiClock.today()
        var plans: [Plan] = []
        for (j, firm) in firms.enumerated() {
            if j < covered {
                // In force since some day of the last three years, for three years: about one in twelve expires within 90 days.
                plans.append(Self.plan(firm, kind: .comprehensive, state: .inForce, inForce: today.adding(days: -((j &* 37) % 1080)), term: 3, today: today))
                if j % 3 != 0 {
                    plans.append(Self.plan(firm, kind: .wage, state: .inForce, inForce: today.adding(days: -((j &* 13) % 360)), term: 1, today: today))
                }
            } else {
                let state = Self.pending[(j - covered) % Self.pending.count]
                let start = state == .expired ? today.adding(days: -(3 * 365 + 30 + j % 300)) : today.adding(days: -(400 + j % 300))
                plans.append(Self.plan(firm, kind: .comprehensive, state: state, inForce: start, term: 3, today: today, late: j == covered + 5))
            }
        }
        let batch = 200
        let all = plans
        for start in stride(from: 0, to: all.count, by: batch * 10) {
            try await db.transaction { tx in
                for chunk in stride(from: start, to: min(start + batch * 10, all.count), by: batch) {
                    let rows = all[chunk..<min(chunk + batch, all.count)]
                    try await insert(Array(rows), on: tx, today: today)
                }
            }
            progress("collective contracts: \(min(start + batch * 10, all.count)) / \(all.count)")
        }
    }

    private func insert(_ rows: [Plan], on tx: any Database, today: CalendarDate) async throws {
        let now = Date()
        var insert = tx.sql.insert(into: CollectiveContract.schema).columns(
            "org_id", "kind", "title", "state", "version", "rounds", "last_round_on", "offer_on", "offer_by", "reply_due_on", "replied_on", "draft_on",
            "voted_on", "signed_on", "term_years", "filing_due_on", "filed_on", "review_ends_on", "in_force_on", "publish_due_on", "published_on",
            "expires_on", "ended_on", "wage_rise_bp", "lowest_wage_fen", "topics", "workers_covered", "created_at", "updated_at")
        for p in rows {
            let d = { (day: CalendarDate?) in SQLBind(day?.description) }
            let title = p.firm.name + (p.kind == .wage ? " 工资专项集体合同" : " 集体合同")
            insert = insert.values(
                SQLBind(p.firm.org), SQLBind(p.kind.rawValue), SQLBind(title), SQLBind(p.state.rawValue), SQLBind(1), SQLBind(p.reply == nil ? 0 : 2),
                d(p.reply?.adding(days: 7)), d(p.offer), SQLBind(p.offer == nil ? nil : "union"), d(p.offer?.adding(days: RightsRules.replyDays)), d(p.reply),
                d(p.draft), d(p.vote), d(p.sign), SQLBind(p.sign == nil ? nil : p.term), d(p.sign?.adding(days: RightsRules.filingDays)), d(p.file),
                d(p.reviewEnds), d(p.inForce), d(p.inForce?.adding(days: RightsRules.publishDays)), d(p.publish), d(p.expires), d(p.ended),
                SQLBind(p.draft == nil ? nil : 300 + p.firm.id % 500), SQLBind(p.draft == nil ? nil : Int64(242_000 + p.firm.id % 40 * 1000)),
                SQLBind(p.draft == nil ? nil : "welfareFund,educationFund,labourProtection,highSkillPay,paidLeave"),
                SQLBind(p.draft == nil ? nil : p.firm.headcount * 9 / 10), SQLBind(now), SQLBind(now))
        }
        let ids = try await insert.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }.sorted()
        guard ids.count == rows.count else { return }
        var links = tx.sql.insert(into: ContractEnterprise.schema).columns("contract_id", "enterprise_id")
        var clocks = tx.sql.insert(into: Deadline.schema).columns("org_id", "subject_kind", "subject_id", "clock", "title", "due_on", "rule", "warn_from")
        var anyClock = false
        for (id, p) in zip(ids, rows) {
            links = links.values(SQLBind(id), SQLBind(p.firm.id))
            var clock: (String, CalendarDate?, CalendarDate?)?
            switch p.state {
            case .offered: clock = ("reply", p.offer?.adding(days: RightsRules.replyDays), nil)
            case .signed: clock = ("filing", p.sign?.adding(days: RightsRules.filingDays), nil)
            case .underReview: clock = ("review", p.reviewEnds, nil)
            case .inForce: clock = ("renewal", p.expires, p.expires?.adding(months: -RightsRules.renewalMonths))
            default: clock = nil
            }
            if let (name, due, warn) = clock, let due {
                clocks = clocks.values(SQLBind(p.firm.org), SQLBind("collectiveContract"), SQLBind(id), SQLBind(name), SQLBind(p.firm.name),
                                       SQLBind(due.description), SQLBind("calendar"), SQLBind(warn?.description))
                anyClock = true
            }
        }
        try await links.run()
        if anyClock { try await clocks.run() }
    }

    private func congresses(_ firms: [Firm]) async throws {
        let today = ShanghaiClock.today()
        let yearStart = "\(today.year)-01-01"
        let batch = 300
        for start in stride(from: 0, to: firms.count, by: batch) {
            let rows = Array(firms[start..<min(start + batch, firms.count)])
            try await db.transaction { tx in
                var insert = tx.sql.insert(into: Congress.schema).columns("org_id", "enterprise_id", "kind", "term_years", "starts_on", "ends_on", "employees", "created_at")
                let starts = rows.indices.map { today.adding(days: -(((start + $0) &* 53) % 1500)) }
                for (j, f) in rows.enumerated() {
                    let starts = starts[j]
                    insert = insert.values(SQLBind(f.org), SQLBind(f.id), SQLBind(f.headcount < RightsRules.assemblyBelow ? "assembly" : "congress"), SQLBind(5),
                                           SQLBind(starts.description), SQLBind(starts.adding(years: 5).adding(days: -1).description), SQLBind(f.headcount), SQLBind(Date()))
                }
                let ids = try await insert.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }.sorted()
                var sessions = tx.sql.insert(into: CongressSession.schema).columns("congress_id", "held_on", "present", "seated", "quorum")
                var disclosures = tx.sql.insert(into: Disclosure.schema).columns("org_id", "enterprise_id", "congress_id", "title", "disclosed_on")
                var anySession = false
                var sessionCongress: [Int] = []
                for (j, (id, f)) in zip(ids, rows).enumerated() {
                    let seats = f.headcount < RightsRules.assemblyBelow ? f.headcount : max(30, (f.headcount * 5 + 99) / 100)
                    let held = max(yearStart, starts[j].description, today.adding(days: -((j &* 17) % 300) - 1).description)
                    if (start + j) % 10 != 9 {
                        sessions = sessions.values(SQLBind(id), SQLBind(held), SQLBind(seats * 9 / 10), SQLBind(seats), SQLBind(true))
                        sessionCongress.append(seats)
                        anySession = true
                    }
                    disclosures = disclosures.values(SQLBind(f.org), SQLBind(f.id), SQLBind(id), SQLBind("年度厂务公开：工资总额、福利费与安全生产情况"),
                                                     SQLBind(today.adding(days: -((j &* 29) % 330) - 1).description))
                }
                if anySession {
                    // Each session passed the year's work report, with 80% of the seats for.
                    let made = try await sessions.returning("id", "congress_id").all()
                        .map { (try $0.decode(column: "id", as: Int.self), try $0.decode(column: "congress_id", as: Int.self)) }.sorted { $0.0 < $1.0 }
                    var resolutions = tx.sql.insert(into: CongressResolution.schema)
                        .columns("session_id", "congress_id", "title", "votes_for", "votes_against", "votes_abstain", "passed")
                    for ((sid, cid), seats) in zip(made, sessionCongress) {
                        let yes = seats * 8 / 10
                        resolutions = resolutions.values(SQLBind(sid), SQLBind(cid), SQLBind("审议通过年度工作报告"), SQLBind(yes),
                                                         SQLBind(seats * 9 / 10 - yes), SQLBind(0), SQLBind(CongressSession.passes(votesFor: yes, seated: seats)))
                    }
                    try await resolutions.run()
                }
                if !ids.isEmpty { try await disclosures.run() }
            }
        }
    }
}
