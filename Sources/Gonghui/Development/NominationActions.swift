import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// A nomination's steps: the district's review and the city's, the 公示, objections and their
/// answers, the award (with its prize through the funds ledger), rejection and revocation.
enum NominationActions {
    static let actions = ["review", "notice", "object", "answer", "award", "reject", "revoke"]

    static func conflict(_ key: String, _ args: [String: String] = [:]) -> AppError {
        AppError.conflict(key, args: args, fields: [FieldIssue("action", "state", key, args)])
    }

    static func perform(_ req: Request, _ n: HonourNomination, _ c: HonourCampaign, _ campaignOrg: Organization,
                        _ input: NominationActionInput, today: CalendarDate = ShanghaiClock.today()) async throws {
        let scope = try req.scope
        var v = Validator()
        guard let action = input.action, actions.contains(action) else {
            v.add("action", "unknown", "error.field.oneOf", ["values": actions.joined(separator: ", ")])
            try v.check()
            return
        }
        let runs = HonourCampaigns.runs(scope, campaignOrg)
        switch action {
        case "review":
            try scope.require(scope.role.managesOrgs)
            guard n.state == .nominated || n.state == .districtReviewed else { throw conflict("honour.error.state") }
            try await req.db.transaction { tx in
                // the organiser's review is the last one; a node between it and the union reviews first
                if runs {
                    if n.state == .nominated { n.districtReviewedBy = scope.staffID }
                    n.cityReviewedBy = scope.staffID
                    n.state = .cityReviewed
                } else {
                    guard n.state == .nominated else { throw conflict("honour.error.cityReview") }
                    n.districtReviewedBy = scope.staffID
                    n.state = .districtReviewed
                }
                try await n.save(on: tx)
                try await audit(req, "honour.review", n, [:], tx)
            }
        case "notice":
            guard runs else { throw AppError.forbidden }
            guard n.state == .cityReviewed else { throw conflict("honour.error.notReviewed") }
            guard c.state == .open else { throw conflict("honour.error.closed") }
            try await req.db.transaction { tx in
                try await putInNotice(c, campaignOrg, [n], today: today, on: tx)
                try await audit(req, "honour.notice", n, [:], tx)
            }
        case "object":
            guard n.state == .inNotice, let entryID = n.noticeEntryID, let entry = try await PublicNoticeEntry.find(entryID, on: req.db) else {
                throw conflict("honour.error.notInNotice")
            }
            let objection = try await PublicNotices.object(noticeID: entry.noticeID, entryID: entryID, name: input.name, phone: input.phone,
                                                           text: input.reason, on: req.db, today: today)
            try await audit(req, "honour.object", n, ["objection": String(objection.id ?? 0)], req.db)
        case "answer":
            guard let entryID = n.noticeEntryID else { throw conflict("honour.error.notInNotice") }
            let open = try await PublicNoticeObjection.query(on: req.db).filter(\.$entryID == entryID).filter(\.$state == "open").all()
            guard !open.isEmpty else { throw conflict("honour.error.noObjection") }
            for o in open { try await PublicNotices.answer(o, text: input.reason, staffID: scope.staffID, on: req.db) }
            try await audit(req, "honour.answer", n, ["objections": String(open.count)], req.db)
        case "award":
            guard runs else { throw AppError.forbidden }
            try await award(req, n, c, campaignOrg, today: today)
        case "reject":
            guard runs || (scope.role.managesOrgs && n.state == .nominated) else { throw AppError.forbidden }
            guard [.nominated, .districtReviewed, .cityReviewed, .inNotice].contains(n.state) else { throw conflict("honour.error.state") }
            let reason = v.text(input.reason, "reason", required: true, max: 500)
            try v.check()
            try await req.db.transaction { tx in
                n.state = .rejected
                n.reason = reason
                try await n.save(on: tx)
                try await audit(req, "honour.reject", n, ["reason": reason!], tx)
            }
        default: // revoke
            guard runs else { throw AppError.forbidden }
            guard n.state == .awarded else { throw conflict("honour.error.notAwarded") }
            let reason = v.text(input.reason, "reason", required: true, max: 500)
            try v.check()
            try await req.db.transaction { tx in
                n.state = .revoked
                n.reason = reason
                try await n.save(on: tx)
                try await (tx as! any SQLDatabase).raw("""
                    UPDATE honour_awards SET revoked_on = \(bind: today.description), revoke_reason = \(bind: reason!) WHERE nomination_id = \(bind: n.requireID())
                    """).run()
                try await audit(req, "honour.revoke", n, ["reason": reason!], tx)
            }
        }
    }

