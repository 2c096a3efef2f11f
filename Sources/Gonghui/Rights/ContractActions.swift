import Fluent
import Foundation
import GonghuiCore
import Vapor

struct RepresentativeInput: Content {
    var name: String?
    var chief: Bool?
    var expert: Bool?
}

struct ContractActionInput: Content {
    var action: String?
    /// The day it happened, `YYYY-MM-DD`; today when absent.
    var date: String?
    /// `offer`: `union` or `employer`.
    var by: String?
    /// `round`: the minutes and each side's representatives.
    var minutes: String?
    var unionSide: [RepresentativeInput]?
    var employerSide: [RepresentativeInput]?
    /// `vote`: the congress resolution that passed the draft.
    var resolutionId: Int?
    /// `sign`: the term, 1 to 3 years.
    var termYears: Int?
    /// `draft`: the terms.
    var wageRisePercent: Decimal?
    var lowestWageYuan: Decimal?
    var topics: [String]?
    var workersCovered: Int?
    /// `object`, `end`: why.
    var reason: String?
}

/// The steps of bargaining and a contract's life, each allowed from some states only (409 from the
/// others), each dated no earlier than the step before it (422 naming `date`), and the clocks each
/// step starts or stops.
enum ContractActions {
    static let all = ["offer", "reply", "round", "draft", "vote", "sign", "file", "object", "publish", "renew", "amend", "end"]

    static let from: [String: [ContractState]] = [
        "offer": [.preparing], "reply": [.offered], "round": [.bargaining], "draft": [.bargaining], "vote": [.drafted],
        "sign": [.adopted], "file": [.signed], "object": [.underReview], "publish": [.inForce], "renew": [.inForce],
        "amend": [.inForce], "end": ContractState.allCases.filter { !$0.isFinal },
    ]

