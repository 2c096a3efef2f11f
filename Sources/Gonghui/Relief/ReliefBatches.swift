import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// A batch's steps: draft → submitted → (the district approves) inNotice → paid; cancel before
/// payment gives every reservation back. A step out of order is 409 and changes nothing.
enum ReliefBatches {
    enum Action: String, Sendable { case submit, approve, pay, cancel }

    static func outOfOrder(_ action: Action, _ state: ReliefBatchState) -> AppError {
        AppError.conflict("relief.error.outOfOrder", args: ["action": action.rawValue, "state": state.rawValue],
                          fields: [FieldIssue("action", "state", "relief.error.outOfOrder", ["action": action.rawValue, "state": state.rawValue])])
    }

    static func act(_ action: Action, batch: ReliefBatch, input: ReliefActionInput, scope: Scope, req: Request) async throws -> ReliefBatch {
        guard let program = try await ReliefProgram.find(batch.programID, on: req.db),
              let org = try await Organization.find(batch.orgID, on: req.db) else { throw AppError.notFound }
        let batchID = try batch.requireID()
        return try await req.db.transaction { tx in
            try await tx.lock("relief.batch:\(batchID)")
            guard let current = try await ReliefBatch.find(batchID, on: tx) else { throw AppError.notFound }
            let from = current.state
            switch action {
            case .submit:
                guard current.state == .draft else { throw outOfOrder(action, current.state) }
                guard current.lineCount > 0 else {
                    throw AppError.conflict("relief.error.emptyBatch", fields: [FieldIssue("action", "empty", "relief.error.emptyBatch")])
                }
                current.state = .submitted
            case .approve:
                try scope.require(scope.role.approvesRelief)
                guard current.state == .submitted else { throw outOfOrder(action, current.state) }
                let lines = try await ReliefLine.query(on: tx).filter(\.$batchID == batchID).filter(\.$state == .reserved).sort(\.$id).all()
                let units = try await unitNames(lines, on: tx)
                let days = try await AssistanceSettings.noticeWorkingDays(on: tx)
                let notice = try await PublicNotices.open(
                    kind: "reliefBatch", refID: batchID, org: org, title: req.t("relief.notice.title", ["program": program.name]),
                    days: days, rule: .working,
                    lines: lines.map { .init(refID: $0.id ?? 0, name: $0.recipientName, unitName: units[$0.householdID ?? 0] ?? org.name,
                                             summary: "¥" + Money.display($0.amountFen)) }, on: tx)
                current.noticeID = try notice.requireID()
                current.approvedBy = scope.staffID
                current.state = .inNotice
            case .pay:
                guard current.state == .inNotice, let noticeID = current.noticeID, let notice = try await PublicNotice.find(noticeID, on: tx)
                else { throw outOfOrder(action, current.state) }
                guard !notice.isRunning(today: ShanghaiClock.today()) else {
                    throw AppError.conflict("relief.error.noticeRunning", args: ["date": notice.endsOn],
                                            fields: [FieldIssue("action", "noticeRunning", "relief.error.noticeRunning", ["date": notice.endsOn])])
                }
                let held = try await PublicNoticeEntry.query(on: tx).filter(\.$noticeID == noticeID).filter(\.$held == true).count()
                guard held == 0 else {
                    throw AppError.conflict("relief.error.objectionHeld", fields: [FieldIssue("action", "objectionHeld", "relief.error.objectionHeld")])
                }
                try await pay(current, program: program, input: input, staffID: scope.staffID, on: tx)
                current.state = .paid
                current.paidAt = Date()
            case .cancel:
                guard [.draft, .submitted, .inNotice].contains(current.state) else { throw outOfOrder(action, current.state) }
                try await releaseAll(current, program: program, state: .released, reason: input.note, staffID: scope.staffID, on: tx)
                current.state = .cancelled
            }
            try await current.save(on: tx)
            try await req.audit.record("relief.batch.\(action.rawValue)", targetType: "reliefBatch", targetID: batchID, org: org,
                                       details: ["from": from.rawValue, "to": current.state.rawValue], on: tx)
            return current
        }
    }

    static func unitNames(_ lines: [ReliefLine], on db: any Database) async throws -> [Int: String] {
        let ids = Array(Set(lines.compactMap(\.householdID)))
        guard !ids.isEmpty else { return [:] }
        var out: [Int: String] = [:]
        for row in try await (db as! any SQLDatabase).raw("""
            SELECT h.id, o.name FROM hardship_households h JOIN organizations o ON o.id = h.org_id WHERE h.id IN (\(binds: ids))
            """).all() {
            out[try row.decode(column: "id", as: Int.self)] = try row.decode(column: "name", as: String.self)
        }
        return out
    }

