import Fluent
import FluentSQL
import Foundation

/// The writes every claim goes through, in the caller's transaction: many claims in few
/// statements, the usage ledger moved by upserts that add, and the statistics' kept tallies.
enum AidClaims {
    static let columns = ["plan_id", "member_id", "org_id", "source", "settlement_number", "visit_type", "visit_date", "total_fen", "insurance_fen",
                          "self_paid_fen", "benefit_fen", "outcome", "state", "job_id", "line", "id_cipher", "id_index", "description",
                          "created_by", "month", "created_at"]

    static func insert(_ claims: [AidClaim], on tx: any Database) async throws {
        let sql = tx as! any SQLDatabase
        // 21 binds a row: 500 rows stay below both engines' limits on bound values.
        for chunk in claims.chunked(500) where !chunk.isEmpty {
            let insert = sql.insert(into: AidClaim.schema).columns(columns)
            for c in chunk {
                insert.values([SQLBind(c.planID), SQLBind(c.memberID), SQLBind(c.orgID), SQLBind(c.source), SQLBind(c.settlementNumber),
                               SQLBind(c.visitType), SQLBind(c.visitDate), SQLBind(c.totalFen), SQLBind(c.insuranceFen), SQLBind(c.selfPaidFen),
                               SQLBind(c.benefitFen), SQLBind(c.outcome), SQLBind(c.state), SQLBind(c.jobID), SQLBind(c.line), SQLBind(c.idCipher),
                               SQLBind(c.idIndex), SQLBind(c.description), SQLBind(c.createdBy), SQLBind(c.month), SQLBind(c.createdAt)])
            }
            try await insert.run()
        }
    }

    /// Adds to (or, with negative amounts, gives back to) what members have used of their caps.
    static func addUsage(_ usage: [UsageKey: (fen: Int64, claims: Int)], totals: [TotalKey: Int64], on tx: any Database) async throws {
        let sql = tx as! any SQLDatabase
        for chunk in usage.keys.sorted().chunked(400) where !chunk.isEmpty {
            let values = chunk.map { k -> SQLQueryString in "(\(bind: k.plan), \(bind: k.member), \(bind: usage[k]!.fen), \(bind: usage[k]!.claims))" }
            try await sql.raw("""
                INSERT INTO mutual_aid_usage (plan_id, member_id, used_fen, claims) VALUES \(values.joined(separator: ", "))
                ON CONFLICT (plan_id, member_id) DO UPDATE SET used_fen = mutual_aid_usage.used_fen + excluded.used_fen,
                  claims = mutual_aid_usage.claims + excluded.claims
                """).run()
        }
        for chunk in totals.keys.sorted().chunked(400) where !chunk.isEmpty {
            let values = chunk.map { k -> SQLQueryString in "(\(bind: k.member), \(bind: k.kind), \(bind: totals[k]!))" }
            try await sql.raw("""
                INSERT INTO mutual_aid_totals (member_id, kind, used_fen) VALUES \(values.joined(separator: ", "))
                ON CONFLICT (member_id, kind) DO UPDATE SET used_fen = mutual_aid_totals.used_fen + excluded.used_fen
                """).run()
        }
    }

    struct TallyKey: Hashable {
        let org: Int
        let plan: Int
        let month: String
        let outcome: String
    }

    /// Counts `sign` claims (1 to add, -1 to take out) into the kept tallies.
    static func tally(_ claims: [AidClaim], sign: Int64 = 1, on tx: any Database) async throws {
        var sums: [TallyKey: (n: Int64, fen: Int64, max: Int64)] = [:]
        for c in claims {
            let k = TallyKey(org: c.orgID, plan: c.planID ?? 0, month: c.month, outcome: c.outcome)
            var s = sums[k] ?? (0, 0, 0)
            s.n += sign
            s.fen += sign * c.benefitFen
            s.max = max(s.max, sign > 0 ? c.benefitFen : 0)
            sums[k] = s
        }
        let greatest = tx.isPostgres ? "GREATEST" : "MAX"
        let sql = tx as! any SQLDatabase
        let keys = sums.keys.sorted { ($0.org, $0.plan, $0.month, $0.outcome) < ($1.org, $1.plan, $1.month, $1.outcome) }
        for chunk in keys.chunked(400) where !chunk.isEmpty {
            let values = chunk.map { k -> SQLQueryString in
                let s = sums[k]!
                return "(\(bind: k.org), \(bind: k.plan), \(bind: k.month), \(bind: k.outcome), \(bind: s.n), \(bind: s.fen), \(bind: s.max))"
            }
            try await sql.raw("""
                INSERT INTO mutual_aid_tallies (org_id, plan_id, month, outcome, claims, benefit_fen, max_fen) VALUES \(values.joined(separator: ", "))
                ON CONFLICT (org_id, plan_id, month, outcome) DO UPDATE SET claims = mutual_aid_tallies.claims + excluded.claims,
                  benefit_fen = mutual_aid_tallies.benefit_fen + excluded.benefit_fen,
                  max_fen = \(unsafeRaw: greatest)(mutual_aid_tallies.max_fen, excluded.max_fen)
                """).run()
        }
    }

    /// Gives a claim's benefit back to the member's caps (a sampled claim rejected after it was counted).
    static func giveBack(plan: AidPlan, memberID: Int, fen: Int64, on tx: any Database) async throws {
        let sql = tx as! any SQLDatabase
        try await sql.raw("""
            UPDATE mutual_aid_usage SET used_fen = used_fen - \(bind: fen), claims = claims - 1
            WHERE plan_id = \(bind: plan.requireID()) AND member_id = \(bind: memberID)
            """).run()
        try await sql.raw("""
            UPDATE mutual_aid_totals SET used_fen = used_fen - \(bind: fen) WHERE member_id = \(bind: memberID) AND kind = \(bind: plan.kind.rawValue)
            """).run()
    }

    /// Locks and reads what a member has used of a plan's caps (yearly, total).
    static func lockedUsage(plan: AidPlan, memberID: Int, on tx: any Database) async throws -> (yearly: Int64, total: Int64) {
        let sql = tx as! any SQLDatabase
        let yearly = try await sql.raw("""
            INSERT INTO mutual_aid_usage (plan_id, member_id, used_fen, claims) VALUES (\(bind: plan.requireID()), \(bind: memberID), 0, 0)
            ON CONFLICT (plan_id, member_id) DO UPDATE SET claims = mutual_aid_usage.claims RETURNING used_fen
            """).first()!.decode(column: "used_fen", as: Int64.self)
        let total = try await sql.raw("""
            INSERT INTO mutual_aid_totals (member_id, kind, used_fen) VALUES (\(bind: memberID), \(bind: plan.kind.rawValue), 0)
            ON CONFLICT (member_id, kind) DO UPDATE SET used_fen = mutual_aid_totals.used_fen RETURNING used_fen
            """).first()!.decode(column: "used_fen", as: Int64.self)
        return (yearly, total)
    }
}
