import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Whether a plan covers a member: through the unit's remitted funds, or a share of an enrolment that was paid.
enum AidCover {
    struct Cover: Sendable {
        /// The first day of cover (before the waiting period).
        let start: String
        let shares: Int
    }

    static func cover(_ plan: AidPlan, member: Member, on db: any Database) async throws -> Cover? {
        guard member.status == .active else { return nil }
        let sql = db as! any SQLDatabase
        if plan.automatic {
            let row = try await sql.raw("""
                SELECT remitted FROM org_funds_remitted WHERE org_id = \(bind: member.orgID) AND year = \(bind: plan.year)
                """).first()
            guard let row, try row.decode(column: "remitted", as: Bool.self) else { return nil }
            return Cover(start: member.joinedOn, shares: 1)
        }
        let row = try await sql.raw("""
            SELECT s.shares, e.cover_from FROM mutual_aid_shares s JOIN mutual_aid_enrolments e ON e.id = s.enrolment_id
            WHERE s.plan_id = \(bind: plan.requireID()) AND s.member_id = \(bind: member.requireID()) AND s.live = \(db.isPostgres ? SQLQueryString("TRUE") : "1")
              AND e.cover_from IS NOT NULL
            """).first()
        guard let row else { return nil }
        return Cover(start: try row.decode(column: "cover_from", as: String.self), shares: try row.decode(column: "shares", as: Int.self))
    }
}

/// Claims by application and the review of claims: one place for both the staff and the member routes.
enum AidApplications {
    static func submit(_ input: AidApplicationInput, member: Member, staffID: Int?, on db: any Database) async throws -> AidClaim {
        var v = Validator()
        if input.planId == nil { v.add("planId", "required") }
        var day: String?
        if let raw = input.eventDate, !raw.isEmpty {
            if let d = try? CalendarDate(parsing: raw) {
                if d > ShanghaiClock.today() { v.add("eventDate", "future", "mutualAid.error.futureDate") } else { day = d.description }
            } else { v.add("eventDate", "format", "error.field.date") }
        } else { v.add("eventDate", "required") }
        let asked = v.yuan(input.askedYuan, "askedYuan", required: true)
        let description = v.text(input.description, "description", required: true, max: 1000)
        try v.check()
        guard let plan = try await AidPlan.find(input.planId!, on: db) else {
            throw AppError.invalid([FieldIssue("planId", "notFound", "mutualAid.error.noPlan")])
        }
        guard plan.kind.byApplication else {
            throw AppError.conflict("mutualAid.error.paidFromSettlements", fields: [FieldIssue("planId", "fromSettlements", "mutualAid.error.paidFromSettlements")])
        }
        guard plan.covers(day!) else {
            throw AppError.conflict("mutualAid.error.notCovered", fields: [FieldIssue("eventDate", ClaimOutcome.notCovered.rawValue, "mutualAid.error.notCovered")])
        }
        guard let cover = try await AidCover.cover(plan, member: member, on: db), cover.start <= day! else {
            throw AppError.conflict("mutualAid.error.notCovered", fields: [FieldIssue("memberId", ClaimOutcome.notCovered.rawValue, "mutualAid.error.notCovered")])
        }
        if AidRule.afterWaiting(cover.start, days: plan.waitingDays) > day! {
            throw AppError.conflict("mutualAid.error.waitingPeriod", args: ["day": AidRule.afterWaiting(cover.start, days: plan.waitingDays)],
                                    fields: [FieldIssue("eventDate", ClaimOutcome.waitingPeriod.rawValue, "mutualAid.error.waitingPeriod",
                                                        ["day": AidRule.afterWaiting(cover.start, days: plan.waitingDays)])])
        }
        let c = AidClaim()
        c.planID = plan.id
        c.memberID = member.id
        c.orgID = member.orgID
        c.source = "application"
        c.visitDate = day!
        c.totalFen = asked!
        c.insuranceFen = 0
        c.selfPaidFen = asked!
        c.benefitFen = 0
        c.outcome = ClaimOutcome.pending.rawValue
        c.state = "submitted"
        c.description = description
        c.createdBy = staffID
        c.month = String(day!.prefix(7))
        c.createdAt = Date()
        try await c.create(on: db)
        return c
    }

