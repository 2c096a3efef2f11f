import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's application queue, one application, and the booth screen.
extension MemberPages {
    // MARK: applications

    struct AppRow: Codable {
        let id: Int
        /// The status code (`pending`, `approved` …) for scripts; `status` is the label.
        let state: String
        let name: String
        let sexAge: String
        let idMasked: String
        let phone: String
        let employer: String
        let orgName: String
        let orgIsUnion: Bool
        let status: String
        let css: String
        let createdAt: String
        let card: String?
        /// The union the approve button files it under unless the reviewer picks another (nil: none, the reviewer chooses).
        var suggestedOrgId: Int?
        var suggestedOrgName: String?
    }

    static func row(_ req: Request, _ a: ApplicationDTO, suggested: Organization? = nil) -> AppRow {
        AppRow(id: a.id, state: a.status.rawValue, name: a.name, sexAge: sexAge(req, sex: a.sex, age: a.age), idMasked: a.idNumberMasked, phone: a.phoneMasked,
               employer: a.employerName, orgName: a.orgName ?? "", orgIsUnion: a.orgIsUnion, status: req.t("application.status.\(a.status.rawValue)"),
               css: a.status == .approved ? "ok" : a.status.isOpen ? "warn" : "", createdAt: a.createdAt.map(ShanghaiClock.format) ?? "",
               card: a.cardNumber.flatMap { try? CardNumber(parsing: $0) }?.grouped,
               suggestedOrgId: suggested?.id, suggestedOrgName: suggested?.name)
    }

    struct ApplicationsPage: Encodable {
        let page: PageContext
        let rows: [AppRow]
        let total: Int
        let q: String
        let statuses: [Option]
        let rootId: Int
        let prevHref: String?
        let nextHref: String?
        let flash: String?
    }