    /// Pays every reserved line: a `pay` entry each with the bank's reference; a line the bank
    /// refused releases its reservation instead.
    static func pay(_ batch: ReliefBatch, program: ReliefProgram, input: ReliefActionInput, staffID: Int?, on tx: any Database) async throws {
        let batchID = try batch.requireID()
        guard let fund = try await Fund.find(program.fundID, on: tx) else { throw AppError.notFound }
        var answers: [Int: ReliefActionInput.Payment] = [:]
        for p in input.payments ?? [] {
            guard let id = p.lineId else { throw AppError.invalid([FieldIssue("payments.lineId", "required")]) }
            answers[id] = p
        }
        let lines = try await ReliefLine.query(on: tx).filter(\.$batchID == batchID).filter(\.$state == .reserved).sort(\.$id).all()
        let known = Set(lines.compactMap(\.id))
        if let stray = answers.keys.first(where: { !known.contains($0) }) {
            throw AppError.invalid([FieldIssue("payments.lineId", "notFound", nil, ["id": String(stray)])])
        }
        let batchReference = input.reference.map { String($0.prefix(60)) } ?? "RB\(batchID)"
        var failedFen: Int64 = 0
        var failedCount = 0
        for line in lines {
            let lineID = try line.requireID()
            let answer = answers[lineID]
            let context = FundsLedger.Context(staffID: staffID, householdID: line.householdID, batchID: batchID, ref: "relief-line:\(lineID)")
            if answer?.failed == true {
                try await FundsLedger.release(fund, orgID: batch.orgID, fen: line.amountFen, context, on: tx)
                line.state = .failed
                failedFen += line.amountFen
                failedCount += 1
            } else {
                let entry = try await FundsLedger.pay(fund, orgID: batch.orgID, fen: line.amountFen, context, on: tx)
                line.state = .paid
                line.payEntryID = entry.id
                line.payReference = answer?.reference.map { String($0.prefix(60)) } ?? "\(batchReference)-\(lineID)"
            }
            try await line.save(on: tx)
        }
        if failedCount > 0 {
            try await (tx as! any SQLDatabase).raw("""
                UPDATE relief_batches SET line_count = line_count - \(bind: failedCount), total_fen = total_fen - \(bind: failedFen) WHERE id = \(bind: batchID)
                """).run()
            batch.lineCount -= failedCount
            batch.totalFen -= failedFen
        }
    }

    /// Gives every reservation of the batch back (a cancelled batch).
    static func releaseAll(_ batch: ReliefBatch, program: ReliefProgram, state: ReliefLineState, reason: String?, staffID: Int,
                           on tx: any Database) async throws {
        let batchID = try batch.requireID()
        guard let fund = try await Fund.find(program.fundID, on: tx) else { throw AppError.notFound }
        for line in try await ReliefLine.query(on: tx).filter(\.$batchID == batchID).filter(\.$state == .reserved).all() {
            let lineID = try line.requireID()
            try await FundsLedger.release(fund, orgID: batch.orgID, fen: line.amountFen,
                                          .init(staffID: staffID, reason: reason, householdID: line.householdID, batchID: batchID,
                                                ref: "relief-line:\(lineID)"), on: tx)
            line.state = state
            try await line.save(on: tx)
        }
    }

    /// A paid line undone, once, with a reason: a `reverse` entry; the money is available again.
    static func reverse(_ line: ReliefLine, batch: ReliefBatch, reason: String, req: Request) async throws {
        let scope = try req.scope
        guard line.state == .paid, let entryID = line.payEntryID else {
            throw AppError.conflict("relief.error.notPaid", fields: [FieldIssue("lineId", "notPaid", "relief.error.notPaid")])
        }
        try await req.db.transaction { tx in
            guard let payment = try await FundEntry.find(entryID, on: tx) else { throw AppError.notFound }
            try await FundsLedger.reverse(payment, reason: reason, staffID: scope.staffID, on: tx)
            line.state = .reversed
            line.reason = reason
            try await line.save(on: tx)
            try await (tx as! any SQLDatabase).raw("""
                UPDATE relief_batches SET line_count = line_count - 1, total_fen = total_fen - \(bind: line.amountFen) WHERE id = \(bind: batch.requireID())
                """).run()
            try await req.audit.record("relief.line.reverse", targetType: "reliefBatch", targetID: batch.id,
                                       details: ["line": String(line.id ?? 0), "reason": reason], on: tx)
        }
    }
}
