import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's roster: search, one member and its actions, export, and imports with progress.
extension MemberPages {
    // MARK: the roster

    struct MemberRow: Encodable {
        let id: Int
        let name: String
        let sexAge: String
        let card: String
        let idMasked: String
        let phone: String
        let employer: String
        let orgId: Int
        let orgName: String
        let joinedOn: String
        let status: String
        let css: String
    }

    struct MembersPage: Encodable {
        let page: PageContext
        let rows: [MemberRow]
        let total: Int
        let q: String
        let orgId: Int?
        let orgName: String?
        let statuses: [Option]
        let exportQuery: String
        let canReveal: Bool
        let prevHref: String?
        let nextHref: String?
        let flash: String?
    }

    @Sendable func members(req: Request) async throws -> View {
        let scope = try req.scope
        var v = Validator()
        let filter = MemberQuery.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        let cursor = MemberQuery.Cursor.from(req, &v)
        if !v.issues.isEmpty { throw AppError.invalid(v.issues) }
        let found = try await MemberQuery(request: req).page(filter, paging, cursor: cursor)
        let result = found.paged
        let rows = result.items.map { m in
            MemberRow(id: m.id, name: m.name, sexAge: Self.sexAge(req, sex: m.sex, age: m.age),
                      card: (try? CardNumber(parsing: m.cardNumber))?.grouped ?? m.cardNumber, idMasked: m.idNumberMasked, phone: m.phoneMasked,
                      employer: m.employerName ?? "", orgId: m.orgId, orgName: m.orgName ?? "", joinedOn: m.joinedOn,
                      status: req.t("member.status.\(m.status.rawValue)"), css: m.status == .active ? "ok" : "")
        }
        var query: [String] = []
        if let q = filter.q { query.append("q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
        if let orgID = filter.orgID { query.append("orgId=\(orgID)") }
        if let status = filter.status { query.append("status=\(status.rawValue)") }
        let base = "/console/members?" + query.map { $0 + "&" }.joined()
        let orgName = try await filter.orgID.asyncMap { try await Organization.find($0, on: req.db)?.name } ?? nil
        return try await req.view.render("members/list", MembersPage(
            page: req.pageContext(), rows: rows, total: result.total, q: filter.q ?? "", orgId: filter.orgID, orgName: orgName,
            statuses: MemberStatus.allCases.map { Option(value: $0.rawValue, label: req.t("member.status.\($0.rawValue)"), selected: filter.status == $0) },
            exportQuery: query.joined(separator: "&"), canReveal: scope.role.revealsIDNumbers,
            prevHref: found.hasNewer ? base + (rows.first.map { "before=\($0.id)" } ?? "") : nil,
            nextHref: found.hasOlder ? base + (rows.last.map { "after=\($0.id)" } ?? "") : nil,
            flash: req.query[String.self, at: "done"].flatMap { $0 == "transfer" ? req.t("members.done.transfer") : nil }))
    }

    @Sendable func export(req: Request) async throws -> Response {
        try await RosterFileController().export(req: req)
    }

    struct HistoryRow: Encodable {
        let at: String
        let label: String
        let detail: String
    }

    struct MemberPage: Encodable {
        let page: PageContext
        let m: MemberDTO
        let card: String
        let cardState: String
        let statusLabel: String
        let css: String
        let sexAge: String
        let history: [HistoryRow]
        let canReveal: Bool
        let canEdit: Bool
        let revealed: String?
        let statuses: [Option]
        let unionQuery: String
        let unions: [UnionDTO]?
        let flash: String?
        let alert: String?
    }

    func renderMember(_ req: Request, _ member: Member, revealed: String? = nil, alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        let dto = try await MemberController.detail(req, member)
        var orgIDs: [Int] = []
        for event in dto.history ?? [] where ["joined", "transferred", "transferRequested", "transferDeclined", "rejoined"].contains(event.kind) {
            orgIDs += [event.from, event.to].compactMap { $0.flatMap { Int($0) } }
        }
        let orgs = try await ApplicationService.orgNames(orgIDs, on: req.db)
        func name(_ value: String?) -> String { value.flatMap { Int($0) }.flatMap { orgs[$0]?.name } ?? value ?? "" }
        let history = (dto.history ?? []).map { e -> HistoryRow in
            let detail: String
            switch e.kind {
            case "joined": detail = [name(e.to), e.note.map { req.t("members.source.\($0)") } ?? ""].filter { !$0.isEmpty }.joined(separator: " · ")
            case "transferred", "transferRequested", "transferDeclined", "rejoined": detail = name(e.from) + " → " + name(e.to) + (e.note.map { " · \($0)" } ?? "")
            case "statusChanged": detail = req.t("member.status.\(e.from ?? "")") + " → " + req.t("member.status.\(e.to ?? "")") + (e.note.map { " · \($0)" } ?? "")
            default: detail = [e.from, e.to].compactMap { $0 }.joined(separator: " → ")
            }
            return HistoryRow(at: ShanghaiClock.format(e.at), label: req.t("members.event.\(e.kind)"), detail: detail)
        }
        let unionQuery = Normalize.singleLine(req.query[String.self, at: "union"] ?? "")
        var unions: [UnionDTO]?
        if !unionQuery.isEmpty {
            unions = try await UnionSearch.byName(unionQuery, excluding: member.orgID, limit: 50, on: req.db)
        }
        let page = MemberPage(
            page: req.pageContext(), m: dto, card: (try? CardNumber(parsing: dto.cardNumber))?.grouped ?? dto.cardNumber,
            cardState: req.t("member.card.\(dto.cardState.rawValue)"), statusLabel: req.t("member.status.\(dto.status.rawValue)"),
            css: dto.status == .active ? "ok" : "", sexAge: Self.sexAge(req, sex: dto.sex, age: dto.age), history: history,
            canReveal: scope.role.revealsIDNumbers, canEdit: scope.role.keepsMembers, revealed: revealed,
            statuses: MemberStatus.allCases.map { Option(value: $0.rawValue, label: req.t("member.status.\($0.rawValue)"), selected: dto.status == $0) },
            unionQuery: unionQuery, unions: unions,
            flash: req.query[String.self, at: "done"].flatMap { ["saved", "card", "approved", "transferAsked"].contains($0) ? req.t("members.done.\($0)") : nil },
            alert: alert)
        let response = try await req.view.render("members/detail", page).encodeResponse(status: status, for: req)
        // A page that may show a whole ID number is never kept by the browser or a proxy.
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }

    @Sendable func member(req: Request) async throws -> Response {
        try await renderMember(req, try await MemberService(request: req).member(try req.idParameter()))
    }

    @Sendable func reveal(req: Request) async throws -> Response {
        let revealed = try await MemberController().reveal(req: req)
        return try await renderMember(req, try await MemberService(request: req).member(try req.idParameter()), revealed: revealed.idNumber)
    }

    struct StatusForm: Decodable {
        var status: String?
        var note: String?
        var action: String?
        var toOrgId: String?
        var reason: String?
    }

    /// Runs an API handler for a console form and shows its problem on the member page.
    func act(_ req: Request, done: String, _ body: () async throws -> Void) async throws -> Response {
        let id = try req.idParameter()
        do {
            try await body()
            return req.redirect(to: "/console/members/\(id)?done=\(done)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            let message = error.fields.isEmpty ? error.detailKey.map { req.t($0) } ?? req.t(error.titleKey)
                : error.fields.map { req.message(for: $0) }.joined(separator: "；")
            return try await renderMember(req, try await MemberService(request: req).member(id), alert: message, status: error.status)
        }
    }

    @Sendable func changeStatus(req: Request) async throws -> Response {
        let form = try req.content.decode(StatusForm.self)
        let patch = MemberPatch(status: form.status, note: form.note)
        try req.content.encode(patch, as: .json)
        return try await act(req, done: "saved") { _ = try await MemberController().update(req: req) }
    }

    @Sendable func card(req: Request) async throws -> Response {
        let form = try req.content.decode(StatusForm.self)
        try req.content.encode(CardAction(action: form.action), as: .json)
        return try await act(req, done: "card") { _ = try await MemberController().card(req: req) }
    }

    @Sendable func transfer(req: Request) async throws -> Response {
        let form = try req.content.decode(StatusForm.self)
        try req.content.encode(TransferInput(toOrgId: form.toOrgId.flatMap { Int($0) }, reason: form.reason), as: .json)
        return try await act(req, done: "transferAsked") { _ = try await MemberController().requestTransfer(req: req) }
    }

    // MARK: imports

    struct JobRow: Encodable {
        let id: Int
        let fileName: String
        let orgName: String
        let state: String
        let imported: Int
        let duplicates: Int
        let failed: Int
        let createdAt: String
    }

    struct ImportPage: Encodable {
        let page: PageContext
        let unionQuery: String
        let unions: [UnionChoice]
        let jobs: [JobRow]
        let errors: [String: String]
        let alert: String?
    }

    func renderImport(_ req: Request, errors: [String: String] = [:], alert: String? = nil, selected: Int? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let root = try await scope.org(scope.rootID, on: req.db)
        let unionQuery = String(Normalize.singleLine(req.query[String.self, at: "union"] ?? "").prefix(50))
        let unions = root.kind.isGrassroots ? [UnionChoice(id: scope.rootID, name: root.name, selected: true)]
            : try await Self.unions(under: root, selected: selected ?? req.query[Int.self, at: "orgId"], matching: unionQuery, on: req.db)
        let jobs = try await scope.records(ImportJob.self, orgField: \.$orgID, on: req.db).filter(\.$kind == "members").sort(\.$id, .descending).limit(20).all()
        let orgs = try await ApplicationService.orgNames(jobs.map(\.orgID), on: req.db)
        let rows = jobs.map { JobRow(id: $0.id ?? 0, fileName: $0.fileName, orgName: orgs[$0.orgID]?.name ?? "", state: req.t("import.state.\($0.state)"),
                                     imported: $0.imported, duplicates: $0.duplicates, failed: $0.failed,
                                     createdAt: $0.createdAt.map(ShanghaiClock.format) ?? "") }
        return try await req.view.render("members/import", ImportPage(page: req.pageContext(), unionQuery: unionQuery, unions: unions, jobs: rows, errors: errors, alert: alert))
            .encodeResponse(status: status, for: req)
    }

    @Sendable func importForm(req: Request) async throws -> Response {
        try await renderImport(req)
    }

    @Sendable func template(req: Request) async throws -> Response {
        try await RosterFileController().template(req: req)
    }

    struct UploadForm: Decodable {
        var orgId: String?
        var file: File?
    }

    @Sendable func importUpload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let form = try req.content.decode(UploadForm.self)
        var issues: [FieldIssue] = []
        let orgID = form.orgId.flatMap { Int($0) }
        if orgID == nil { issues.append(FieldIssue("orgId", "required", "error.application.chooseUnion")) }
        guard let file = form.file, file.data.readableBytes > 0 else {
            issues.append(FieldIssue("file", "required", "error.import.empty"))
            return try await renderImport(req, errors: req.fieldMessages(.invalid(issues)), selected: orgID, status: .unprocessableEntity)
        }
        do {
            guard let orgID else { throw AppError.invalid(issues) }
            let union = try await MemberService.union(orgID, field: "orgId", scope: scope, on: req.db)
            let job = try await RosterFiles.startImport(req, union: union, fileName: file.filename, body: file.data)
            return req.redirect(to: "/console/imports/\(job.id ?? 0)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderImport(req, errors: req.fieldMessages(error), selected: orgID, status: error.status)
        }
    }

    struct JobPage: Encodable {
        let page: PageContext
        let job: ImportJobDTO
        let orgName: String
        let stateLabel: String
        let title: String
        let backHref: String
    }

    @Sendable func job(req: Request) async throws -> View {
        let job = try await RosterFiles.job(req, try req.idParameter())
        let org = try await Organization.find(job.orgID, on: req.db)
        return try await req.view.render("members/job", JobPage(page: req.pageContext(), job: ImportJobDTO(job), orgName: org?.name ?? "",
                                                                stateLabel: req.t("import.state.\(job.state)"),
                                                                title: req.t(["enterprises": "ledger.import", "sites": "sites.import", "settlements": "mutualAid.import"][job.kind] ?? "members.import"),
                                                                backHref: ["enterprises": "/console/enterprises/import", "sites": "/console/sites/import", "settlements": "/console/mutual-aid"][job.kind]
                                                                    ?? "/console/members/import"))
    }

    @Sendable func jobStatus(req: Request) async throws -> ImportJobDTO {
        ImportJobDTO(try await RosterFiles.job(req, try req.idParameter()))
    }

    @Sendable func problems(req: Request) async throws -> Response {
        try await RosterFileController().problems(req: req)
    }
}
