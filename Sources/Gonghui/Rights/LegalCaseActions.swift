import Fluent
import Foundation
import GonghuiCore
import Vapor

struct LegalCaseActionInput: Content {
    /// decide, assign, mediate, arbitrate, extend, litigate, close
    var action: String?
    var date: String?
    /// `decide`: granted or refused; a refusal gives its reason in writing.
    var eligible: Bool?
    var reason: String?
    /// `assign`: a lawyer from the district's roster.
    var lawyerId: Int?
    /// `close`: the outcome, what was recovered, the closing report.
    var outcome: String?
    var recoveredYuan: Decimal?
    var report: String?
}

/// The steps of a mediation or legal-aid case and the clocks they start: decision within 5 working
/// days, mediation 15 days, the award 45 days (+15), the one-year limit from when the worker knew.
enum LegalCaseActions {
    static let all = ["decide", "assign", "mediate", "arbitrate", "extend", "litigate", "close"]
    static let working: [LegalCaseState] = [.accepted, .mediating, .arbitrating, .litigating]

    static let from: [String: [LegalCaseState]] = [
        "decide": [.received], "assign": working, "mediate": [.accepted], "arbitrate": [.accepted, .mediating],
        "extend": [.arbitrating], "litigate": [.arbitrating], "close": working,
    ]

    static func apply(_ input: LegalCaseActionInput, to c: LegalCase, org: Organization, staffID: Int?, today: CalendarDate,
                      calendar: WorkingCalendar, on db: any Database) async throws {
        var v = Validator()
        guard let action = input.action, all.contains(action) else {
            if input.action == nil { v.add("action", "required") } else { v.add("action", "unknown", "error.field.oneOf", ["values": all.joined(separator: ", ")]) }
            try v.check()
            return
        }
        let day = RightsRules.day(input.date, "date", today: today, &v) ?? today
        try v.check()
        guard from[action]?.contains(c.state) == true else {
            throw AppError.conflict("rights.error.case.step", args: ["action": action, "state": c.state.rawValue],
                                    fields: [FieldIssue("action", "state", "rights.error.case.step", ["action": action, "state": c.state.rawValue])])
        }
        let earlier = [c.openedOn, c.decidedOn, c.mediationOn, c.arbitrationOn, c.litigationOn].compactMap { $0 }.max() ?? c.openedOn
        if action != "assign", action != "extend", day.description < earlier {
            v.add("date", "order", "rights.error.case.dateOrder", ["after": earlier])
        }
        let s = c.subject
        let title = "\(c.applicantName) · \(c.employerName)"
        switch action {
        case "decide":
            if input.eligible == nil { v.add("eligible", "required") }
            let reason = v.text(input.reason, "reason", required: input.eligible == false, max: 500)
            try v.check()
            c.eligible = input.eligible
            c.decidedOn = day.description
            c.state = input.eligible! ? .accepted : .refused
            c.refusal = input.eligible! ? nil : reason
            try await Deadlines.done(s, "decision", on: day, db: db)
            if !input.eligible! { try await Deadlines.doneAll(s, on: day, db: db) }
        case "assign":
            guard let lid = input.lawyerId else {
                v.add("lawyerId", "required")
                try v.check()
                return
            }
            // A lawyer on the roster of this unit or of a unit above it (the district's).
            let ids = TreePath(org.path).ids
            guard let lawyer = try await Lawyer.find(lid, on: db), lawyer.active, ids.contains(lawyer.orgID) else {
                throw AppError.invalid([FieldIssue("lawyerId", "notFound", "rights.error.case.lawyer")])
            }
            c.lawyerID = lawyer.id
        case "mediate":
            c.mediationOn = day.description
            let due = Deadlines.due(after: day, days: RightsRules.mediationDays, rule: .calendar, calendar: calendar)
            c.mediationDueOn = due.description
            c.state = .mediating
            try await Deadlines.set(s, "mediation", org: c.orgID, title: title, dueOn: due, on: db)
        case "arbitrate":
            try v.check()
            c.arbitrationOn = day.description
            let due = Deadlines.due(after: day, days: RightsRules.awardDays, rule: .calendar, calendar: calendar)
            c.awardDueOn = due.description
            c.state = .arbitrating
            try await Deadlines.done(s, "mediation", on: day, db: db)
            try await Deadlines.done(s, "limitation", on: day, db: db)
            try await Deadlines.set(s, "award", org: c.orgID, title: title, dueOn: due, on: db)
        case "extend":
            if c.extended {
                throw AppError.conflict("rights.error.case.extended", fields: [FieldIssue("action", "state", "rights.error.case.extended")])
            }
            guard let raw = c.awardDueOn, let due = try? CalendarDate(parsing: raw) else { return }
            let later = due.adding(days: RightsRules.awardExtensionDays)
            c.extended = true
            c.awardDueOn = later.description
            try await Deadlines.set(s, "award", org: c.orgID, title: title, dueOn: later, on: db)
        case "litigate":
            try v.check()
            c.litigationOn = day.description
            c.state = .litigating
            try await Deadlines.done(s, "award", on: day, db: db)
        default: // close
            let outcome = input.outcome.flatMap(LegalOutcome.init(rawValue:))
            if input.outcome == nil { v.add("outcome", "required") } else if outcome == nil {
                v.add("outcome", "unknown", "error.field.oneOf", ["values": LegalOutcome.allCases.map(\.rawValue).joined(separator: ", ")])
            }
            let recovered = v.yuan(input.recoveredYuan, "recoveredYuan", positive: false) ?? 0
            let report = input.report.map(Normalize.multiLine).flatMap { $0.isEmpty ? nil : $0 }
            if let report, report.count > 5000 { v.add("report", "tooLong", nil, ["max": "5000"]) }
            if report == nil { v.add("report", "required", "rights.error.case.report") }
            try v.check()
            if outcome == .mediated {
                // A mediated case closes on the signed agreement (调解协议书), uploaded to the case.
                let files = try await Attachment.query(on: db).filter(\.$ownerKind == "legalCase").filter(\.$ownerID == c.requireID()).count()
                if files == 0 { throw AppError.invalid([FieldIssue("outcome", "agreement", "rights.error.case.agreement")]) }
            }
            c.outcome = outcome
            c.recoveredFen = recovered
            c.report = report
            c.closedOn = day.description
            c.state = .closed
            try await Deadlines.doneAll(s, on: day, db: db)
        }
        try await c.save(on: db)
    }
}
