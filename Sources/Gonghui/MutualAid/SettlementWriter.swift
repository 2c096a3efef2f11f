import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// Writes one batch of settlement rows: decides each row's plan and cover from the members, the
/// units' remittances and the shares, then, in one transaction, locks the members' usage rows,
/// drops the settlement numbers already paid, computes each benefit against what is left and writes
/// the claims, the usage, the tallies and the job's counts together.
struct SettlementWriter {
    let db: any Database
    let cipher: FieldCipher
    let jobID: Int
    let orgID: Int
    let plans: [AidPlan]

    struct Written {
        var claims = 0
        var duplicates = 0
    }

    /// A row with its plan decided, or the outcome that stops it before money.
    struct Placed {
        let row: SettlementImporter.Row
        let member: SettlementImporter.Member?
        let plan: AidPlan?
        let stop: ClaimOutcome?
    }

    func write(_ rows: [SettlementImporter.Row], problems: [ImportProblem], budget: inout ProblemBudget,
               describe: @escaping @Sendable (Int, String) -> ImportProblem, counts: inout SettlementCounts) async throws -> Written {
        let placed = try await place(rows)
        let pending = counts
        counts = SettlementCounts()
        let reviewDraws = placed.map { _ in Int.random(in: 0..<10_000) }
        let budgetIn = budget
        let (written, budgetOut) = try await db.transaction { tx -> (Written, ProblemBudget) in
            let tsql = tx as! any SQLDatabase
            let money = placed.filter { $0.stop == nil }
            let usageKeys = Set(money.map { UsageKey(plan: $0.plan!.id!, member: $0.member!.id) }).sorted()
            let totalKeys = Set(money.map { TotalKey(member: $0.member!.id, kind: $0.plan!.kind.rawValue) }).sorted()
            var used: [UsageKey: Int64] = [:]
            var usedTotal: [TotalKey: Int64] = [:]
            // Lock and read: an upsert that changes nothing takes the row's lock on PostgreSQL
            // (SQLite's write transaction already excludes every other writer).
            for chunk in usageKeys.chunked(400) {
                let values = chunk.map { k -> SQLQueryString in "(\(bind: k.plan), \(bind: k.member), 0, 0)" }.joined(separator: ", ")
                for r in try await tsql.raw("""
                    INSERT INTO mutual_aid_usage (plan_id, member_id, used_fen, claims) VALUES \(values)
                    ON CONFLICT (plan_id, member_id) DO UPDATE SET claims = mutual_aid_usage.claims RETURNING plan_id, member_id, used_fen
                    """).all() {
                    used[UsageKey(plan: try r.decode(column: "plan_id", as: Int.self), member: try r.decode(column: "member_id", as: Int.self))] =
                        try r.decode(column: "used_fen", as: Int64.self)
                }
            }
            for chunk in totalKeys.chunked(400) {
                let values = chunk.map { k -> SQLQueryString in "(\(bind: k.member), \(bind: k.kind), 0)" }.joined(separator: ", ")
                for r in try await tsql.raw("""
                    INSERT INTO mutual_aid_totals (member_id, kind, used_fen) VALUES \(values)
                    ON CONFLICT (member_id, kind) DO UPDATE SET used_fen = mutual_aid_totals.used_fen RETURNING member_id, kind, used_fen
                    """).all() {
                    usedTotal[TotalKey(member: try r.decode(column: "member_id", as: Int.self), kind: try r.decode(column: "kind", as: String.self))] =
                        try r.decode(column: "used_fen", as: Int64.self)
                }
            }
            // Numbers paid before (an earlier file, or another import that held these members' locks first).
            var known = Set<String>()
            for chunk in placed.map(\.row.number).chunked(500) where !chunk.isEmpty {
                for r in try await tsql.raw("SELECT settlement_number FROM mutual_aid_claims WHERE settlement_number IN (\(binds: chunk))").all() {
                    known.insert(try r.decode(column: "settlement_number", as: String.self))
                }
            }
            var claims: [AidClaim] = []
            var dups: [(Int, String)] = []
            var addUsage: [UsageKey: (fen: Int64, claims: Int)] = [:]
            var addTotal: [TotalKey: Int64] = [:]
            let now = Date()
            for (n, p) in placed.enumerated() {
                if known.contains(p.row.number) { dups.append((p.row.line, p.row.number)); continue }
                var outcome = p.stop ?? .paid
                var benefit: Int64 = 0
                if p.stop == nil, let plan = p.plan, let member = p.member {
                    let uk = UsageKey(plan: plan.id!, member: member.id), tk = TotalKey(member: member.id, kind: plan.kind.rawValue)
                    let decision = AidRule.decide(selfPaidFen: p.row.selfFen, terms: plan.terms, yearlyUsed: used[uk] ?? 0, totalUsed: usedTotal[tk] ?? 0)
                    outcome = decision.outcome
                    benefit = decision.benefitFen
                    if benefit > 0 {
                        used[uk, default: 0] += benefit
                        usedTotal[tk, default: 0] += benefit
                        addUsage[uk, default: (0, 0)].fen += benefit
                        addUsage[uk, default: (0, 0)].claims += 1
                        addTotal[tk, default: 0] += benefit
                    }
                }
                let c = AidClaim()
                c.planID = p.plan?.id
                c.memberID = p.member?.id
                c.orgID = p.member?.orgID ?? orgID
                c.source = "settlement"
                c.settlementNumber = p.row.number
                c.visitType = p.row.visit
                c.visitDate = p.row.date
                c.totalFen = p.row.totalFen
                c.insuranceFen = p.row.insuranceFen
                c.selfPaidFen = p.row.selfFen
                c.benefitFen = benefit
                c.outcome = outcome.rawValue
                c.state = outcome == .paid ? (reviewDraws[n] < (p.plan?.reviewBP ?? 0) ? "review" : "approved") : "closed"
                c.jobID = jobID
                c.line = p.row.line
                c.idIndex = p.row.index
                c.idCipher = p.member == nil ? try cipher.seal(p.row.idNumber) : nil
                c.month = String(p.row.date.prefix(7))
                c.createdAt = now
                claims.append(c)
            }
            try await AidClaims.insert(claims, on: tx)
            try await AidClaims.addUsage(addUsage, totals: addTotal, on: tx)
            try await AidClaims.tally(claims, on: tx)
            // The problems and the job's counts in the same transaction: a batch is in whole or not at all.
            var tally = pending
            for c in claims { tally.add(ClaimOutcome(rawValue: c.outcome) ?? .badRow, fen: c.benefitFen) }
            for _ in dups { tally.add(.duplicateSettlement) }
            var budget = budgetIn
            let kept = budget.list(bad: problems.count, found: dups.count)
            let listed = problems + dups.prefix(kept).map { describe($0.0, $0.1) }
            for chunk in listed.chunked(500) where !chunk.isEmpty { try await chunk.create(on: tx) }
            var sets: [SQLQueryString] = tally.byOutcome.map { o, n in "\(ident: o.column) = \(ident: o.column) + \(bind: n)" }
            sets.append("paid_fen = paid_fen + \(bind: tally.paidFen)")
            try await tsql.raw("UPDATE settlement_jobs SET \(sets.joined(separator: ", ")) WHERE job_id = \(bind: jobID)").run()
            return (Written(claims: claims.count, duplicates: dups.count), budget)
        }
        budget = budgetOut
        return written
    }