    /// Runs `input.action` on `c` (locked and reloaded by the caller, inside its transaction).
    /// Returns the new version's id for `renew` and `amend`.
    static func apply(_ input: ContractActionInput, to c: CollectiveContract, staffID: Int?, today: CalendarDate,
                      calendar: WorkingCalendar, on db: any Database) async throws -> Int? {
        var v = Validator()
        guard let action = input.action, all.contains(action) else {
            if input.action == nil { v.add("action", "required") } else { v.add("action", "unknown", "error.field.oneOf", ["values": all.joined(separator: ", ")]) }
            try v.check()
            return nil
        }
        var day = today
        if let raw = input.date, !raw.isEmpty {
            if let d = try? CalendarDate(parsing: raw) {
                if d > today { v.add("date", "future", "error.field.date.future") } else { day = d }
            } else { v.add("date", "format", "error.field.date") }
        }
        try v.check()
        guard from[action]?.contains(c.state) == true else {
            throw AppError.conflict("rights.error.contract.step", args: ["action": action, "state": c.state.rawValue],
                                    fields: [FieldIssue("action", "state", "rights.error.contract.step", ["action": action, "state": c.state.rawValue])])
        }
        /// A step dated before the one it follows.
        func notBefore(_ earlier: String?, _ step: String) {
            if let earlier, day.description < earlier { v.add("date", "order", "rights.error.contract.dateOrder", ["after": earlier, "step": step]) }
        }
        let s = c.subject
        var note: String?
        var successor: Int?
        switch action {
        case "offer":
            let by = input.by ?? "union"
            if !["union", "employer"].contains(by) { v.add("by", "unknown", "error.field.oneOf", ["values": "union, employer"]) }
            try v.check()
            c.offerOn = day.description
            c.offerBy = by
            let due = Deadlines.due(after: day, days: RightsRules.replyDays, rule: .calendar, calendar: calendar)
            c.replyDueOn = due.description
            c.state = .offered
            try await Deadlines.set(s, "reply", org: c.orgID, title: c.title, dueOn: due, on: db)
        case "reply":
            notBefore(c.offerOn, "offer")
            try v.check()
            c.repliedOn = day.description
            c.state = .bargaining
            try await Deadlines.done(s, "reply", on: day, db: db)
        case "round":
            notBefore(c.lastRoundOn ?? c.repliedOn, c.lastRoundOn == nil ? "reply" : "round")
            let reps = RightsRules.checkSides(union: input.unionSide, employer: input.employerSide, &v)
            let minutes = input.minutes.map(Normalize.multiLine).flatMap { $0.isEmpty ? nil : $0 }
            if let minutes, minutes.count > 20_000 { v.add("minutes", "tooLong", nil, ["max": "20000"]) }
            try v.check()
            let round = BargainingRound()
            round.contractID = try c.requireID()
            round.heldOn = day.description
            round.minutes = minutes
            round.representatives = reps
            round.staffID = staffID
            try await round.create(on: db)
            c.rounds += 1
            c.lastRoundOn = day.description
        case "draft":
            notBefore(c.lastRoundOn, "round")
            if c.rounds == 0 { v.add("action", "noRound", "rights.error.contract.noRound") }
            RightsRules.terms(input, into: c, &v)
            try v.check()
            c.draftOn = day.description
            c.state = .drafted
        case "vote":
            guard let rid = input.resolutionId else {
                v.add("resolutionId", "required")
                try v.check()
                return nil
            }
            guard let r = try await CongressResolution.find(rid, on: db), let session = try await CongressSession.find(r.sessionID, on: db),
                  let congress = try await Congress.find(r.congressID, on: db), congress.orgID == c.orgID else {
                throw AppError.invalid([FieldIssue("resolutionId", "notFound", "rights.error.contract.resolution")])
            }
            guard r.passed else {
                throw AppError.conflict("rights.error.contract.resolutionFailed", fields: [FieldIssue("resolutionId", "notPassed", "rights.error.contract.resolutionFailed")])
            }
            if let other = r.contractID, other != c.id {
                throw AppError.conflict("rights.error.contract.resolutionUsed", fields: [FieldIssue("resolutionId", "used", "rights.error.contract.resolutionUsed")])
            }
            if let draft = c.draftOn, session.heldOn < draft {
                v.add("resolutionId", "order", "rights.error.contract.dateOrder", ["after": draft, "step": "draft"])
            }
            try v.check()
            r.contractID = c.id
            try await r.save(on: db)
            c.resolutionID = rid
            c.votedOn = session.heldOn
            c.state = .adopted
            day = try CalendarDate(parsing: session.heldOn)
        case "sign":
            notBefore(c.votedOn, "vote")
            if let t = input.termYears { if !RightsRules.termYears.contains(t) { v.add("termYears", "range", nil, ["min": "1", "max": "3"]) } } else { v.add("termYears", "required") }
            try v.check()
            c.signedOn = day.description
            c.termYears = input.termYears
            let due = Deadlines.due(after: day, days: RightsRules.filingDays, rule: .calendar, calendar: calendar)
            c.filingDueOn = due.description
            c.state = .signed
            try await Deadlines.set(s, "filing", org: c.orgID, title: c.title, dueOn: due, on: db)
        case "file":
            notBefore(c.signedOn, "sign")
            try v.check()
            c.filedOn = day.description
            let ends = Deadlines.due(after: day, days: RightsRules.reviewDays, rule: .calendar, calendar: calendar)
            c.reviewEndsOn = ends.description
            c.state = .underReview
            if c.filingLate(today: today) { note = "late" }
            try await Deadlines.done(s, "filing", on: day, db: db)
            try await Deadlines.set(s, "review", org: c.orgID, title: c.title, dueOn: ends, on: db)
            // Filed so long ago that the review is already over: in force now.
            _ = try await ContractClock.settle(c, today: today, on: db)
        case "object":
            notBefore(c.filedOn, "file")
            if let ends = c.reviewEndsOn, day.description > ends { v.add("date", "order", "rights.error.contract.reviewOver", ["ends": ends]) }
            note = v.text(input.reason, "reason", required: false, max: 500)
            try v.check()
            c.objectedOn = day.description
            c.objection = note
            c.state = .bargaining
            c.resolutionID = nil
            try await Deadlines.done(s, "review", on: day, db: db)
        case "publish":
            notBefore(c.inForceOn, "inForce")
            try v.check()
            if c.publishedOn != nil {
                throw AppError.conflict("rights.error.contract.published", fields: [FieldIssue("action", "state", "rights.error.contract.published")])
            }
            c.publishedOn = day.description
            try await Deadlines.done(s, "publication", on: day, db: db)
        case "renew", "amend":
            if c.successorID != nil {
                throw AppError.conflict("rights.error.contract.successor", fields: [FieldIssue("action", "state", "rights.error.contract.successor")])
            }
            let next = try await nextVersion(of: c, staffID: staffID, on: db)
            c.successorID = next
            successor = next
            if action == "renew" { try await Deadlines.done(s, "renewal", on: day, db: db) }
        default: // end
            notBefore(c.inForceOn ?? c.offerOn, c.inForceOn == nil ? "offer" : "inForce")
            note = v.text(input.reason, "reason", required: false, max: 500)
            try v.check()
            c.state = .ended
            c.endedOn = day.description
            c.endReason = note
            try await Deadlines.doneAll(s, on: day, db: db)
        }
        try await c.save(on: db)
        try await ContractEvent(contractID: c.requireID(), action: action, on: day.description, note: note, staffID: staffID).create(on: db)
        return successor
    }

