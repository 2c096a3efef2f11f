import Fluent
import FluentSQL
import Foundation

/// Many reservations on one budget at once (a batch of relief lines): the budget row is locked
/// first, so what it holds is known while the caller decides line by line, then one conditional
/// UPDATE moves the sum and one multi-row INSERT writes an entry per line. The same guarantee as
/// `reserve`, a statement per chunk instead of two per line.
extension FundsLedger {
    struct Hold: Sendable {
        let fen: Int64
        let context: Context
    }

    /// What the budget of `orgID` holds available, its row locked until the transaction ends
    /// (`FOR UPDATE` on PostgreSQL; on SQLite the write transaction already excludes others).
    /// Nil when the node has no budget in this fund.
    static func lockedAvailable(fundID: Int, orgID: Int, on tx: any Database) async throws -> Int64? {
        precondition(tx.inTransaction, "lockedAvailable holds the row until the transaction ends; call it inside one")
        let lock: SQLQueryString = tx.isPostgres ? " FOR UPDATE" : ""
        let row = try await (tx as! any SQLDatabase).raw("""
            SELECT allocated_fen - allocated_out_fen - reserved_fen - paid_fen AS available FROM fund_budgets
            WHERE fund_id = \(bind: fundID) AND org_id = \(bind: orgID)\(lock)
            """).first()
        return try row?.decode(column: "available", as: Int64.self)
    }

    /// Reserves every hold on `orgID`'s budget in the caller's transaction; refused whole with
    /// `overBudget` if the sum is not available.
    static func reserveMany(fundID: Int, org: Organization, holds: [Hold], on tx: any Database) async throws {
        guard !holds.isEmpty else { return }
        precondition(tx.inTransaction, "reserveMany must run inside the transaction that writes the lines")
        for hold in holds { try check(hold.fen, field: "amountYuan") }
        let sql = tx as! any SQLDatabase
        let total = holds.reduce(Int64(0)) { $0 + $1.fen }
        let orgID = try org.requireID()
        let now = Date()
        let moved = try await sql.raw("""
            UPDATE fund_budgets SET reserved_fen = reserved_fen + \(bind: total), updated_at = \(bind: now)
            WHERE fund_id = \(bind: fundID) AND org_id = \(bind: orgID)
              AND allocated_fen - allocated_out_fen - reserved_fen - paid_fen >= \(bind: total)
            RETURNING id
            """).first()
        guard moved != nil else { throw overBudget(org) }
        try await entries(.reserve, fundID: fundID, orgID: orgID, holds: holds, at: now, on: sql)
    }

    /// Pays many reserved amounts of `orgID`'s budget at once (a day's payout batch); refused whole
    /// with `notReserved` if the budget does not hold that much reserved.
    static func payMany(fundID: Int, orgID: Int, holds: [Hold], on tx: any Database) async throws {
        try await settleMany(.pay, fundID: fundID, orgID: orgID, holds: holds, on: tx)
    }

    /// Gives many reservations back at once (the payments the bank returned).
    static func releaseMany(fundID: Int, orgID: Int, holds: [Hold], on tx: any Database) async throws {
        try await settleMany(.release, fundID: fundID, orgID: orgID, holds: holds, on: tx)
    }

    private static func settleMany(_ kind: FundEntry.Kind, fundID: Int, orgID: Int, holds: [Hold], on tx: any Database) async throws {
        guard !holds.isEmpty else { return }
        precondition(tx.inTransaction, "payMany and releaseMany must run inside the transaction that changes the lines")
        for hold in holds { try check(hold.fen, field: "amountYuan") }
        let sql = tx as! any SQLDatabase
        let total = holds.reduce(Int64(0)) { $0 + $1.fen }
        let now = Date()
        let paid: SQLQueryString = kind == .pay ? ", paid_fen = paid_fen + \(bind: total)" : ""
        let moved = try await sql.raw("""
            UPDATE fund_budgets SET reserved_fen = reserved_fen - \(bind: total)\(paid), updated_at = \(bind: now)
            WHERE fund_id = \(bind: fundID) AND org_id = \(bind: orgID) AND reserved_fen >= \(bind: total) RETURNING id
            """).first()
        guard moved != nil else { throw AppError.conflict("error.funds.notReserved", fields: [FieldIssue("amountYuan", "notReserved", "error.funds.notReserved")]) }
        try await entries(kind, fundID: fundID, orgID: orgID, holds: holds, at: now, on: sql)
    }

    /// One entry per hold, 1,000 rows a statement (12 binds a row: far below both engines' limits).
    private static func entries(_ kind: FundEntry.Kind, fundID: Int, orgID: Int, holds: [Hold], at now: Date, on sql: any SQLDatabase) async throws {
        for chunk in stride(from: 0, to: holds.count, by: 1000) {
            let insert = sql.insert(into: FundEntry.schema)
                .columns("fund_id", "org_id", "kind", "amount_fen", "household_id", "member_id", "batch_id", "ref", "staff_id", "reason", "at")
            for hold in holds[chunk..<min(chunk + 1000, holds.count)] {
                let c = hold.context
                insert.values([SQLBind(fundID), SQLBind(orgID), SQLBind(kind.rawValue), SQLBind(hold.fen),
                               SQLBind(c.householdID), SQLBind(c.memberID), SQLBind(c.batchID), SQLBind(c.ref), SQLBind(c.staffID),
                               SQLBind(c.reason.map { String($0.prefix(500)) }), SQLBind(now)])
            }
            try await insert.run()
        }
    }
}
