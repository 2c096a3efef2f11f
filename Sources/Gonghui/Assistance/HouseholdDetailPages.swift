import Fluent
import Foundation
import GonghuiCore
import Vapor

/// One file in the console: its facts, the income test with its working, the people (ID numbers
/// masked), the timeline, and the next steps the viewer may take.
enum HouseholdDetailPages {
    struct Person: Encodable {
        let name: String
        let relation: String
        let idNumber: String
        let birthDate: String
        let detail: String
    }

    struct Event: Encodable {
        let at: String
        let label: String
        let move: String?
        let text: String?
    }

    struct Page: Encodable {
        let page: PageContext
        let h: HouseholdDTO
        let stateLabel: String
        let categoryLabel: String
        let suggestedLabel: String?
        let causes: String
        let working: String
        let people: [Person]
        let events: [Event]
        let actions: [FormField.Choice]
        let exclusions: [FormField.Choice]
        let noticeEnds: String?
        let objections: [ObjectionDTO]
        let files: [AttachmentDTO]
        let cancelReasons: [FormField.Choice]
        let alert: String?
        let errors: [String: String]
        let form: [String: String]
    }

    @Sendable static func show(req: Request) async throws -> View {
        try await render(req, id: try req.idParameter(), alert: nil, errors: [:], form: [:])
    }

    static func render(_ req: Request, id: Int, alert: String?, errors: [String: String], form: [String: String]) async throws -> View {
        let h = try await HouseholdService(request: req).detail(id)
        func yuan(_ d: Decimal) -> String { MoneyText.yuan(NSDecimalNumber(decimal: d).doubleValue) }
        var working = req.t("assistance.working", ["income": yuan(h.annualIncomeYuan), "expenses": yuan(h.rigidExpensesYuan),
                                                   "size": String(h.householdSize), "result": yuan(h.perCapitaMonthlyIncomeYuan)])
        if let dibao = h.dibaoMonthlyYuan {
            working += " " + req.t("assistance.workingDibao", ["dibao": yuan(dibao)])
        } else { working += " " + req.t("assistance.noDibao") }
        let people = (h.people ?? []).map {
            Person(name: $0.name, relation: req.t("assistance.relation.\($0.relation)"), idNumber: $0.idNumberMasked, birthDate: $0.birthDate,
                   detail: [$0.schoolGrade.map { req.t("assistance.grade.\($0)") }, $0.health.map { req.t("assistance.health.\($0)") },
                            $0.schoolOrEmployer].compactMap { $0 }.joined(separator: " · "))
        }
        let events = (h.timeline ?? []).map { e in
            var move: String?
            if let from = e.fromState, let to = e.toState, from != to { move = req.t("assistance.state.\(from)") + " → " + req.t("assistance.state.\(to)") }
            return Event(at: MeetingTime.local(e.at), label: req.t("assistance.action.\(e.action)"), move: move,
                         text: [e.note, e.reason].compactMap { $0 }.joined(separator: " · ").nilIfEmpty)
        }
        let steps = HouseholdStep.allCases.filter { $0.from.contains(h.state) }
        var noticeEnds: String?
        var objections: [ObjectionDTO] = []
        if let noticeID = h.noticeId {
            if h.state == .inNotice { noticeEnds = try await PublicNotice.find(noticeID, on: req.db)?.endsOn }
            objections = try await PublicNoticeObjection.query(on: req.db).filter(\.$noticeID == noticeID).sort(\.$id).all().map(NoticeController.objectionDTO)
        }
        return try await req.view.render("assistance/detail", Page(
            page: req.pageContext(), h: h, stateLabel: req.t("assistance.state.\(h.state.rawValue)"),
            categoryLabel: req.t("assistance.category.\(h.category.rawValue)"),
            suggestedLabel: h.suggestedCategory.map { req.t("assistance.category.\($0.rawValue)") },
            causes: h.causes.map { req.t("assistance.cause.\($0)") }.joined(separator: "、"), working: working, people: people, events: events,
            actions: steps.map { .init(value: $0.rawValue, label: req.t("assistance.action.\($0.rawValue)"), selected: form["action"] == $0.rawValue) },
            exclusions: HouseholdExclusion.allCases.map { .init(value: $0.rawValue, label: req.t("assistance.exclusion.\($0.rawValue)"), selected: form["ex_\($0.rawValue)"] != nil) },
            noticeEnds: noticeEnds, objections: objections,
            files: try await Attachment.query(on: req.db).filter(\.$ownerKind == "household").filter(\.$ownerID == id).sort(\.$id).all().map(AttachmentDTO.init),
            cancelReasons: FormField.choices(CancelReason.self, prefix: "assistance.cancel", selected: form["cancelReason"], blank: "—", req), alert: alert, errors: errors, form: form))
    }

