import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The console's ledger: filters and the unionisation rate, one enterprise with its timeline,
/// plan and founding, the forms, export and import.
struct EnterprisePages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let e = routes.grouped("console", "enterprises")
        e.get(use: ledger)
        e.get("export", use: export)
        e.get("import", use: importForm)
        e.get("import", "template", use: template)
        e.upload("import", use: importUpload)
        e.get("new", use: newForm)
        e.post("new", use: create)
        e.get(":id", use: detail)
        e.get(":id", "edit", use: editForm)
        e.post(":id", "edit", use: update)
        e.post(":id", "contacts", use: addContact)
        e.post(":id", "plan", use: plan)
        e.post(":id", "founding", use: found)
    }

    static func registerNav(_ app: Application) {
        app.consoleNav.add(.init(labelKey: "nav.enterprises", href: "/console/enterprises", visible: { $0.readsLedger }))
        app.consoleNav.add(.init(labelKey: "nav.meetings", href: "/console/meetings", visible: { $0.keepsLedger }))
        app.consoleNav.add(.init(labelKey: "nav.outreachStats", href: "/console/outreach-stats", visible: { $0.readsLedger }))
    }

    // MARK: the ledger

    struct Row: Encodable {
        let id: Int
        let name: String
        let creditCode: String
        let orgName: String
        let type: String
        let size: String
        let headcount: Int
        let status: String
        let statusCss: String
        let influence: String
        let isKey: Bool
        let relations: String
        let relationsCss: String
        let nextStep: String
        let lastContact: String
        let stale: Bool
    }

    struct CoverageRow: Encodable {
        let orgId: Int
        let name: String
        let total: Int
        let covered: Int
        let rate: String
        let width: Int
    }

    struct LedgerPage: Encodable {
        let page: PageContext
        let rows: [Row]
        let total: Int
        let query: String
        let q: String
        let orgId: Int?
        let orgs: [FormField.Choice]
        let filters: [FormField]
        let coverageName: String
        let coverageTotal: Int
        let coverageCovered: Int
        let coverageRate: String
        let coverageStale: Int
        let coverage: [CoverageRow]
        let statusCounts: [FormField.Choice]
        let canEdit: Bool
        let prevHref: String?
        let nextHref: String?
    }

    static func statusCss(_ s: UnionStatus) -> String {
        switch s {
        case .founded, .standard: "ok"
        case .intent, .founding: "warn"
        case .none, .contacted: ""
        }
    }

    static func row(_ req: Request, _ e: EnterpriseDTO) -> Row {
        Row(id: e.id, name: e.name, creditCode: e.creditCode, orgName: e.orgName ?? "", type: req.t("enterprise.type.\(e.type.rawValue)"),
            size: req.t("enterprise.size.\(e.size.rawValue)"), headcount: e.headcount, status: req.t("unionStatus.\(e.unionStatus.rawValue)"),
            statusCss: statusCss(e.unionStatus), influence: req.t("influence.\(e.influence.rawValue)"), isKey: e.influence == .key,
            relations: req.t("relations.\(e.relations.rawValue)"), relationsCss: e.relations == .stable ? "" : "warn",
            nextStep: [e.nextStepOn, e.nextStep].compactMap { $0 }.joined(separator: " "),
            lastContact: e.lastContactAt.map { MeetingTime.local($0).prefix(10).description } ?? "—", stale: e.stale)
    }

    static func percent(_ rate: Double?) -> String { rate.map { String(format: "%.1f%%", $0) } ?? "—" }

    /// Districts and streets in scope, for the "where" pickers.
    static func places(_ req: Request, selected: Int?) async throws -> [FormField.Choice] {
        let scope = try req.scope
        let nodes = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.district, .street]).sort(\.$path).limit(1000).all())
        return nodes.map { FormField.Choice(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: $0.id == selected) }
    }

    @Sendable func ledger(req: Request) async throws -> View {
        let scope = try req.scope
        var v = Validator()
        let filter = EnterpriseService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let service = EnterpriseService(request: req)
        let result = try await service.page(filter, paging)
        let coverage = try await service.coverage(orgID: filter.orgID)
        let maxTotal = max(1, coverage.rows.map(\.total).max() ?? 1)
        let none = req.t("common.all")
        func sel(_ raw: String?) -> String? { raw }
        let filters = [
            FormField("type", req.t("field.type"), type: "select", value: nil,
                      choices: FormField.choices(EnterpriseType.self, prefix: "enterprise.type", selected: filter.type?.rawValue, blank: none, req), errors: [:]),
            FormField("size", req.t("field.size"), type: "select", value: nil,
                      choices: FormField.choices(EnterpriseSize.self, prefix: "enterprise.size", selected: filter.size?.rawValue, blank: none, req), errors: [:]),
            FormField("industry", req.t("field.industry"), type: "select", value: nil,
                      choices: FormField.choices(IndustrySection.self, prefix: "industry", selected: filter.industry?.rawValue, blank: none, req), errors: [:]),
            FormField("unionStatus", req.t("field.unionStatus"), type: "select", value: nil,
                      choices: FormField.choices(UnionStatus.self, prefix: "unionStatus", selected: filter.unionStatus.count == 1 ? filter.unionStatus[0].rawValue : nil, blank: none, req), errors: [:]),
            FormField("influence", req.t("field.influence"), type: "select", value: nil,
                      choices: FormField.choices(SocialInfluence.self, prefix: "influence", selected: filter.influence?.rawValue, blank: none, req), errors: [:]),
            FormField("relations", req.t("field.relations"), type: "select", value: nil,
                      choices: FormField.choices(LabourRelations.self, prefix: "relations", selected: filter.relations?.rawValue, blank: none, req), errors: [:]),
            FormField("stale", req.t("field.stale"), type: "select", value: nil, choices: [
                .init(value: "", label: none, selected: filter.stale == nil),
                .init(value: "true", label: req.t("ledger.staleOnly"), selected: filter.stale == true),
                .init(value: "false", label: req.t("ledger.freshOnly"), selected: filter.stale == false),
            ], errors: [:]),
            FormField("owner", req.t("field.owner"), type: "select", value: nil, choices: [
                .init(value: "", label: none, selected: filter.owner == nil),
                .init(value: String(scope.staffID), label: req.t("ledger.mine"), selected: filter.owner == scope.staffID),
            ], errors: [:]),
        ]
        let base = "/console/enterprises?" + (filter.query.isEmpty ? "" : filter.query + "&")
        return try await req.view.render("outreach/ledger", LedgerPage(
            page: req.pageContext(), rows: result.items.map { Self.row(req, $0) }, total: result.total, query: filter.query,
            q: filter.q ?? "", orgId: filter.orgID,
            orgs: [.init(value: "", label: scope.rootName, selected: filter.orgID == nil)]
                + (try await OrgSuggestions.choices(.places, under: try await scope.org(scope.rootID, on: req.db), selected: filter.orgID,
                                               excluding: scope.rootID, on: req.db)).map { .init(value: String($0.id), label: $0.name, selected: $0.id == filter.orgID) },
            filters: filters, coverageName: coverage.name, coverageTotal: coverage.total, coverageCovered: coverage.covered,
            coverageRate: Self.percent(coverage.rate), coverageStale: coverage.stale,
            coverage: coverage.rows.map { CoverageRow(orgId: $0.orgId, name: $0.name, total: $0.total, covered: $0.covered, rate: Self.percent($0.rate),
                                                      width: Int(($0.rate ?? 0).rounded())) },
            statusCounts: UnionStatus.allCases.map { .init(value: $0.rawValue, label: "\(req.t("unionStatus.\($0.rawValue)")) \(coverage.byStatus[$0.rawValue] ?? 0)", selected: filter.unionStatus == [$0]) },
            canEdit: scope.role.keepsLedger,
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < result.total ? base + "page=\(paging.page + 1)" : nil))
    }

    /// The ledger as XLSX or CSV, with the filters of the page; audited.
    @Sendable func export(req: Request) async throws -> Response {
        var v = Validator()
        let filter = EnterpriseService.filter(from: req, &v)
        try v.check()
        let format = try RosterFiles.format(req)
        let scope = try req.scope
        let service = EnterpriseService(request: req)
        let total = try await service.query(filter).count()
        let root = try await Organization.find(filter.orgID ?? scope.rootID, on: req.db)
        try await req.audit.record("enterprise.export", targetType: "org", targetID: root?.id, org: root,
                                   details: ["rows": String(total), "format": format, "filter": filter.query])
        let header = EnterpriseColumns.all.map { req.t($0.labelKey) }
        return try await RosterFiles.download(req, name: "enterprises", format: format, header: header, widths: EnterpriseColumns.all.map(\.width)) { add in
            var lastID = Int.max
            var names: [Int: String] = [:]
            while true {
                let batch = try await service.query(filter).filter(\.$id < lastID).sort(\.$id, .descending).limit(5000).all()
                if batch.isEmpty { break }
                let missing = Set(batch.map(\.orgID)).filter { names[$0] == nil }
                if !missing.isEmpty {
                    for org in try await Organization.query(on: req.db).filter(\.$id ~~ Array(missing)).all() { names[org.id ?? 0] = org.name }
                }
                for e in batch { try add(EnterpriseColumns.cells(e, orgName: names[e.orgID] ?? "", req)) }
                lastID = batch.last?.id ?? 0
            }
        }
    }

    // MARK: one enterprise

    struct ContactRow: Encodable {
        let at: String
        let kind: String
        let note: String
        let staff: String
        let meetingId: Int?
    }

    struct DetailPage: Encodable {
        let page: PageContext
        let e: Row
        let facts: [FormField.Choice]
        let contacts: [ContactRow]
        let election: [FormField.Choice]
        let unionOrgId: Int?
        let canEdit: Bool
        let canFound: Bool
        let contactKinds: [FormField.Choice]
        let owners: [FormField.Choice]
        let nextStep: String
        let nextStepOn: String
        let termDefault: String
        let today: String
        let unionName: String
        let problem: String?
        let flash: String?
    }

    @Sendable func detail(req: Request) async throws -> View {
        try await renderDetail(req, id: try req.idParameter(), problem: nil)
    }

    func renderDetail(_ req: Request, id: Int, problem: String?) async throws -> View {
        let scope = try req.scope
        let service = EnterpriseService(request: req)
        let e = try await service.find(id)
        let dto = try await service.detail(e)
        let facts: [(String, String?)] = [
            ("field.creditCode", dto.creditCode + (dto.warnings.isEmpty ? "" : " ⚠ " + req.t("warning.creditCode.checksum"))),
            ("field.orgId", dto.orgName), ("field.type", req.t("enterprise.type.\(dto.type.rawValue)")),
            ("field.headcount", "\(dto.headcount) · \(req.t("enterprise.size.\(dto.size.rawValue)"))"),
            ("field.industry", dto.industry.map { req.t("industry.\($0.rawValue)") }),
            ("field.influence", req.t("influence.\(dto.influence.rawValue)")), ("field.relations", req.t("relations.\(dto.relations.rawValue)")),
            ("field.address", dto.address), ("ledger.coordinates", dto.lat.map { String(format: "%.6f, %.6f", $0, dto.lng ?? 0) }),
            ("field.contactName", [dto.contactName, dto.contactPhone].compactMap { $0 }.joined(separator: " ")),
        ]
        let election: [(String, String?)] = dto.election.map { el in
            [("field.heldOn", el.heldOn), ("field.voters", "\(el.votesCast) / \(el.voters)"), ("field.chairName", el.chairName + (el.chairVotes.map { " (\($0))" } ?? "")),
             ("field.committee", el.committee.joined(separator: "、")), ("field.termEndsOn", el.termEndsOn)]
        } ?? []
        // Owners: accounts on the enterprise's node and the nodes above it, within the caller's scope.
        let org = try await Organization.find(e.orgID, on: req.db)
        let chain = (org?.treePath.ids ?? []).filter { id in scope.root.ids.last == id || !scope.root.ids.contains(id) }
        let staff = try await StaffUser.query(on: req.db).filter(\.$orgID ~~ chain).sort(\.$displayName).limit(200).all()
        let today = ShanghaiClock.today()
        return try await req.view.render("outreach/enterprise", DetailPage(
            page: req.pageContext(), e: Self.row(req, dto),
            facts: facts.compactMap { key, value in value.flatMap { $0.isEmpty ? nil : FormField.Choice(value: $0, label: req.t(key), selected: false) } },
            contacts: (dto.contacts ?? []).map { c in
                var note = c.note ?? ""
                if let from = c.fromStatus, let to = c.toStatus { note = req.t("unionStatus.\(from)") + " → " + req.t("unionStatus.\(to)") + (note.isEmpty ? "" : " · " + note) } else if let to = c.toStatus, c.kind == "created" {
                    note = req.t("unionStatus.\(to)")
                }
                return ContactRow(at: MeetingTime.local(c.at), kind: req.t("contact.kind.\(c.kind)"), note: note, staff: c.staffName ?? "", meetingId: c.meetingId)
            },
            election: election.compactMap { key, value in value.map { FormField.Choice(value: $0, label: req.t(key), selected: false) } },
            unionOrgId: dto.unionOrgId, canEdit: scope.role.keepsLedger, canFound: scope.role.keepsLedger && !dto.unionStatus.isCovered && dto.unionOrgId == nil,
            contactKinds: EnterpriseContact.manualKinds.map { .init(value: $0, label: req.t("contact.kind.\($0)"), selected: $0 == "visit") },
            owners: [.init(value: "", label: "—", selected: dto.ownerStaffId == nil)]
                + staff.map { .init(value: String($0.id ?? 0), label: $0.displayName, selected: $0.id == dto.ownerStaffId) },
            nextStep: dto.nextStep ?? "", nextStepOn: dto.nextStepOn ?? "", termDefault: today.adding(days: 5 * 365).description,
            today: today.description, unionName: dto.name + "工会", problem: problem,
            flash: req.query[String.self, at: "done"].flatMap { ["saved", "contact", "plan", "founded", "created"].contains($0) ? req.t("ledger.done.\($0)") : nil }))
    }

    /// Runs an action from the detail page: back to the page, with the problem shown when it was refused.
    private func act(_ req: Request, _ id: Int, done: String, _ body: () async throws -> Void) async throws -> Response {
        do {
            try await body()
            return req.redirect(to: "/console/enterprises/\(id)?done=\(done)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderDetail(req, id: id, problem: req.refusal(error)).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func addContact(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        return try await act(req, id, done: "contact") {
            _ = try await EnterpriseService(request: req).addContact(id, ContactInput(kind: form.text("kind"), note: form["note"], at: form.text("at")))
        }
    }

    @Sendable func plan(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        var input = EnterpriseInput()
        input.nextStep = form.text("nextStep") ?? ""
        input.nextStepOn = form.text("nextStepOn") ?? ""
        input.ownerStaffId = form.int("ownerStaffId")
        input.present = ["nextStep", "nextStepOn", "ownerStaffId"]
        if let status = form.text("unionStatus") {
            input.unionStatus = status
            input.present.insert("unionStatus")
        }
        return try await act(req, id, done: "plan") { _ = try await EnterpriseService(request: req).update(id, input) }
    }

    @Sendable func found(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        let input = FoundingInput(heldOn: form.text("heldOn"), voters: form.int("voters"), votesCast: form.int("votesCast"),
                                  chairName: form["chairName"], chairVotes: form.int("chairVotes"), committee: form.list("committee"),
                                  termEndsOn: form.text("termEndsOn"), unionName: form.text("unionName"), parentOrgId: nil)
        return try await act(req, id, done: "founded") { _ = try await EnterpriseService(request: req).found(id, input) }
    }
}
