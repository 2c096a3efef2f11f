import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// The one place money moves. Every movement is an entry and a change to the balance of the budget
/// it touches, in the same transaction; the change is a conditional UPDATE (`… WHERE available >= x`),
/// which takes the row's write lock on PostgreSQL and SQLite's single write lock, so two clients
/// can never both spend the last yuan: the second finds the condition false and is refused. The
/// checks a reader could do first (a sum at click time, OpenSPP's mistake) are not relied on.
enum FundsLedger {
    /// Who moves the money and why, written on the entry.
    struct Context: Sendable {
        var staffID: Int?
        var reason: String?
        var householdID: Int?
        var memberID: Int?
        var batchID: Int?
        var ref: String?

        init(staffID: Int? = nil, reason: String? = nil, householdID: Int? = nil, memberID: Int? = nil, batchID: Int? = nil, ref: String? = nil) {
            self.staffID = staffID
            self.reason = reason
            self.householdID = householdID
            self.memberID = memberID
            self.batchID = batchID
            self.ref = ref
        }
    }

    /// The fund of a module's record, made on first use.
    static func fund(kind: String, refID: Int, year: Int, name: String, rootOrgID: Int, on db: any Database) async throws -> Fund {
        if let fund = try await Fund.query(on: db).filter(\.$kind == kind).filter(\.$refID == refID).first() { return fund }
        let fund = Fund(kind: kind, refID: refID, year: year, name: name, rootOrgID: rootOrgID)
        try await fund.create(on: db)
        return fund
    }

    static func budget(_ fundID: Int, org orgID: Int, on db: any Database) async throws -> FundBudget? {
        try await FundBudget.query(on: db).filter(\.$fundID == fundID).filter(\.$orgID == orgID).first()
    }

    /// Money into `org`'s budget: at the fund's root from outside the tree (`from` nil), or from an
    /// ancestor's budget, which must hold that much unallocated, unreserved and unpaid.
    @discardableResult
    static func allocate(_ fund: Fund, to org: Organization, from giver: Organization?, fen: Int64, _ context: Context,
                         on db: any Database) async throws -> FundEntry {
        try check(fen, field: "amountYuan")
        return try await inTransaction(db) { tx in
            let fundID = try fund.requireID()
            if let giver {
                guard giver.treePath.contains(org.treePath), giver.id != org.id else {
                    throw AppError.invalid([FieldIssue("orgId", "notBelow", "error.funds.notBelow", ["org": giver.name])])
                }
                guard try await take(tx, fundID: fundID, orgID: giver.requireID(), column: "allocated_out_fen", fen: fen) else {
                    throw overBudget(giver)
                }
            } else {
                guard try org.requireID() == fund.rootOrgID else {
                    throw AppError.invalid([FieldIssue("orgId", "notRoot", "error.funds.notRoot")])
                }
            }
            try await credit(tx, fundID: fundID, orgID: org.requireID(), fen: fen)
            var entryContext = context
            entryContext.ref = context.ref
            return try await entry(tx, fund: fundID, org: org.requireID(), kind: .allocate, fen: fen, from: giver?.id, entryContext)
        }
    }

    /// Holds `fen` of `org`'s available money for a line not yet paid; refused with `overBudget`.
    @discardableResult
    static func reserve(_ fund: Fund, org: Organization, fen: Int64, _ context: Context, on db: any Database) async throws -> FundEntry {
        try check(fen, field: "amountYuan")
        return try await inTransaction(db) { tx in
            let fundID = try fund.requireID()
            guard try await take(tx, fundID: fundID, orgID: org.requireID(), column: "reserved_fen", fen: fen) else { throw overBudget(org) }
            return try await entry(tx, fund: fundID, org: org.requireID(), kind: .reserve, fen: fen, from: nil, context)
        }
    }

    /// Gives a reservation back (a line removed, a payment that failed).
    @discardableResult
    static func release(_ fund: Fund, orgID: Int, fen: Int64, _ context: Context, on db: any Database) async throws -> FundEntry {
        try check(fen, field: "amountYuan")
        return try await inTransaction(db) { tx in
            let fundID = try fund.requireID()
            let moved = try await (tx as! any SQLDatabase).raw("""
                UPDATE fund_budgets SET reserved_fen = reserved_fen - \(bind: fen), updated_at = \(bind: Date())
                WHERE fund_id = \(bind: fundID) AND org_id = \(bind: orgID) AND reserved_fen >= \(bind: fen) RETURNING id
                """).first()
            guard moved != nil else { throw AppError.conflict("error.funds.notReserved", fields: [FieldIssue("amountYuan", "notReserved", "error.funds.notReserved")]) }
            return try await entry(tx, fund: fundID, org: orgID, kind: .release, fen: fen, from: nil, context)
        }
    }