    /// The next version of a contract in force: its terms and enterprises copied, bargaining to
    /// start again; the old one stays in force until the new one replaces it.
    static func nextVersion(of c: CollectiveContract, staffID: Int?, on db: any Database) async throws -> Int {
        let n = CollectiveContract()
        n.orgID = c.orgID
        n.kind = c.kind
        n.title = c.title
        n.state = .preparing
        n.version = c.version + 1
        n.previousID = c.id
        n.rounds = 0
        n.wageRiseBP = c.wageRiseBP
        n.lowestWageFen = c.lowestWageFen
        n.topics = c.topics
        n.workersCovered = c.workersCovered
        n.staffID = staffID
        try await n.create(on: db)
        let id = try n.requireID()
        for e in try await ContractEnterprise.query(on: db).filter(\.$contractID == c.requireID()).all() {
            try await ContractEnterprise(contractID: id, enterpriseID: e.enterpriseID).create(on: db)
        }
        return id
    }
}

/// What happens to a contract by the calendar alone: a review that ends without objection puts it in
/// force the next day; a term that ends makes it expired; a new version in force supersedes the old.
enum ContractClock {
    static let job = ScheduledJob(name: "rights.contracts") { db, today in try await sweep(on: db, today: today) }

    /// Every contract whose clock has passed, in batches; idempotent (a second run finds nothing).
    static func sweep(on db: any Database, today: CalendarDate) async throws {
        let t = today.description
        let due = try await CollectiveContract.query(on: db).group(.or) { g in
            g.group(.and) { $0.filter(\.$state == .underReview).filter(\.$reviewEndsOn < t) }
            g.group(.and) { $0.filter(\.$state == .inForce).filter(\.$expiresOn < t) }
        }.limit(5000).all()
        for row in due {
            // The same lock as an action on it, and read again under it: a request that acted
            // first leaves nothing for the sweep to do.
            try await db.lock("contract:\(try row.requireID())")
            guard let c = try await CollectiveContract.find(row.id, on: db) else { continue }
            _ = try await settle(c, today: today, on: db)
        }
    }

    /// Brings one contract up to `today`; true when it changed. The caller saves nothing: this saves.
    static func settle(_ c: CollectiveContract, today: CalendarDate, on db: any Database) async throws -> Bool {
        var changed = false
        let s = c.subject
        if c.state == .underReview, let ends = c.reviewEndsOn, ends < today.description, let endDay = try? CalendarDate(parsing: ends) {
            let start = endDay.adding(days: 1)
            c.state = .inForce
            c.inForceOn = start.description
            let expires = start.adding(years: c.termYears ?? 1).adding(days: -1)
            c.expiresOn = expires.description
            let publish = Deadlines.due(after: start, days: RightsRules.publishDays, rule: .calendar, calendar: WorkingCalendar())
            c.publishDueOn = publish.description
            try await Deadlines.done(s, "review", on: start, db: db)
            if c.publishedOn == nil { try await Deadlines.set(s, "publication", org: c.orgID, title: c.title, dueOn: publish, on: db) }
            try await Deadlines.set(s, "renewal", org: c.orgID, title: c.title, dueOn: expires,
                                    warnFrom: expires.adding(months: -RightsRules.renewalMonths), on: db)
            try await ContractEvent(contractID: c.requireID(), action: "inForce", on: start.description, staffID: nil).create(on: db)
            if let prev = c.previousID, let old = try await CollectiveContract.find(prev, on: db), old.state == .inForce {
                old.state = .superseded
                old.endedOn = start.adding(days: -1).description
                try await old.save(on: db)
                try await Deadlines.doneAll(old.subject, on: start, db: db)
                try await ContractEvent(contractID: prev, action: "superseded", on: start.description, staffID: nil).create(on: db)
            }
            changed = true
        }
        if c.state == .inForce, let exp = c.expiresOn, exp < today.description {
            c.state = .expired
            c.endedOn = exp
            try await Deadlines.doneAll(s, on: today, db: db)
            try await ContractEvent(contractID: c.requireID(), action: "expired", on: exp, staffID: nil).create(on: db)
            changed = true
        }
        if changed { try await c.save(on: db) }
        return changed
    }
}
