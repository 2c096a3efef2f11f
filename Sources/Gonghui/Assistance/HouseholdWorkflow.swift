import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `POST /api/v1/hardship-households/{id}/actions`: one step of the file's way, in one transaction
/// with its timeline line and audit line. A step out of order is 409.
struct HouseholdAction: Content {
    var action: String?
    var note: String?
    var reason: String?
    /// visit: the day and who went.
    var visitDate: String?
    var visitors: String?
    /// review: the exclusions the reviewer confirms absent (every one of `HouseholdExclusion`).
    var exclusions: [String]?
}

enum HouseholdStep: String, CaseIterable, Sendable {
    case submit, visit, notice, review, approve, `return`, lift, cancel, reopen

    /// The states each step starts from.
    var from: [HouseholdState] {
        switch self {
        case .submit: [.draft, .returned]
        case .visit: [.submitted]
        case .notice: [.visited]
        case .review: [.inNotice]
        case .approve: [.reviewed]
        case .return: [.submitted, .visited, .inNotice, .reviewed]
        case .lift, .cancel: [.active]
        case .reopen: [.lifted]
        }
    }

    var to: HouseholdState {
        switch self {
        case .submit: .submitted
        case .visit: .visited
        case .notice: .inNotice
        case .review: .reviewed
        case .approve, .reopen: .active
        case .return: .returned
        case .lift: .lifted
        case .cancel: .cancelled
        }
    }
}

struct HouseholdWorkflow {
    let request: Request
    var db: any Database { request.db }