    @Sendable static func act(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        func value(_ key: String) -> String? { form[key].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
        let reason = value("action") == "cancel" ? value("cancelReason") : value("reason")
        let input = HouseholdAction(action: value("action"), note: value("note"), reason: reason, visitDate: value("visitDate"),
                                    visitors: value("visitors"), exclusions: HouseholdExclusion.allCases.map(\.rawValue).filter { form["ex_\($0)"] != nil })
        do {
            _ = try await HouseholdWorkflow(request: req).act(id, input)
            return req.redirect(to: "/console/assistance/\(id)")
        } catch let error as AppError where [.unprocessableEntity, .conflict, .forbidden].contains(error.status) {
            let alert = req.t(error.fields.isEmpty || error.status == .conflict ? (error.detailKey ?? error.titleKey) : "error.invalid.detail", error.args)
            return try await render(req, id: id, alert: alert, errors: req.fieldMessages(error), form: form).encodeResponse(status: error.status, for: req)
        }
    }

    /// A home-visit photo or a proof, uploaded from the file's page (PDF, JPEG, PNG; 10 MB), audited.
    @Sendable static func upload(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let h = try await HouseholdService(request: req).household(id)
        guard let org = try await Organization.find(h.orgID, on: req.db) else { throw AppError.notFound }
        do {
            let (body, name) = try AttachmentRoutes.upload(req)
            try await req.db.transaction { tx in
                let a = try await Attachments.save(body, fileName: name, ownerKind: "household", ownerID: id, orgID: org.requireID(),
                                                   staffID: req.optionalScope?.staffID, memberID: nil, app: req.application, on: tx)
                try await req.audit.record("attachment.upload", targetType: "household", targetID: id, org: org,
                                           details: ["file": a.fileName, "sha256": a.sha256], on: tx)
            }
            return req.redirect(to: "/console/assistance/\(id)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .payloadTooLarge {
            return try await render(req, id: id, alert: req.fieldMessages(error).values.first ?? req.t(error.titleKey), errors: [:], form: [:])
                .encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable static func download(req: Request) async throws -> Response {
        let id = try req.idParameter()
        _ = try await HouseholdService(request: req).household(id)
        guard let a = try await Attachment.find(try req.idParameter("fileId"), on: req.db), a.ownerKind == "household", a.ownerID == id else {
            throw AppError.notFound
        }
        return try await Attachments.download(a, req: req)
    }

    /// The filer answers an objection to the file's notice; the entry is free when none stays open.
    @Sendable static func answer(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let h = try await HouseholdService(request: req).household(id)
        let form = try req.formFields()
        guard let noticeID = h.noticeID, let objectionID = form["objectionId"].flatMap({ Int($0) }),
              let o = try await PublicNoticeObjection.find(objectionID, on: req.db), o.noticeID == noticeID else { throw AppError.notFound }
        do {
            try await PublicNotices.answer(o, text: form["answer"], staffID: try req.scope.staffID, on: req.db)
            try await req.audit.record("notice.answer", targetType: "publicNotice", targetID: noticeID, details: ["objection": String(objectionID)])
            return req.redirect(to: "/console/assistance/\(id)")
        } catch let error as AppError where [.unprocessableEntity, .conflict].contains(error.status) {
            return try await render(req, id: id, alert: req.t(error.detailKey ?? "error.invalid.detail", error.args), errors: req.fieldMessages(error), form: form)
                .encodeResponse(status: error.status, for: req)
        }
    }
}