    @Sendable func applications(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let raw = req.query[String.self, at: "status"] ?? "open"
        let statuses: [ApplicationStatus] = raw == "open" ? [.pending, .needsInfo] : ApplicationStatus(rawValue: raw).map { [$0] } ?? []
        var v = Validator()
        let q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 100)
        let paging = (try? PageRequest(from: req, defaultPer: 50)) ?? PageRequest()
        let result = try await ApplicationService(request: req).list(status: statuses, orgID: nil, meetingID: nil, q: q, afterID: nil, paging: paging)
        let options = [Option(value: "open", label: req.t("applications.open"), selected: raw == "open")]
            + ApplicationStatus.allCases.map { Option(value: $0.rawValue, label: req.t("application.status.\($0.rawValue)"), selected: raw == $0.rawValue) }
            + [Option(value: "all", label: req.t("common.all"), selected: raw == "all")]
        let base = "/console/applications?status=\(raw)&q=\((q ?? "").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&"
        return try await req.view.render("members/applications", ApplicationsPage(
            page: req.pageContext(), rows: result.items.map { Self.row(req, $0) }, total: result.total, q: q ?? "", statuses: options,
            rootId: scope.rootID,
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < result.total ? base + "page=\(paging.page + 1)" : nil,
            flash: req.query[String.self, at: "done"].flatMap { ["approved", "rejected", "needsInfo", "assigned"].contains($0) ? req.t("applications.done.\($0)") : nil }))
    }

    struct ApplicationPage: Encodable {
        let page: PageContext
        let a: ApplicationDTO
        let statusLabel: String
        let css: String
        let sexAge: String
        let createdAt: String
        let open: Bool
        let unions: [UnionChoice]
        /// Districts and streets in scope below where it sits, to pass it on to.
        let units: [UnionChoice]
        let errors: [String: String]
        let alert: String?
        let flash: String?
    }

    func renderApplication(_ req: Request, _ id: Int, errors: [String: String] = [:], alert: String? = nil, status: HTTPStatus = .ok,
                           chosen: Int? = nil) async throws -> Response {
        let app = try await ApplicationService(request: req).find(id)
        let org = try await Organization.find(app.orgID, on: req.db)
        let card = try await app.memberID.asyncMap { try await Member.find($0, on: req.db)?.cardNumber } ?? nil
        let dto = ApplicationDTO(app, org: org, cipher: req.fieldCipher, cardNumber: card)
        var unions: [UnionChoice] = []
        if let org, !org.kind.isGrassroots {
            let scope = try req.scope
            let base = scope.contains(org.path) ? org : try await scope.org(scope.rootID, on: req.db)
            let suggested = try await UnionSuggestion.suggest([dto], filer: scope, within: base.treePath, on: req.db)[dto.id]
            unions = try await Self.unions(under: base, selected: chosen ?? suggested?.id, on: req.db)
        }
        var units: [UnionChoice] = []
        if let org, org.kind.tier < .street {
            let scope = try req.scope
            let base = scope.contains(org.path) ? org : try await scope.org(scope.rootID, on: req.db)
            units = OrgOrder.sorted(try await Organization.query(on: req.db).inSubtree(base.treePath).filter(\.$kind ~~ [.district, .street])
                .filter(\.$id != (org.id ?? 0)).sort(\.$path).limit(500).all())
                .map { UnionChoice(id: $0.id ?? 0, name: $0.name, selected: false) }
        }
        let page = ApplicationPage(page: req.pageContext(), a: dto, statusLabel: req.t("application.status.\(dto.status.rawValue)"),
                                   css: dto.status == .approved ? "ok" : dto.status.isOpen ? "warn" : "",
                                   sexAge: Self.sexAge(req, sex: dto.sex, age: dto.age), createdAt: dto.createdAt.map(ShanghaiClock.format) ?? "",
                                   open: dto.status.isOpen, unions: unions, units: units, errors: errors, alert: alert,
                                   flash: req.query[String.self, at: "done"].flatMap { ["approved", "rejected", "needsInfo"].contains($0) ? req.t("applications.done.\($0)") : nil })
        return try await req.view.render("members/application", page).encodeResponse(status: status, for: req)
    }

    @Sendable func application(req: Request) async throws -> Response {
        try await renderApplication(req, try req.idParameter())
    }

    struct ApproveForm: Decodable {
        var orgId: String?
        var reason: String?
        var to: String?
    }

    struct BoothApproved: Content {
        let memberId: Int
        let cardNumber: String
        let cardNumberGrouped: String
    }

    /// From the detail page (a redirect) or the booth screen (JSON, `Accept: application/json`).
    @Sendable func approve(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.content.decode(ApproveForm.self)
        var input = ApproveInput()
        if let raw = form.orgId, !raw.isEmpty { input.orgId = Int(raw) ?? -1 }
        if !req.prefersHTML {
            let member = try await ApplicationService(request: req).approve(id, input)
            return try await BoothApproved(memberId: try member.requireID(), cardNumber: member.cardNumber,
                                           cardNumberGrouped: (try? CardNumber(parsing: member.cardNumber))?.grouped ?? member.cardNumber).encodeResponse(for: req)
        }
        do {
            let member = try await ApplicationService(request: req).approve(id, input)
            return req.redirect(to: "/console/members/\(member.id ?? 0)?done=approved")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderApplication(req, id, errors: req.fieldMessages(error),
                                               alert: error.fields.isEmpty ? error.detailKey.map { req.t($0) } : nil, status: error.status,
                                               chosen: input.orgId)
        }
    }

    @Sendable func assign(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.content.decode(ApproveForm.self)
        do {
            _ = try await ApplicationService(request: req).assign(id, to: form.orgId.flatMap { Int($0) })
            return req.redirect(to: "/console/applications?done=assigned")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderApplication(req, id, errors: req.fieldMessages(error),
                                               alert: error.fields.isEmpty ? error.detailKey.map { req.t($0) } : nil, status: error.status)
        }
    }

    @Sendable func decide(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.content.decode(ApproveForm.self)
        let to: ApplicationStatus = form.to == "rejected" ? .rejected : .needsInfo
        do {
            _ = try await ApplicationService(request: req).decide(id, to: to, reason: form.reason)
            return req.redirect(to: "/console/applications?done=\(to.rawValue)")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderApplication(req, id, errors: req.fieldMessages(error),
                                               alert: error.fields.isEmpty ? error.detailKey.map { req.t($0) } : nil, status: error.status)
        }
    }

    // MARK: the booth

    struct BoothPage: Encodable {
        let page: PageContext
        let orgId: Int
        let orgName: String
        let meetingId: Int?
        let joinLink: String
        /// The link as a QR code (SVG drawn here), for workers to scan at the booth.
        let qr: String?
        let boothOrgs: [UnionChoice]
        let unions: [UnionChoice]
        let rows: [AppRow]
    }

    /// `/console/booth?org=ID[&meeting=ID]`: one street's (or one meeting's) applications as they arrive.
    @Sendable func booth(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let orgID = req.query[Int.self, at: "org"] ?? scope.rootID
        let org = try await scope.org(orgID, on: req.db)
        let meetingID = req.query[Int.self, at: "meeting"].flatMap { $0 > 0 ? $0 : nil }
        let streets = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(500).all())
        let linkBase = req.application.gonghui.linkBase
        var link = linkBase + "/join?org=\(orgID)"
        if let meetingID { link += "&meeting=\(meetingID)" }
        return try await req.view.render("members/booth", BoothPage(
            page: req.pageContext(), orgId: orgID, orgName: org.name, meetingId: meetingID, joinLink: link,
            qr: (try? QRCode(text: link, correction: .medium))?.svg(pixels: 200, title: req.t("booth.qrTitle")),
            boothOrgs: streets.map { UnionChoice(id: $0.id ?? 0, name: $0.name, selected: $0.id == orgID) },
            unions: try await Self.unions(under: org, on: req.db), rows: []))
    }

    struct BoothFeed: Content {
        let first: Bool
        /// The highest id seen: the next poll asks for newer ones.
        let cursor: Int
        let items: [AppRow]
    }

    /// New applications at the booth's node since `after`: open ones, and today's decided ones.
    @Sendable func boothFeed(req: Request) async throws -> BoothFeed {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        var v = Validator()
        let orgID = req.optionalID("org", &v) ?? scope.rootID
        let meetingID = req.optionalID("meeting", &v)
        let after = req.query[Int.self, at: "after"] ?? 0
        try v.check()
        // Open ones and today's, in SQL; the first load takes the newest hundred, later polls what came after.
        let startOfDay = Calendar.shanghai.startOfDay(for: Date())
        let result = try await ApplicationService(request: req).list(status: [], orgID: orgID, meetingID: meetingID, q: nil,
                                                                     afterID: after > 0 ? after : nil, paging: PageRequest(page: 1, per: 100),
                                                                     openOrSince: startOfDay)
        let items = after > 0 ? result.items : result.items.reversed()
        let booth = try await scope.org(orgID, on: req.db)
        let suggested = try await UnionSuggestion.suggest(items, filer: scope, within: booth.treePath, on: req.db)
        return BoothFeed(first: after == 0, cursor: max(after, items.map(\.id).max() ?? 0),
                         items: items.map { Self.row(req, $0, suggested: suggested[$0.id]) })
    }
}