    /// Pays a reserved amount: the reservation becomes money paid.
    @discardableResult
    static func pay(_ fund: Fund, orgID: Int, fen: Int64, _ context: Context, on db: any Database) async throws -> FundEntry {
        try check(fen, field: "amountYuan")
        return try await inTransaction(db) { tx in
            let fundID = try fund.requireID()
            let moved = try await (tx as! any SQLDatabase).raw("""
                UPDATE fund_budgets SET reserved_fen = reserved_fen - \(bind: fen), paid_fen = paid_fen + \(bind: fen), updated_at = \(bind: Date())
                WHERE fund_id = \(bind: fundID) AND org_id = \(bind: orgID) AND reserved_fen >= \(bind: fen) RETURNING id
                """).first()
            guard moved != nil else { throw AppError.conflict("error.funds.notReserved", fields: [FieldIssue("amountYuan", "notReserved", "error.funds.notReserved")]) }
            return try await entry(tx, fund: fundID, org: orgID, kind: .pay, fen: fen, from: nil, context)
        }
    }

    /// Undoes a payment, once, with a reason: the money is available again and the payment stays on record.
    @discardableResult
    static func reverse(_ payment: FundEntry, reason: String, staffID: Int?, on db: any Database) async throws -> FundEntry {
        guard payment.kind == .pay else {
            throw AppError.conflict("error.funds.reverseOnlyPay", fields: [FieldIssue("entryId", "notPayment", "error.funds.reverseOnlyPay")])
        }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AppError.invalid([FieldIssue("reason", "required")]) }
        return try await inTransaction(db) { tx in
            let paymentID = try payment.requireID()
            try await tx.lock("fund.reverse:\(paymentID)")
            if try await FundEntry.query(on: tx).filter(\.$reversesID == paymentID).first() != nil {
                throw AppError.conflict("error.funds.alreadyReversed", fields: [FieldIssue("entryId", "alreadyReversed", "error.funds.alreadyReversed")])
            }
            let moved = try await (tx as! any SQLDatabase).raw("""
                UPDATE fund_budgets SET paid_fen = paid_fen - \(bind: payment.amountFen), updated_at = \(bind: Date())
                WHERE fund_id = \(bind: payment.fundID) AND org_id = \(bind: payment.orgID) AND paid_fen >= \(bind: payment.amountFen) RETURNING id
                """).first()
            guard moved != nil else { throw AppError.conflict("error.funds.alreadyReversed") }
            var context = Context(staffID: staffID, reason: trimmed, householdID: payment.householdID, memberID: payment.memberID,
                                  batchID: payment.batchID, ref: payment.ref)
            context.reason = trimmed
            let undo = try await entry(tx, fund: payment.fundID, org: payment.orgID, kind: .reverse, fen: payment.amountFen, from: nil, context,
                                       reverses: paymentID)
            return undo
        }
    }

    // MARK: the parts

    static func check(_ fen: Int64, field: String) throws {
        guard fen > 0 else { throw AppError.invalid([FieldIssue(field, "positive", "error.funds.positive")]) }
        guard fen <= Money.maxFen else { throw AppError.invalid([FieldIssue(field, "tooLarge", "error.funds.tooLarge")]) }
    }

    static func overBudget(_ org: Organization) -> AppError {
        AppError.conflict("error.funds.overBudget", args: ["org": org.name],
                          fields: [FieldIssue("amountYuan", "overBudget", "error.funds.overBudget", ["org": org.name])])
    }

    private static func inTransaction<T: Sendable>(_ db: any Database, _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        if db.inTransaction { return try await body(db) }
        return try await db.transaction { tx in try await body(tx) }
    }

    /// Moves `fen` of the node's available money into `column`, if it is there; false otherwise.
    private static func take(_ db: any Database, fundID: Int, orgID: Int, column: String, fen: Int64) async throws -> Bool {
        let row = try await (db as! any SQLDatabase).raw("""
            UPDATE fund_budgets SET \(ident: column) = \(ident: column) + \(bind: fen), updated_at = \(bind: Date())
            WHERE fund_id = \(bind: fundID) AND org_id = \(bind: orgID)
              AND allocated_fen - allocated_out_fen - reserved_fen - paid_fen >= \(bind: fen)
            RETURNING id
            """).first()
        return row != nil
    }

    private static func credit(_ db: any Database, fundID: Int, orgID: Int, fen: Int64) async throws {
        try await (db as! any SQLDatabase).raw("""
            INSERT INTO fund_budgets (fund_id, org_id, allocated_fen, allocated_out_fen, reserved_fen, paid_fen, updated_at)
            VALUES (\(bind: fundID), \(bind: orgID), \(bind: fen), 0, 0, 0, \(bind: Date()))
            ON CONFLICT (fund_id, org_id) DO UPDATE SET allocated_fen = fund_budgets.allocated_fen + \(bind: fen), updated_at = \(bind: Date())
            """).run()
    }

    private static func entry(_ db: any Database, fund: Int, org: Int, kind: FundEntry.Kind, fen: Int64, from: Int?, _ c: Context,
                              reverses: Int? = nil) async throws -> FundEntry {
        let e = FundEntry()
        e.fundID = fund
        e.orgID = org
        e.kind = kind
        e.amountFen = fen
        e.fromOrgID = from
        e.householdID = c.householdID
        e.memberID = c.memberID
        e.batchID = c.batchID
        e.ref = c.ref
        e.reversesID = reverses
        e.staffID = c.staffID
        e.reason = c.reason.map { String($0.prefix(500)) }
        e.at = Date()
        try await e.create(on: db)
        return e
    }
}
