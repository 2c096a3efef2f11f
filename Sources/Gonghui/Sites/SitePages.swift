import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The staff registry: the list with filters and export, a site with its hours, exceptions and use,
/// the forms (a station keeper's is the short one), coverage, import.
struct SitePages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let sites = routes.grouped("console", "sites")
        sites.get(use: list)
        sites.get("export", use: SiteFiles.export)
        sites.get("template", use: SiteFiles.template)
        sites.get("coverage", use: coverage)
        sites.get("import", use: importForm)
        sites.upload("import", use: importUpload)
        sites.get("new", use: newForm)
        sites.post("new", use: create)
        sites.get(":id", use: show)
        sites.get(":id", "edit", use: editForm)
        sites.post(":id", "edit", use: update)
        sites.post(":id", "verify", use: verify)
        sites.post(":id", "retire", use: retire)
        sites.post(":id", "exceptions", use: addException)
        sites.post(":id", "exceptions", ":exceptionId", "delete", use: removeException)
    }

    static func registerNav(_ app: Application) {
        app.consoleNav.add(.init(labelKey: "nav.sites", href: "/console/sites", visible: { $0.tendsSites || $0 == .hotlineAgent }))
    }

    struct Row: Encodable {
        let id: Int
        let name: String
        let icon: String
        let typeName: String
        let orgName: String
        let state: String
        let stateCss: String
        let hours: String
        let verifiedOn: String
        let stale: Bool
        let rating: String
        let uses: Int
    }

    struct ListPage: Encodable {
        let page: PageContext
        let total: Int
        let query: String
        let q: String
        let orgs: [FormField.Choice]
        let filters: [FormField]
        let rows: [Row]
        let canCreate: Bool
        let staleCount: Int
        let prevHref: String?
        let nextHref: String?
    }

    static func places(_ req: Request, selected: Int?) async throws -> [FormField.Choice] {
        let scope = try req.scope
        let nodes = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(1000).all())
        return nodes.map { FormField.Choice(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: $0.id == selected) }
    }

    @Sendable func list(req: Request) async throws -> View {
        let scope = try req.scope
        var v = Validator()
        let filter = SiteService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let service = SiteService(request: req)
        let query = try await service.query(filter)
        let total = try await query.count()
        var staleFilter = filter
        staleFilter.stale = true
        let staleCount = try await service.query(staleFilter).count()
        let rows = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let orgNames = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        let types = try await SiteType.query(on: req.db).sort(\.$sortOrder).all()
        let typeByCode = Dictionary(uniqueKeysWithValues: types.map { ($0.id ?? "", $0) })
        let amenities = try await Amenity.query(on: req.db).sort(\.$sortOrder).all()
        let today = ShanghaiClock.today()
        let all = req.t("common.all")
        let base = "/console/sites?" + (filter.query.isEmpty ? "" : filter.query + "&")
        return try await req.view.render("sites/list", ListPage(
            page: req.pageContext(), total: total, query: filter.query, q: filter.q ?? "",
            orgs: [FormField.Choice(value: "", label: all, selected: filter.orgID == nil)]
                + (try await OrgSuggestions.choices(.places, under: try await scope.org(scope.rootID, on: req.db), selected: filter.orgID, on: req.db))
                .map { .init(value: String($0.id), label: $0.name, selected: $0.id == filter.orgID) },
            filters: [
                FormField("type", req.t("sites.field.type"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.type == nil)] + types.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: $0.id == filter.type) }, errors: [:]),
                FormField("amenity", req.t("sites.field.amenities"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.amenity == nil)] + amenities.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: $0.id == filter.amenity) }, errors: [:]),
                FormField("state", req.t("sites.field.state"), type: "select", value: nil,
                          choices: FormField.choices(SiteState.self, prefix: "sites.state", selected: filter.state?.rawValue, blank: req.t("sites.notRetired"), req), errors: [:]),
                FormField("stale", req.t("sites.stale"), type: "select", value: nil,
                          choices: [.init(value: "", label: all, selected: filter.stale == nil), .init(value: "true", label: req.t("sites.staleOnly"), selected: filter.stale == true),
                                    .init(value: "false", label: req.t("sites.verifiedRecently"), selected: filter.stale == false)], errors: [:]),
            ],
            rows: rows.map { s in
                Row(id: s.id ?? 0, name: s.name, icon: typeByCode[s.typeCode]?.icon ?? "•", typeName: typeByCode[s.typeCode]?.name(req.lang) ?? s.typeCode,
                    orgName: orgNames[s.orgID]?.name ?? "", state: req.t("sites.state.\(s.state.rawValue)"),
                    stateCss: s.state == .open ? "ok" : "warn", hours: SitePages.hoursText(s.weekly, req),
                    verifiedOn: s.verifiedOn ?? "—", stale: SiteRules.isStale(verifiedOn: s.verifiedDate, today: today),
                    rating: s.ratingAverage.map { String(format: "%.1f (%d)", $0, s.ratingCount) } ?? "—", uses: s.useCount)
            },
            canCreate: scope.role.keepsSites, staleCount: staleCount,
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.offset + paging.per < total ? base + "page=\(paging.page + 1)" : nil))
    }

    /// `周一至周五 08:00–20:00；周六 09:00–17:00`, in the reader's language.
    static func hoursText(_ weekly: WeeklyHours, _ req: Request) -> String {
        if weekly.isEmpty { return req.t("sites.hoursUnknown") }
        if weekly.isAlwaysOpen { return req.t("sites.allDay") }
        return weekly.groups.map { g in
            let days = g.days.count == 1 ? req.t("sites.day.\(g.days.lowerBound + 1)")
                : req.t("sites.dayRange", ["from": req.t("sites.day.\(g.days.lowerBound + 1)"), "to": req.t("sites.day.\(g.days.upperBound + 1)")])
            return days + " " + (g.openings.isEmpty ? req.t("sites.closedDay") : g.openings.map { $0.text.replacingOccurrences(of: "-", with: "–") }.joined(separator: ", "))
        }.joined(separator: req.lang == .en ? "; " : "；")
    }

    // MARK: one site

    struct ExceptionRow: Encodable {
        let id: Int
        let dates: String
        let hours: String
        let note: String
    }

    struct MonthRow: Encodable {
        let month: String
        let uses: Int
        let ratings: Int
        let average: String
        let width: Int
    }

    struct DetailPage: Encodable {
        let page: PageContext
        let site: SiteDTO
        let typeName: String
        let hostKind: String
        let stateLabel: String
        let hoursText: String
        let amenities: [String]
        let exceptions: [ExceptionRow]
        let months: [MonthRow]
        let canEdit: Bool
        let canTend: Bool
        let publicHref: String
        let alert: String?
        let errors: [String: String]
        let form: [String: String]
    }

    func render(_ req: Request, _ site: Site, alert: String? = nil, error: AppError? = nil, form: [String: String] = [:]) async throws -> Response {
        let scope = try req.scope
        let dto = try await SiteService(request: req).detail(site)
        let activity = try await SiteFeedback(request: req).activity(site)
        let maxUses = max(1, activity.months.map(\.uses).max() ?? 1)
        let amenityNames = Dictionary(uniqueKeysWithValues: try await Amenity.query(on: req.db).all().map { ($0.id ?? "", $0.icon + " " + $0.name(req.lang)) })
        let page = DetailPage(
            page: req.pageContext(), site: dto, typeName: dto.typeName, hostKind: req.t("sites.host.\(site.hostKind.rawValue)"),
            stateLabel: req.t("sites.state.\(site.state.rawValue)"), hoursText: Self.hoursText(site.weekly, req),
            amenities: dto.amenities.map { amenityNames[$0] ?? $0 },
            exceptions: dto.exceptions.map { .init(id: $0.id, dates: $0.from == $0.to ? $0.from : "\($0.from) – \($0.to)",
                                                   hours: $0.closed ? req.t("sites.closedDay") : $0.hours, note: $0.note ?? "") },
            months: activity.months.map { .init(month: $0.month, uses: $0.uses, ratings: $0.ratings, average: $0.ratingAverage.map { String(format: "%.1f", $0) } ?? "—",
                                                width: Int((Double($0.uses) / Double(maxUses) * 100).rounded())) },
            canEdit: scope.role.keepsSites, canTend: scope.role.tendsSites, publicHref: "/sites/\(dto.id)",
            alert: alert ?? req.query[String.self, at: "done"].map { req.t("sites.done.\($0)") },
            errors: error.map { req.fieldMessages($0) } ?? [:], form: form)
        return try await req.view.render("sites/detail", page).encodeResponse(status: error?.status ?? .ok, for: req)
    }

    @Sendable func show(req: Request) async throws -> Response {
        try await render(req, try await SiteService(request: req).find(try req.idParameter()))
    }

    @Sendable func verify(req: Request) async throws -> Response {
        let site = try await SiteService(request: req).verify(try req.idParameter())
        return req.redirect(to: "/console/sites/\(site.id ?? 0)?done=verified")
    }

    @Sendable func retire(req: Request) async throws -> Response {
        let form = try req.formFields()
        let site = try await SiteService(request: req).retire(try req.idParameter(), reason: form.text("reason"))
        return req.redirect(to: "/console/sites/\(site.id ?? 0)?done=retired")
    }

    @Sendable func addException(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        let service = SiteService(request: req)
        do {
            _ = try await service.addException(id, SiteExceptionInput(from: form.text("from"), to: form.text("to"), hours: form.text("hours"), note: form.text("note")))
            return req.redirect(to: "/console/sites/\(id)?done=exception")
        } catch let error as AppError where error.status == .unprocessableEntity {
            return try await render(req, try await service.find(id), error: error, form: form)
        }
    }

    @Sendable func removeException(req: Request) async throws -> Response {
        let id = try req.idParameter()
        guard let exceptionID = req.parameters.get("exceptionId", as: Int.self) else { throw AppError.notFound }
        try await SiteService(request: req).removeException(id, exceptionID)
        return req.redirect(to: "/console/sites/\(id)?done=exceptionRemoved")
    }
}