    /// Member, plan and cover of each row, read a batch at a time.
    func place(_ rows: [SettlementImporter.Row]) async throws -> [Placed] {
        guard !rows.isEmpty else { return [] }
        let sql = db as! any SQLDatabase
        var members: [String: SettlementImporter.Member] = [:]
        for chunk in Array(Set(rows.map(\.index))).chunked(500) {
            for r in try await sql.raw("SELECT id, org_id, status, joined_on, id_index FROM members WHERE id_index IN (\(binds: chunk))").all() {
                members[try r.decode(column: "id_index", as: String.self)] = .init(
                    id: try r.decode(column: "id", as: Int.self), orgID: try r.decode(column: "org_id", as: Int.self),
                    active: try r.decode(column: "status", as: String.self) == "active", joinedOn: try r.decode(column: "joined_on", as: String.self))
            }
        }
        let found = Array(members.values)
        let years = Array(Set(plans.filter(\.automatic).map(\.year)))
        var remitted = Set<YearKey>()
        let orgIDs = Array(Set(found.map(\.orgID)))
        if !years.isEmpty {
            for chunk in orgIDs.chunked(500) where !chunk.isEmpty {
                for r in try await sql.raw("""
                    SELECT org_id, year FROM org_funds_remitted WHERE org_id IN (\(binds: chunk)) AND year IN (\(binds: years)) AND remitted = \(db.isPostgres ? SQLQueryString("TRUE") : "1")
                    """).all() {
                    remitted.insert(YearKey(org: try r.decode(column: "org_id", as: Int.self), year: try r.decode(column: "year", as: Int.self)))
                }
            }
        }
        var shares: [UsageKey: String] = [:]
        if plans.contains(where: { !$0.automatic }) {
            for chunk in found.map(\.id).chunked(500) where !chunk.isEmpty {
                for r in try await sql.raw("""
                    SELECT s.plan_id, s.member_id, e.cover_from FROM mutual_aid_shares s JOIN mutual_aid_enrolments e ON e.id = s.enrolment_id
                    WHERE s.member_id IN (\(binds: chunk)) AND s.live = \(db.isPostgres ? SQLQueryString("TRUE") : "1") AND e.cover_from IS NOT NULL
                    """).all() {
                    shares[UsageKey(plan: try r.decode(column: "plan_id", as: Int.self), member: try r.decode(column: "member_id", as: Int.self))] =
                        try r.decode(column: "cover_from", as: String.self)
                }
            }
        }
        return rows.map { row in
            guard let m = members[row.index], m.active else { return Placed(row: row, member: nil, plan: nil, stop: .notMember) }
            let candidates = plans.filter { $0.kind.visitType == row.visit && $0.covers(row.date) }
            var waiting: AidPlan?
            for plan in candidates {
                let start: String?
                if plan.automatic {
                    start = remitted.contains(YearKey(org: m.orgID, year: plan.year)) ? m.joinedOn : nil
                } else {
                    start = shares[UsageKey(plan: plan.id!, member: m.id)]
                }
                guard let start, start <= row.date else { continue }
                if AidRule.afterWaiting(start, days: plan.waitingDays) > row.date { waiting = waiting ?? plan; continue }
                return Placed(row: row, member: m, plan: plan, stop: nil)
            }
            if let waiting { return Placed(row: row, member: m, plan: waiting, stop: .waitingPeriod) }
            return Placed(row: row, member: m, plan: candidates.first, stop: .notCovered)
        }
    }
}

struct UsageKey: Hashable, Comparable, Sendable {
    let plan: Int
    let member: Int
    static func < (a: Self, b: Self) -> Bool { (a.plan, a.member) < (b.plan, b.member) }
}

struct TotalKey: Hashable, Comparable, Sendable {
    let member: Int
    let kind: String
    static func < (a: Self, b: Self) -> Bool { (a.member, a.kind) < (b.member, b.kind) }
}

struct YearKey: Hashable, Sendable {
    let org: Int
    let year: Int
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

extension AidPlan {
    var terms: AidRule.Terms {
        .init(deductibleFen: deductibleFen, ratioBP: ratioBP, perClaimCapFen: perClaimCapFen, yearlyCapFen: yearlyCapFen, totalCapFen: totalCapFen)
    }
}