    static func audit(_ req: Request, _ action: String, _ n: HonourNomination, _ details: [String: String], _ db: any Database) async throws {
        try await req.audit.record(action, targetType: "honourNomination", targetID: n.id, details: details.merging(["campaign": String(n.campaignID)]) { a, _ in a },
                                   on: db)
    }

    /// Puts city-reviewed nominations in the campaign's notice: today's, or a new one for N days.
    static func putInNotice(_ c: HonourCampaign, _ org: Organization, _ list: [HonourNomination], today: CalendarDate, on tx: any Database) async throws {
        guard !list.isEmpty else { return }
        let honour = try await HonourCampaigns.honour(code: c.honourCode, on: tx)
        let lines = list.map {
            PublicNotices.Line(refID: $0.id ?? 0, name: $0.name, unitName: $0.employer,
                               summary: "\(honour?.name ?? c.title)：\(String($0.citation.prefix(300)))")
        }
        var notice: PublicNotice?
        if let id = c.noticeID, let existing = try await PublicNotice.find(id, on: tx), existing.startsOn == today.description { notice = existing }
        if let notice {
            try await PublicNotices.add(lines, to: notice, on: tx)
        } else {
            let made = try await PublicNotices.open(kind: "honour", refID: c.requireID(), org: org, title: DevelopmentPages.heading(c.title, c.year),
                                                    days: c.noticeDays, rule: PublicNotices.DayRule(rawValue: c.dayRule) ?? .calendar,
                                                    lines: lines, today: today, on: tx)
            c.noticeID = try made.requireID()
            try await c.save(on: tx)
            notice = made
        }
        let entries = try await PublicNoticeEntry.query(on: tx).filter(\.$noticeID == notice!.requireID()).all()
        for n in list {
            n.noticeEntryID = entries.last { $0.refID == n.id }?.id
            n.state = .inNotice
            try await n.save(on: tx)
        }
    }

    /// Awarded once the notice has ended with no objection open; the prize is paid from the campaign's fund.
    static func award(_ req: Request, _ n: HonourNomination, _ c: HonourCampaign, _ org: Organization, today: CalendarDate) async throws {
        let scope = try req.scope
        guard n.state == .inNotice, let entryID = n.noticeEntryID else { throw conflict("honour.error.notInNotice") }
        guard c.state == .open else { throw conflict("honour.error.closed") }
        try await req.db.transaction { tx in
            try await tx.lock("honour.campaign:\(n.campaignID)")
            guard let entry = try await PublicNoticeEntry.find(entryID, on: tx), let notice = try await PublicNotice.find(entry.noticeID, on: tx) else {
                throw conflict("honour.error.notInNotice")
            }
            if entry.held { throw conflict("honour.error.objectionOpen", ["name": n.name]) }
            if notice.isRunning(today: today) { throw conflict("honour.error.noticeRunning", ["date": notice.endsOn]) }
            let awarded = try await HonourNomination.query(on: tx).filter(\.$campaignID == n.campaignID).filter(\.$state == .awarded).count()
            if awarded >= c.quota { throw conflict("honour.error.quotaFull", ["quota": String(c.quota)]) }
            let honour = try await HonourCampaigns.honour(code: c.honourCode, on: tx)
            let a = HonourAward()
            a.nominationID = n.id
            a.campaignID = c.id
            a.honourCode = c.honourCode
            a.honourName = honour?.name ?? c.title
            a.year = c.year
            a.orgID = n.orgID
            a.memberID = n.memberID
            a.name = n.name
            a.employer = n.employer
            a.category = n.category
            a.prizeFen = c.prizeFen
            a.awardedOn = today.description
            if c.prizeFen > 0 {
                guard let fundID = c.fundID, let fund = try await Fund.find(fundID, on: tx) else { throw FundsLedger.overBudget(org) }
                let context = FundsLedger.Context(staffID: scope.staffID, reason: "\(a.honourName) \(n.name)", memberID: n.memberID,
                                                  ref: "honour:\(n.id ?? 0)")
                try await FundsLedger.reserve(fund, org: org, fen: c.prizeFen, context, on: tx)
                a.fundEntryID = try await FundsLedger.pay(fund, orgID: c.orgID, fen: c.prizeFen, context, on: tx).id
            }
            try await a.create(on: tx)
            n.state = .awarded
            try await n.save(on: tx)
            try await audit(req, "honour.award", n, ["prizeFen": String(c.prizeFen)], tx)
        }
    }
}