    /// requestInfo, resubmit, approve (with the computed amount, or less) and reject (with a code).
    static func act(_ claim: AidClaim, action: String, input: AidClaimAction, scope: Scope?, on db: any Database) async throws -> AidClaim {
        func refuse(_ key: String = "mutualAid.error.wrongState") -> AppError {
            AppError.conflict(key, fields: [FieldIssue("action", "state", key, ["state": claim.state])])
        }
        let deciding = ["approve", "reject", "requestInfo"].contains(action)
        if deciding { guard let scope, scope.role.decidesAid else { throw AppError.forbidden } }
        switch action {
        case "requestInfo":
            guard claim.state == "submitted" else { throw refuse() }
            var v = Validator()
            claim.reason = v.text(input.reason, "reason", required: true, max: 500)
            try v.check()
            claim.state = "moreInfo"
            claim.reviewedBy = scope?.staffID
            try await claim.save(on: db)
        case "resubmit":
            guard claim.state == "moreInfo" else { throw refuse() }
            claim.state = "submitted"
            try await claim.save(on: db)
        case "approve":
            guard claim.state == "submitted" || claim.state == "review" else { throw refuse() }
            var v = Validator()
            let cap = v.yuan(input.amountYuan, "amountYuan")
            try v.check()
            if claim.state == "review" {
                claim.state = "approved"
                claim.reviewedBy = scope?.staffID
                claim.decidedAt = Date()
                try await claim.save(on: db)
                return claim
            }
            try await db.transaction { tx in
                guard let plan = try await AidPlan.find(claim.planID, on: tx), let memberID = claim.memberID,
                      let member = try await Member.find(memberID, on: tx) else { throw AppError.notFound }
                let shares = try await AidCover.cover(plan, member: member, on: tx)?.shares ?? 1
                var terms = plan.terms
                terms.perClaimCapFen = plan.perClaimCapFen.map { $0 * Int64(shares) }
                let used = try await AidClaims.lockedUsage(plan: plan, memberID: memberID, on: tx)
                let decision = AidRule.decide(selfPaidFen: claim.selfPaidFen, terms: terms, yearlyUsed: used.yearly, totalUsed: used.total)
                var benefit = decision.benefitFen
                if let cap, decision.outcome == .paid {
                    guard cap <= benefit else {
                        throw AppError.invalid([FieldIssue("amountYuan", "aboveRule", "mutualAid.error.aboveRule", ["max": Money.yuan(benefit)])])
                    }
                    benefit = cap
                }
                claim.outcome = benefit > 0 ? ClaimOutcome.paid.rawValue : decision.outcome.rawValue
                claim.benefitFen = benefit
                claim.state = benefit > 0 ? "approved" : "closed"
                claim.reviewedBy = scope?.staffID
                claim.decidedAt = Date()
                try await claim.save(on: tx)
                if benefit > 0 {
                    try await AidClaims.addUsage([UsageKey(plan: plan.requireID(), member: memberID): (benefit, 1)],
                                                 totals: [TotalKey(member: memberID, kind: plan.kind.rawValue): benefit], on: tx)
                }
                try await AidClaims.tally([claim], on: tx)
            }
        case "reject":
            guard claim.state == "submitted" || claim.state == "moreInfo" || claim.state == "review" else { throw refuse() }
            var v = Validator()
            if let code = input.code, Self.rejectCodes.contains(code) {} else {
                v.add("code", input.code == nil ? "required" : "unknown", input.code == nil ? nil : "error.field.oneOf", ["values": rejectCodes.joined(separator: ", ")])
            }
            let reason = v.text(input.reason, "reason", required: true, max: 500)
            try v.check()
            try await db.transaction { tx in
                if claim.state == "review", let planID = claim.planID, let memberID = claim.memberID, let plan = try await AidPlan.find(planID, on: tx) {
                    // A sampled claim had counted against the caps when it was adjudicated: give it back.
                    try await AidClaims.giveBack(plan: plan, memberID: memberID, fen: claim.benefitFen, on: tx)
                    try await AidClaims.tally([claim], sign: -1, on: tx)
                    claim.benefitFen = 0
                }
                claim.outcome = ClaimOutcome.rejected.rawValue
                claim.state = "rejected"
                claim.rejectCode = input.code
                claim.reason = reason
                claim.reviewedBy = scope?.staffID
                claim.decidedAt = Date()
                try await claim.save(on: tx)
                try await AidClaims.tally([claim], on: tx)
            }
        default:
            throw AppError.invalid([FieldIssue("action", "unknown", "error.field.oneOf", ["values": "requestInfo, resubmit, approve, reject"])])
        }
        return claim
    }

    static let rejectCodes = AidClaimController.rejectCodes
}