    func act(_ id: Int, _ input: HouseholdAction) async throws -> HardshipHousehold {
        let scope = try request.scope
        let h = try await HouseholdService(request: request).household(id)
        var v = Validator()
        guard let step = v.code(input.action, "action", HouseholdStep.self, required: true) else { try v.check(); throw AppError.notFound }
        let note = v.text(input.note, "note", required: false, max: 1000)
        let today = ShanghaiClock.today()
        let org = try await Organization.find(h.orgID, on: db)!
        // Who may take the step: the filer's side files, visits and gives notice; the union above
        // reviews; a district (or the city) approves.
        switch step {
        case .review:
            try scope.require(org.treePath.ids.dropLast().contains(scope.rootID))
        case .approve:
            try scope.require(scope.role == .cityAdmin || scope.role == .districtStaff)
        default:
            break
        }
        var reason: String?
        if [.return, .lift, .cancel, .reopen].contains(step) {
            reason = v.text(input.reason, "reason", required: true, max: 500)
        }
        var cancelReason: CancelReason?
        if step == .cancel, let r = reason {
            cancelReason = v.code(r, "reason", CancelReason.self, required: true)
        }
        var visit: String?
        if step == .visit {
            var day: CalendarDate?
            if let raw = input.visitDate, !raw.isEmpty {
                if let d = try? CalendarDate(parsing: raw), d <= today { day = d } else { v.add("visitDate", "date") }
            } else { v.add("visitDate", "required") }
            let visitors = v.text(input.visitors, "visitors", required: true, max: 200)
            if note == nil { v.add("note", "required") }
            if let day, let visitors { visit = "\(day) · \(visitors)" }
        }
        var exclusions: [String] = []
        if step == .review {
            let confirmed = Set(input.exclusions ?? [])
            for e in confirmed where HouseholdExclusion(rawValue: e) == nil {
                v.add("exclusions", "oneOf", nil, ["values": HouseholdExclusion.allCases.map(\.rawValue).joined(separator: ", ")])
            }
            let missing = HouseholdExclusion.allCases.filter { !confirmed.contains($0.rawValue) }
            if !missing.isEmpty {
                v.add("exclusions", "unconfirmed", "error.assistance.exclusions",
                      ["list": missing.map { self.request.t("assistance.exclusion.\($0.rawValue)") }.joined(separator: "、")])
            }
            exclusions = HouseholdExclusion.allCases.map(\.rawValue)
        }
        try v.check()
        guard step.from.contains(h.state) else {
            throw Self.refusal("outOfOrder", [
                "action": request.t("assistance.action.\(step.rawValue)"), "state": request.t("assistance.state.\(h.state.rawValue)")])
        }
        if step == .review, let noticeID = h.noticeID, let notice = try await PublicNotice.find(noticeID, on: db) {
            if notice.isRunning(today: today) {
                throw Self.refusal("noticeRunning", ["until": notice.endsOn])
            }
            if try await PublicNotices.cleared(notice, today: today, on: db).isEmpty {
                throw Self.refusal("objectionHeld")
            }
        }
        let request = self.request
        let days = try await AssistanceSettings.noticeWorkingDays(on: db)
        let (reasonText, cancelCode, visitText, confirmed) = (reason, cancelReason, visit, exclusions)
        return try await db.transaction { db in
            // Two clicks, two tabs: the step is taken once, from the state it was checked against.
            try await db.lock("household.\(id)")
            let from = h.state
            guard let fresh = try await HardshipHousehold.find(id, on: db), fresh.state == from else {
                throw Self.refusal("outOfOrder", [
                    "action": request.t("assistance.action.\(step.rawValue)"), "state": request.t("assistance.state.\(from.rawValue)")])
            }
            h.state = step.to
            switch step {
            case .notice:
                let notice = try await PublicNotices.open(
                    kind: "household", refID: try h.requireID(), org: org, title: request.t("assistance.notice.title", ["org": org.name]),
                    days: days, rule: .working,
                    lines: [.init(refID: try h.requireID(), name: h.subjectName, unitName: org.name,
                                  summary: request.t("assistance.category.\(h.category.rawValue)"))],
                    today: today, on: db)
                h.noticeID = notice.id
            case .review:
                h.exclusionsChecked = confirmed.joined(separator: ",")
            case .lift, .cancel:
                h.closedOn = today.description
                h.closedReason = reasonText
                if cancelCode == .fraud { h.recoverAid = true }
                try await HardshipPerson.query(on: db).filter(\.$householdID == id).set(\.$active, to: false).update()
            case .reopen:
                let people = try await HardshipPerson.query(on: db).filter(\.$householdID == id).all()
                try await HouseholdFiling.refuseDuplicates(people.map(\.idIndex), excluding: id, on: db)
                try await HardshipPerson.query(on: db).filter(\.$householdID == id).set(\.$active, to: true).update()
                h.closedOn = nil
                h.closedReason = nil
            default:
                break
            }
            if [.approve, .lift, .cancel, .reopen].contains(step) { h.changedOn = today.description }
            try await h.save(on: db)
            try await Self.event(h, action: step.rawValue, from: from, to: step.to, note: [visitText, note].compactMap { $0 }.joined(separator: " · ").nilIfEmpty,
                                 reason: reasonText, staffID: scope.staffID, on: db)
            try await request.audit.record("household.\(step.rawValue)", targetType: "household", targetID: id, org: org,
                                           details: ["fileNumber": h.fileNumber, "from": from.rawValue, "to": step.to.rawValue], on: db)
            return h
        }
    }

    /// A step refused by a rule: 409, the rule's code in `errors[].code` under `action`.
    static func refusal(_ code: String, field: String = "action", _ args: [String: String] = [:]) -> AppError {
        .conflict("error.assistance.\(code)", args: args, fields: [FieldIssue(field, code, "error.assistance.\(code)", args)])
    }

    static func event(_ h: HardshipHousehold, action: String, from: HouseholdState?, to: HouseholdState?, note: String?, reason: String?,
                      staffID: Int?, on db: any Database) async throws {
        let e = HouseholdEvent()
        e.householdID = try h.requireID()
        e.action = action
        e.fromState = from?.rawValue
        e.toState = to?.rawValue
        e.note = note
        e.reason = reason
        e.staffID = staffID
        e.at = Date()
        try await e.create(on: db)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
