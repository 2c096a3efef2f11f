import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's member pages: the application queue, the booth screen, the roster, imports, transfers.
struct MemberPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let console = routes.grouped("console")
        console.get("applications", use: applications)
        console.get("applications", ":id", use: application)
        console.post("applications", ":id", "approve", use: approve)
        console.post("applications", ":id", "decide", use: decide)
        console.post("applications", ":id", "assign", use: assign)
        console.get("booth", use: booth)
        console.get("booth", "feed", use: boothFeed)
        console.get("members", use: members)
        console.get("members", "export", use: export)
        console.get("members", "import", use: importForm)
        console.get("members", "import", "template", use: template)
        console.on(.POST, "members", "import", body: .collect(maxSize: RosterFiles.maxUpload), use: importUpload)
        console.get("imports", ":id", use: job)
        console.get("imports", ":id", "status", use: jobStatus)
        console.get("imports", ":id", "problems", use: problems)
        console.get("members", ":id", use: member)
        console.post("members", ":id", "reveal", use: reveal)
        console.post("members", ":id", "status", use: changeStatus)
        console.post("members", ":id", "card", use: card)
        console.post("members", ":id", "transfer", use: transfer)
        console.get("transfers", use: transfers)
        console.post("transfers", ":id", "accept", use: acceptTransfer)
        console.post("transfers", ":id", "decline", use: declineTransfer)
    }

    static func registerNav(_ app: Application) {
        app.consoleNav.add(.init(labelKey: "nav.applications", href: "/console/applications", visible: { $0.keepsMembers }))
        app.consoleNav.add(.init(labelKey: "nav.members", href: "/console/members", visible: { $0.keepsMembers }))
        app.consoleNav.add(.init(labelKey: "nav.transfers", href: "/console/transfers", visible: { $0.keepsMembers }))
    }

    struct Option: Encodable {
        let value: String
        let label: String
        let selected: Bool
    }

    struct UnionChoice: Encodable {
        let id: Int
        let name: String
        let selected: Bool
    }

    static func sexAge(_ req: Request, sex: String, age: Int) -> String {
        req.t("member.sex.\(sex)") + " · " + req.t("members.age", ["age": String(age)])
    }

    /// Grassroots unions under `org` (in scope), for the union pickers.
    /// At most 1,000; `matching` narrows them by name (a district holds thousands).
    static func unions(under org: Organization, selected: Int? = nil, matching: String? = nil, on db: any Database) async throws -> [UnionChoice] {
        var query = Organization.query(on: db).inSubtree(org.treePath)
            .filter(\.$kind ~~ [.enterprise, .community, .building, .industry, .other])
        if let matching, !matching.isEmpty { query = query.filter(\.$name ~~ matching) }
        var rows = try await query.sort(\.$name).limit(1000).all()
        if let selected, !rows.contains(where: { $0.id == selected }),
           let chosen = try await Organization.query(on: db).inSubtree(org.treePath).filter(\.$id == selected).first(), chosen.kind.isGrassroots {
            rows.insert(chosen, at: 0)
        }
        return rows.map { UnionChoice(id: $0.id ?? 0, name: $0.name, selected: $0.id == selected) }
    }

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
    }

    static func row(_ req: Request, _ a: ApplicationDTO) -> AppRow {
        AppRow(id: a.id, state: a.status.rawValue, name: a.name, sexAge: sexAge(req, sex: a.sex, age: a.age), idMasked: a.idNumberMasked, phone: a.phoneMasked,
               employer: a.employerName, orgName: a.orgName ?? "", orgIsUnion: a.orgIsUnion, status: req.t("application.status.\(a.status.rawValue)"),
               css: a.status == .approved ? "ok" : a.status.isOpen ? "warn" : "", createdAt: a.createdAt.map(ShanghaiClock.format) ?? "",
               card: a.cardNumber.flatMap { try? CardNumber(parsing: $0) }?.grouped)
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

    func renderApplication(_ req: Request, _ id: Int, errors: [String: String] = [:], alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let app = try await ApplicationService(request: req).find(id)
        let org = try await Organization.find(app.orgID, on: req.db)
        let card = try await app.memberID.asyncMap { try await Member.find($0, on: req.db)?.cardNumber } ?? nil
        let dto = ApplicationDTO(app, org: org, cipher: req.fieldCipher, cardNumber: card)
        var unions: [UnionChoice] = []
        if let org, !org.kind.isGrassroots {
            let scope = try req.scope
            let base = scope.contains(org.path) ? org : try await scope.org(scope.rootID, on: req.db)
            unions = try await Self.unions(under: base, on: req.db)
        }
        var units: [UnionChoice] = []
        if let org, org.kind.tier < .street {
            let scope = try req.scope
            let base = scope.contains(org.path) ? org : try await scope.org(scope.rootID, on: req.db)
            units = try await Organization.query(on: req.db).inSubtree(base.treePath).filter(\.$kind ~~ [.district, .street])
                .filter(\.$id != (org.id ?? 0)).sort(\.$path).limit(500).all()
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
                                               alert: error.fields.isEmpty ? error.detailKey.map { req.t($0) } : nil, status: error.status)
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
        let streets = try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(500).all()
        let host = req.headers.first(name: .host) ?? "127.0.0.1:8080"
        let scheme = req.headers.first(name: "X-Forwarded-Proto") == "https" ? "https" : "http"
        var link = "\(scheme)://\(host)/join?org=\(orgID)"
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
        return BoothFeed(first: after == 0, cursor: max(after, items.map(\.id).max() ?? 0), items: items.map { Self.row(req, $0) })
    }

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
        if !v.issues.isEmpty { throw AppError.invalid(v.issues) }
        let result = try await MemberQuery(request: req).page(filter, paging)
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
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < result.total ? base + "page=\(paging.page + 1)" : nil,
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
            let rows = try await Organization.query(on: req.db).filter(\.$kind ~~ [.enterprise, .community, .building, .industry, .other])
                .filter(\.$name ~~ String(unionQuery.prefix(50))).filter(\.$id != member.orgID).sort(\.$name).limit(50).all()
            let parents = try await ApplicationService.orgNames(rows.compactMap(\.parentID), on: req.db)
            unions = rows.map { UnionDTO(id: $0.id ?? 0, name: $0.name, parentName: $0.parentID.flatMap { parents[$0]?.name }) }
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
        let jobs = try await scope.records(ImportJob.self, orgField: \.$orgID, on: req.db).sort(\.$id, .descending).limit(20).all()
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
        } catch let error as AppError where error.status == .unprocessableEntity {
            return try await renderImport(req, errors: req.fieldMessages(error), selected: orgID, status: .unprocessableEntity)
        }
    }

    struct JobPage: Encodable {
        let page: PageContext
        let job: ImportJobDTO
        let orgName: String
        let stateLabel: String
    }

    @Sendable func job(req: Request) async throws -> View {
        let job = try await RosterFiles.job(req, try req.idParameter())
        let org = try await Organization.find(job.orgID, on: req.db)
        return try await req.view.render("members/job", JobPage(page: req.pageContext(), job: ImportJobDTO(job), orgName: org?.name ?? "",
                                                                stateLabel: req.t("import.state.\(job.state)")))
    }

    @Sendable func jobStatus(req: Request) async throws -> ImportJobDTO {
        ImportJobDTO(try await RosterFiles.job(req, try req.idParameter()))
    }

    @Sendable func problems(req: Request) async throws -> Response {
        try await RosterFileController().problems(req: req)
    }

    // MARK: transfers

    struct TransferRow: Encodable {
        let id: Int
        let memberName: String
        let fromOrgName: String
        let toOrgName: String
        let reason: String
        let status: String
        let canDecide: Bool
    }

    struct TransfersPage: Encodable {
        let page: PageContext
        let incoming: Bool
        let rows: [TransferRow]
        let flash: String?
        let alert: String?
    }

    func renderTransfers(_ req: Request, alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let incoming = req.query[String.self, at: "direction"] != "outgoing"
        let rows = try await scope.records(MemberTransfer.self, orgField: incoming ? \.$toOrgID : \.$fromOrgID, on: req.db)
            .sort(\.$id, .descending).limit(200).all()
        var items: [TransferRow] = []
        for row in rows {
            let dto = try await Transfers.dto(row, on: req.db)
            items.append(TransferRow(id: dto.id, memberName: dto.memberName, fromOrgName: dto.fromOrgName ?? "", toOrgName: dto.toOrgName ?? "",
                                     reason: dto.reason ?? "", status: req.t("transfer.status.\(dto.status.rawValue)"),
                                     canDecide: incoming && dto.status == .pending))
        }
        return try await req.view.render("members/transfers", TransfersPage(page: req.pageContext(), incoming: incoming, rows: items,
                                                                             flash: req.query[String.self, at: "done"].flatMap { ["accepted", "declined"].contains($0) ? req.t("transfers.done.\($0)") : nil },
                                                                             alert: alert)).encodeResponse(status: status, for: req)
    }

    @Sendable func transfers(req: Request) async throws -> Response {
        try await renderTransfers(req)
    }

    @Sendable func acceptTransfer(req: Request) async throws -> Response {
        do {
            _ = try await Transfers.decide(try req.idParameter(), accept: true, note: nil, on: req)
            return req.redirect(to: "/console/transfers?done=accepted")
        } catch let error as AppError where error.status == .conflict {
            return try await renderTransfers(req, alert: error.detailKey.map { req.t($0) }, status: error.status)
        }
    }

    @Sendable func declineTransfer(req: Request) async throws -> Response {
        let form = try req.content.decode(StatusForm.self)
        do {
            _ = try await Transfers.decide(try req.idParameter(), accept: false, note: form.reason, on: req)
            return req.redirect(to: "/console/transfers?done=declined")
        } catch let error as AppError where error.status == .conflict || error.status == .unprocessableEntity {
            let message = error.fields.isEmpty ? error.detailKey.map { req.t($0) } : error.fields.map { req.message(for: $0) }.joined(separator: "；")
            return try await renderTransfers(req, alert: message, status: error.status)
        }
    }
}

extension Calendar {
    static var shanghai: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = ShanghaiClock.zone
        return calendar
    }
}
