import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

struct AidPayoutDTO: Content {
    let id: Int
    let planId: Int
    let day: String
    let state: String
    let lines: Int
    let totalYuan: Decimal
    let paidYuan: Decimal
    let failed: Int

    init(_ p: AidPayout) {
        id = p.id ?? 0
        planId = p.planID
        day = p.day
        state = p.state
        lines = p.lines
        totalYuan = Decimal(fen: p.totalFen)
        paidYuan = Decimal(fen: p.paidFen)
        failed = p.failed
    }
}

/// `/api/v1/mutual-aid-payouts`: the day's approved claims of a plan reserved in the plan's fund as
/// one batch, the bank's file made from it, then the bank's answer: paid lines become `pay`
/// entries and an SMS to the member; failed lines are released and wait for the next batch.
struct AidPayoutController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let p = routes.grouped("mutual-aid-payouts")
        p.post(use: create)
        p.get(use: list)
        p.get(":id", use: show)
        p.get(":id", "bank-file", use: bankFile)
        p.post(":id", "actions", use: act)
    }

    static func payout(_ req: Request) async throws -> AidPayout {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        guard let p = try await AidPayout.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        return p
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        struct Input: Content { var planId: Int? }
        let input = try req.content.decode(Input.self)
        guard let planID = input.planId else { throw AppError.invalid([FieldIssue("planId", "required")]) }
        guard let plan = try await AidPlan.find(planID, on: req.db) else { throw AppError.invalid([FieldIssue("planId", "notFound", "mutualAid.error.noPlan")]) }
        let payout = try await Self.issue(plan, staffID: scope.staffID, on: req.db)
        try await req.audit.record("mutualAid.payout.issue", targetType: "mutualAidPayout", targetID: payout.id,
                                   details: ["lines": String(payout.lines), "totalFen": String(payout.totalFen)])
        return try await AidPayoutDTO(payout).encodeResponse(status: .created, for: req)
    }

    /// Reserves every approved claim of the plan not yet in a batch (at most `limit`); 409 when there is none.
    static func issue(_ plan: AidPlan, staffID: Int?, limit: Int = 50_000, on db: any Database) async throws -> AidPayout {
        try await db.transaction { tx in
            let planID = try plan.requireID()
            try await tx.lock("mutualAid.payout:\(planID)")
            let claims = try await AidClaim.query(on: tx).filter(\.$planID == planID).filter(\.$state == "approved").filter(\.$payoutID == nil)
                .sort(\.$id).limit(limit).all()
            guard !claims.isEmpty else {
                throw AppError.conflict("mutualAid.error.nothingToPay", fields: [FieldIssue("planId", "nothingToPay", "mutualAid.error.nothingToPay")])
            }
            guard let root = try await Organization.find(plan.orgID, on: tx) else { throw AppError.notFound }
            let payout = AidPayout()
            payout.planID = planID
            payout.day = ShanghaiClock.today().description
            payout.state = "issued"
            payout.lines = claims.count
            payout.totalFen = claims.reduce(0) { $0 + $1.benefitFen }
            payout.paidFen = 0
            payout.failed = 0
            payout.staffID = staffID
            try await payout.create(on: tx)
            let payoutID = try payout.requireID()
            try await FundsLedger.reserveMany(fundID: plan.fundID, org: root, holds: claims.map {
                .init(fen: $0.benefitFen, context: .init(staffID: staffID, memberID: $0.memberID, batchID: payoutID, ref: "mutual-aid-claim:\($0.id ?? 0)"))
            }, on: tx)
            let sql = tx as! any SQLDatabase
            for chunk in claims.compactMap(\.id).chunked(500) {
                // The card the money goes to, as it is today: a card replaced later does not move a payment made.
                try await sql.raw("""
                    UPDATE mutual_aid_claims SET state = 'inPayout', payout_id = \(bind: payoutID),
                      card_snapshot = (SELECT card_number FROM members WHERE members.id = mutual_aid_claims.member_id)
                    WHERE id IN (\(binds: chunk))
                    """).run()
            }
            return payout
        }
    }

    @Sendable func list(req: Request) async throws -> [AidPayoutDTO] {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        var v = Validator()
        var query = AidPayout.query(on: req.db)
        if let id = req.optionalID("planId", &v) { query = query.filter(\.$planID == id) }
        try v.check()
        return try await query.sort(\.$id, .descending).limit(200).all().map(AidPayoutDTO.init)
    }

    @Sendable func show(req: Request) async throws -> AidPayoutDTO { AidPayoutDTO(try await Self.payout(req)) }

    /// The bank's file: one line per claim, the member's name, card and the amount; audited.
    @Sendable func bankFile(req: Request) async throws -> Response {
        let payout = try await Self.payout(req)
        let format = try RosterFiles.format(req)
        let payoutID = try payout.requireID()
        try await req.audit.record("mutualAid.payout.bankFile", targetType: "mutualAidPayout", targetID: payoutID, details: ["format": format])
        let header = ["mutualAid.bank.seq", "mutualAid.bank.name", "mutualAid.bank.card", "mutualAid.bank.amount", "mutualAid.bank.ref", "mutualAid.bank.note"]
            .map { req.t($0) }
        return try await RosterFiles.downloadInBatches(req, name: "mutual-aid-payout-\(payoutID)", format: format, header: header,
                                                       widths: [8, 12, 24, 14, 24, 30]) { write in
            var after = 0
            var seq = 0
            while true {
                let rows = try await (req.db as! any SQLDatabase).raw("""
                    SELECT c.id, c.benefit_fen, c.card_snapshot, c.settlement_number, m.name FROM mutual_aid_claims c
                    JOIN members m ON m.id = c.member_id WHERE c.payout_id = \(bind: payoutID) AND c.id > \(bind: after) ORDER BY c.id LIMIT 1000
                    """).all()
                guard !rows.isEmpty else { return }
                var cells: [[Cell]] = []
                for r in rows {
                    seq += 1
                    let id = try r.decode(column: "id", as: Int.self)
                    after = id
                    cells.append([.integer(Int64(seq)), .text(try r.decode(column: "name", as: String.self)),
                                  .text((try? r.decode(column: "card_snapshot", as: String?.self)) ?? nil ?? ""),
                                  .text(Money.yuan(try r.decode(column: "benefit_fen", as: Int64.self))),
                                  .text("GH\(id)"), .text(req.t("mutualAid.bank.noteText"))])
                }
                try await write(cells)
            }
        }
    }

    /// `{"action":"settle","failedClaimIds":[…]}`: the bank's answer.
    @Sendable func act(req: Request) async throws -> AidPayoutDTO {
        let scope = try req.scope
        let payout = try await Self.payout(req)
        struct Input: Content { var action: String?; var failedClaimIds: [Int]? }
        let input = try req.content.decode(Input.self)
        guard input.action == "settle" else { throw AppError.invalid([FieldIssue("action", "unknown", "error.field.oneOf", ["values": "settle"])]) }
        guard payout.state == "issued" else {
            throw AppError.conflict("mutualAid.error.wrongState", fields: [FieldIssue("action", "state", "mutualAid.error.wrongState", ["state": payout.state])])
        }
        guard let plan = try await AidPlan.find(payout.planID, on: req.db) else { throw AppError.notFound }
        let settled = try await Self.settle(payout, plan: plan, failed: Set(input.failedClaimIds ?? []), staffID: scope.staffID, on: req.db)
        try await req.audit.record("mutualAid.payout.settle", targetType: "mutualAidPayout", targetID: payout.id,
                                   details: ["paidFen": String(settled.payout.paidFen), "failed": String(settled.payout.failed)])
        let app = req.application
        let lang = req.lang
        for (phone, fen) in settled.messages {
            guard let number = try? PhoneNumber(parsing: phone) else { continue }
            let text = app.localizer.text("mutualAid.sms.paid", lang, ["amount": Money.yuan(fen), "plan": plan.name])
            try? await app.sms.send(to: number, text: text, logger: req.logger)
        }
        return AidPayoutDTO(settled.payout)
    }

    static func settle(_ payout: AidPayout, plan: AidPlan, failed: Set<Int>, staffID: Int?, on db: any Database)
        async throws -> (payout: AidPayout, messages: [(String, Int64)]) {
        try await db.transaction { tx in
            let payoutID = try payout.requireID()
            try await tx.lock("mutualAid.payout:\(plan.requireID())")
            guard let fresh = try await AidPayout.find(payoutID, on: tx), fresh.state == "issued" else {
                throw AppError.conflict("mutualAid.error.wrongState", fields: [FieldIssue("action", "state", "mutualAid.error.wrongState", ["state": "settled"])])
            }
            let claims = try await AidClaim.query(on: tx).filter(\.$payoutID == payoutID).filter(\.$state == "inPayout").all()
            let ids = Set(claims.compactMap(\.id))
            let unknown = failed.subtracting(ids)
            guard unknown.isEmpty else {
                throw AppError.invalid([FieldIssue("failedClaimIds", "notInBatch", "mutualAid.error.notInBatch", ["ids": unknown.sorted().map(String.init).joined(separator: ", ")])])
            }
            func hold(_ c: AidClaim, _ reason: String?) -> FundsLedger.Hold {
                .init(fen: c.benefitFen, context: .init(staffID: staffID, reason: reason, memberID: c.memberID, batchID: payoutID, ref: "mutual-aid-claim:\(c.id ?? 0)"))
            }
            let paid = claims.filter { !failed.contains($0.id ?? 0) }
            let returned = claims.filter { failed.contains($0.id ?? 0) }
            try await FundsLedger.payMany(fundID: plan.fundID, orgID: plan.orgID, holds: paid.map { hold($0, nil) }, on: tx)
            try await FundsLedger.releaseMany(fundID: plan.fundID, orgID: plan.orgID, holds: returned.map { hold($0, "bank returned") }, on: tx)
            let sql = tx as! any SQLDatabase
            let now = Date()
            for chunk in paid.compactMap(\.id).chunked(500) {
                try await sql.raw("UPDATE mutual_aid_claims SET state = 'settled', decided_at = \(bind: now) WHERE id IN (\(binds: chunk))").run()
            }
            // A failed payment waits for the next batch, issued again to the card the member then has.
            for chunk in returned.compactMap(\.id).chunked(500) {
                try await sql.raw("UPDATE mutual_aid_claims SET state = 'approved', payout_id = NULL, card_snapshot = NULL WHERE id IN (\(binds: chunk))").run()
            }
            fresh.state = "settled"
            fresh.paidFen = paid.reduce(0) { $0 + $1.benefitFen }
            fresh.failed = returned.count
            fresh.settledAt = now
            try await fresh.save(on: tx)
            var messages: [(String, Int64)] = []
            let members = try await Member.query(on: tx).filter(\.$id ~~ paid.compactMap(\.memberID)).all()
            let phones = Dictionary(members.map { ($0.id!, $0.phone) }) { a, _ in a }
            for c in paid { if let m = c.memberID, let phone = phones[m] { messages.append((phone, c.benefitFen)) } }
            return (fresh, messages)
        }
    }
}
