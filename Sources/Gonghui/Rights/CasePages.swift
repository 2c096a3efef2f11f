import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's case pages: the walk-in desk's form (or an appeal's, `?appeal=`), and a case's
/// page with its clocks, the lawyer, the agreement upload and the next step's form.
extension RightsPages {
    struct NewCasePage: Encodable {
        let page: PageContext
        let kinds: [Choice]
        let claimTypes: [Choice]
        let orgs: [Choice]
        let form: [String: String]
        let errors: [String: String]
    }

    @Sendable func newCase(req: Request) async throws -> View {
        var form: [String: String] = [:]
        if let appeal = req.query[Int.self, at: "appeal"], let a = try await Appeal.find(appeal, on: req.db),
           (try? await req.scope.org(a.orgID, on: req.db)) != nil {
            form = ["appealId": String(appeal), "applicantName": a.name ?? "", "phone": a.phone ?? "", "employerName": a.employerName ?? "",
                    "claimYuan": a.amountFen > 0 ? Decimal(fen: Int64(a.amountFen)).description : "", "workers": String(a.peopleAffected),
                    "orgId": String(a.orgID), "kind": "mediation"]
        }
        return try await renderNewCase(req, form: form, errors: [:])
    }

    func renderNewCase(_ req: Request, form: [String: String], errors: [String: String]) async throws -> View {
        let kinds = LegalCaseKind.allCases.map { Choice(value: $0.rawValue, label: req.t("rights.caseKind.\($0.rawValue)"), selected: form["kind"] == $0.rawValue) }
        let types = LegalCaseController.claimTypes.map { Choice(value: $0, label: req.t("rights.claimType.\($0)"), selected: (form["claimType"] ?? "wage") == $0) }
        return try await req.view.render("rights/case-new", NewCasePage(
            page: req.pageContext(), kinds: kinds, claimTypes: types,
            orgs: try await Self.orgChoices(req, selected: form["orgId"].flatMap { Int($0) }, q: form["orgQ"]), form: form, errors: errors))
    }

    @Sendable func createCase(req: Request) async throws -> Response {
        let form = try req.content.decode([String: String].self)
        if form["findOrg"] != nil { return try await renderNewCase(req, form: form, errors: [:]).encodeResponse(for: req) }
        var v = Validator()
        func yuan(_ field: String) -> Decimal? {
            guard let raw = form[field]?.replacingOccurrences(of: ",", with: ""), !raw.isEmpty else { return nil }
            guard let d = Decimal(string: raw) else { v.add(field, "number", "error.field.number"); return nil }
            return d
        }
        func int(_ field: String) -> Int? {
            guard let raw = form[field], !raw.isEmpty else { return nil }
            guard let n = Int(raw) else { v.add(field, "number", "error.field.number"); return nil }
            return n
        }
        let input = LegalCaseInput(appealId: int("appealId"), orgId: int("orgId"), kind: form["kind"], applicantName: form["applicantName"],
                                   phone: form["phone"], idNumber: form["idNumber"], migrant: form["migrant"] != nil, employerName: form["employerName"],
                                   claimType: form["claimType"], claimYuan: yuan("claimYuan"), incomePerHeadYuan: yuan("incomePerHeadYuan"),
                                   workers: int("workers"), knewOn: form["knewOn"])
        var kept = form
        kept["idNumber"] = nil
        do {
            try v.check()
            let c = try await LegalCaseController.make(req, input)
            return req.redirect(to: "/console/rights/cases/\(try c.requireID())")
        } catch let error as AppError where !error.fields.isEmpty {
            return try await renderNewCase(req, form: kept, errors: req.fieldMessages(error)).encodeResponse(status: error.status, for: req)
        }
    }

    struct CasePage: Encodable {
        let page: PageContext
        let c: LegalCaseDTO
        let kind: String
        let state: String
        let facts: [Fact]
        let clocks: [Fact]
        let files: [Fact]
        let actions: [Choice]
        let lawyers: [Choice]
        let outcomes: [Choice]
        let form: [String: String]
        let errors: [String: String]
        let notice: String?
    }

    @Sendable func legalCase(req: Request) async throws -> View {
        try await renderCase(req, id: try req.idParameter(), form: [:], errors: [:], notice: req.query[String.self, at: "done"] == nil ? nil : req.t("rights.actionDone"))
    }

    func renderCase(_ req: Request, id: Int, form: [String: String], errors: [String: String], notice: String?) async throws -> View {
        let (c, org) = try await LegalCaseController.legalCase(req, id)
        let dto = try await LegalCaseController().show(req: req)
        let t = { (k: String) in req.t(k) }
        var facts = [Fact(label: t("rights.union"), value: org.name, tone: ""),
                     Fact(label: t("field.applicantName"), value: dto.applicantName + (dto.migrant ? " · " + t("rights.case.migrant") : ""), tone: ""),
                     Fact(label: t("field.idNumber"), value: dto.idNumberMasked ?? "—", tone: ""),
                     Fact(label: t("field.employerName"), value: dto.employerName, tone: ""),
                     Fact(label: t("field.claimType"), value: t("rights.claimType.\(dto.claimType)"), tone: ""),
                     Fact(label: t("field.claimYuan"), value: Self.yuan(dto.claimYuan), tone: ""),
                     Fact(label: t("field.workers"), value: String(dto.workers) + (dto.groupCase ? " · " + t("rights.case.group") : ""), tone: dto.groupCase ? "warn" : ""),
                     Fact(label: t("rights.case.suggested").replacingOccurrences(of: "{answer}", with: ""), value: t(dto.suggestedEligible ? "rights.yes" : "rights.no"), tone: "")]
        for (key, value) in [("field.knewOn", dto.knewOn), ("deadline.clock.limitation", dto.limitationEndsOn), ("deadline.clock.decision", dto.decisionDueOn),
                             ("rights.caseAction.mediate", dto.mediationOn), ("rights.caseAction.arbitrate", dto.arbitrationOn),
                             ("deadline.clock.award", dto.awardDueOn), ("rights.caseAction.close", dto.closedOn)] {
            let label = key.hasPrefix("deadline.") ? t(key) + " · " + t("deadline.dueOn") : t(key)
            if let value { facts.append(Fact(label: label, value: value, tone: "")) }
        }
        if let o = dto.outcome { facts.append(Fact(label: t("field.outcome"), value: t("rights.outcome.\(o)") + " · " + Self.yuan(dto.recoveredYuan), tone: "ok")) }
        if let r = dto.refusal { facts.append(Fact(label: t("rights.caseState.refused"), value: r, tone: "bad")) }
        if let r = dto.report { facts.append(Fact(label: t("field.report"), value: r, tone: "")) }
        let today = ShanghaiClock.today().description
        let clocks = (dto.deadlines ?? []).map { Fact(label: t("deadline.clock.\($0.clock)"), value: $0.dueOn + " · " + t("deadline.rule.\($0.rule)"),
                                                      tone: $0.dueOn < today ? "bad" : "warn") }
        let files = try await Attachment.query(on: req.db).filter(\.$ownerKind == "legalCase").filter(\.$ownerID == id).sort(\.$id).all()
            .map { Fact(label: $0.fileName, value: String($0.size), tone: "") }
        let actions = LegalCaseActions.all.filter { LegalCaseActions.from[$0]?.contains(c.state) == true }
            .map { Choice(value: $0, label: t("rights.caseAction.\($0)"), selected: form["action"] == $0) }
        let lawyers = try await Lawyer.query(on: req.db).filter(\.$orgID ~~ TreePath(org.path).ids).filter(\.$active == true).sort(\.$name).limit(200).all()
            .map { Choice(value: String($0.id ?? 0), label: "\($0.name) · \($0.firm)", selected: dto.lawyerId == $0.id) }
        let outcomes = LegalOutcome.allCases.map { Choice(value: $0.rawValue, label: t("rights.outcome.\($0.rawValue)"), selected: form["outcome"] == $0.rawValue) }
        return try await req.view.render("rights/case", CasePage(
            page: req.pageContext(), c: dto, kind: t("rights.caseKind.\(dto.kind)"), state: t("rights.caseState.\(dto.state)"), facts: facts, clocks: clocks,
            files: files, actions: actions, lawyers: lawyers, outcomes: outcomes, form: form, errors: errors, notice: notice))
    }

    @Sendable func caseAction(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.content.decode([String: String].self)
        var v = Validator()
        var input = LegalCaseActionInput(action: form["action"], date: form["date"], reason: form["reason"], outcome: form["outcome"], report: form["report"])
        if let e = form["eligible"], !e.isEmpty { input.eligible = e == "yes" }
        if let raw = form["lawyerId"], !raw.isEmpty { input.lawyerId = Int(raw) }
        if let raw = form["recoveredYuan"]?.replacingOccurrences(of: ",", with: ""), !raw.isEmpty {
            if let d = Decimal(string: raw) { input.recoveredYuan = d } else { v.add("recoveredYuan", "number", "error.field.number") }
        }
        do {
            try v.check()
            try await LegalCaseController.perform(req, id, input)
            return req.redirect(to: "/console/rights/cases/\(id)?done=1")
        } catch let error as AppError where error.status != .notFound && error.status != .forbidden {
            var errors = req.fieldMessages(error)
            if errors.isEmpty { errors["action"] = req.t(error.detailKey ?? error.titleKey, error.args) }
            return try await renderCase(req, id: id, form: form, errors: errors, notice: nil).encodeResponse(status: error.status, for: req)
        }
    }

    /// The signed agreement or a judgment, uploaded from the case page.
    @Sendable func caseFile(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(LegalCaseController.writes(scope))
        let id = try req.idParameter()
        let (_, org) = try await LegalCaseController.legalCase(req, id)
        do {
            let (body, name) = try AttachmentRoutes.upload(req)
            try await req.db.transaction { tx in
                let a = try await Attachments.save(body, fileName: name, ownerKind: "legalCase", ownerID: id, orgID: org.requireID(),
                                                   staffID: scope.staffID, memberID: nil, app: req.application, on: tx)
                try await req.audit.record("attachment.upload", targetType: "legalCase", targetID: id, org: org,
                                           details: ["file": a.fileName, "sha256": a.sha256], on: tx)
            }
            return req.redirect(to: "/console/rights/cases/\(id)?done=1")
        } catch let error as AppError where error.status != .notFound {
            var errors = req.fieldMessages(error)
            if errors.isEmpty { errors["file"] = req.t(error.detailKey ?? error.titleKey, error.args) }
            return try await renderCase(req, id: id, form: [:], errors: errors, notice: nil).encodeResponse(status: error.status, for: req)
        }
    }
}
