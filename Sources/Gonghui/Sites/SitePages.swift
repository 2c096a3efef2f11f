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
        sites.on(.POST, "import", body: .collect(maxSize: RosterFiles.maxUpload), use: importUpload)
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
        let nodes = try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(1000).all()
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
            orgs: [FormField.Choice(value: "", label: all, selected: filter.orgID == nil)] + (try await Self.places(req, selected: filter.orgID)),
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

    // MARK: forms

    func fields(_ req: Request, _ f: [String: String], _ errors: [String: String], places: [FormField.Choice], keeper: Bool) async throws -> [FormField] {
        let types = try await SiteType.query(on: req.db).sort(\.$sortOrder).all()
        let amenities = try await Amenity.query(on: req.db).sort(\.$sortOrder).all()
        let amenityField = FormField("amenities", req.t("sites.field.amenities"), type: "checks", value: nil,
                                     choices: amenities.map { .init(value: $0.id ?? "", label: $0.icon + " " + $0.name(req.lang), selected: f["amenities_\($0.id ?? "")"] == "1") },
                                     wide: true, errors: errors.merging(errors.filter { $0.key.hasPrefix("amenities[") }.map { ("amenities", $0.value) }) { a, _ in a })
        let tending = [
            FormField("hours", req.t("sites.field.hours"), value: f["hours"], wide: true, hint: req.t("sites.hoursHint"), errors: errors),
            amenityField,
            FormField("state", req.t("sites.field.state"), type: "select", value: nil,
                      choices: FormField.choices(SiteState.self, prefix: "sites.state", selected: f["state"], req).filter { !keeper || $0.value != SiteState.retired.rawValue },
                      errors: errors),
            FormField("phone", req.t("sites.field.phone"), type: "tel", value: f["phone"], errors: errors),
            FormField("verifiedOn", req.t("sites.field.verifiedOn"), type: "date", value: f["verifiedOn"], hint: req.t("sites.verifiedHint"), errors: errors),
        ]
        if keeper { return tending }
        return [
            FormField("name", req.t("sites.field.name"), value: f["name"], required: true, errors: errors),
            FormField("type", req.t("sites.field.type"), type: "select", value: nil,
                      choices: types.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: $0.id == f["type"]) }, required: true, errors: errors),
            FormField("hostKind", req.t("sites.field.hostKind"), type: "select", value: nil,
                      choices: FormField.choices(HostKind.self, prefix: "sites.host", selected: f["hostKind"], req), errors: errors),
            FormField("hostName", req.t("sites.field.hostName"), value: f["hostName"], errors: errors),
            FormField("orgId", req.t("sites.field.orgId"), type: "select", value: nil,
                      choices: places.map { .init(value: $0.value, label: $0.label, selected: $0.value == f["orgId"]) }, required: true, errors: errors),
            FormField("address", req.t("field.address"), value: f["address"], wide: true, errors: errors),
            FormField("lat", req.t("field.lat"), value: f["lat"], required: true, errors: errors),
            FormField("lng", req.t("field.lng"), value: f["lng"], required: true, errors: errors),
            FormField("coord", req.t("sites.field.coord"), type: "select", value: nil,
                      choices: [.init(value: "gcj02", label: req.t("sites.coord.gcj02"), selected: f["coord"] != "wgs84"),
                                .init(value: "wgs84", label: req.t("sites.coord.wgs84"), selected: f["coord"] == "wgs84")],
                      required: true, hint: req.t("sites.coordHint"), errors: errors),
            FormField("openToNonMembers", req.t("sites.field.openToNonMembers"), type: "checkbox", value: f["openToNonMembers"], errors: errors),
            FormField("stepFree", req.t("sites.field.stepFree"), type: "checkbox", value: f["stepFree"], errors: errors),
        ] + tending
    }

    static func input(from f: [String: String], keeper: Bool, amenityCodes: [String]) -> SiteInput {
        var input = SiteInput()
        input.hours = f["hours"] ?? ""
        input.amenities = amenityCodes.filter { f["amenities_\($0)"] == "1" }
        input.state = f.text("state")
        input.phone = f["phone"] ?? ""
        input.verifiedOn = f.text("verifiedOn")
        var present: Set<String> = ["hours", "amenities", "phone"]
        if input.state != nil { present.insert("state") }
        if input.verifiedOn != nil { present.insert("verifiedOn") }
        if !keeper {
            input.name = f["name"] ?? ""
            input.type = f.text("type")
            input.hostKind = f.text("hostKind")
            input.hostName = f["hostName"] ?? ""
            input.orgId = f.int("orgId")
            input.address = f["address"] ?? ""
            input.lat = f.double("lat")
            input.lng = f.double("lng")
            input.coord = f.text("coord")
            input.openToNonMembers = f["openToNonMembers"] == "true"
            input.stepFree = f["stepFree"] == "true"
            present.formUnion(["name", "type", "hostKind", "hostName", "orgId", "address", "lat", "lng", "coord", "openToNonMembers", "stepFree"])
        }
        input.present = present
        return input
    }

    @Sendable func newForm(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.keepsSites)
        let places = try await Self.places(req, selected: nil)
        let defaults = ["orgId": req.query[String.self, at: "orgId"] ?? String(scope.rootID), "coord": "gcj02", "openToNonMembers": "true",
                        "state": "open", "verifiedOn": ShanghaiClock.today().description, "type": "warm-station",
                        "amenities_water": "1", "amenities_charging": "1", "amenities_seating": "1"]
        let fields = try await fields(req, defaults, [:], places: places, keeper: false)
        return try await req.renderForm(title: req.t("sites.new"), action: "/console/sites/new", cancel: "/console/sites") { _ in fields }
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.formFields()
        let codes = try await Amenity.query(on: req.db).all().compactMap(\.id)
        do {
            let site = try await SiteService(request: req).create(Self.input(from: form, keeper: false, amenityCodes: codes))
            return req.redirect(to: "/console/sites/\(site.id ?? 0)?done=created")
        } catch let error as AppError where error.status == .unprocessableEntity {
            let places = try await Self.places(req, selected: nil)
            let fields = try await fields(req, form, req.fieldMessages(error), places: places, keeper: false)
            return try await req.renderForm(title: req.t("sites.new"), action: "/console/sites/new", cancel: "/console/sites", error: error) { _ in fields }
                .encodeResponse(status: error.status, for: req)
        }
    }

    /// Hours as a keeper types them: `周一至周五 08:00-20:00；周六 09:00-17:00` (or the canonical text in English).
    static func editableHours(_ weekly: WeeklyHours, _ lang: Lang) -> String {
        guard lang == .zhHans else { return weekly.text }
        if weekly.isAlwaysOpen { return "24小时" }
        let names = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        return weekly.groups.filter { !$0.openings.isEmpty }.map { g in
            (g.days.count == 1 ? names[g.days.lowerBound] : names[g.days.lowerBound] + "至" + names[g.days.upperBound]) + " "
                + g.openings.map(\.text).joined(separator: ",")
        }.joined(separator: "；")
    }

    func values(_ site: Site, amenities: [String], lang: Lang) -> [String: String] {
        var v: [String: String] = [
            "name": site.name, "type": site.typeCode, "hostKind": site.hostKind.rawValue, "hostName": site.hostName ?? "", "orgId": String(site.orgID),
            "address": site.address ?? "", "lat": String(format: "%.6f", site.lat), "lng": String(format: "%.6f", site.lng), "coord": "wgs84",
            "hours": Self.editableHours(site.weekly, lang), "phone": site.phone ?? "", "state": site.state.rawValue, "verifiedOn": ShanghaiClock.today().description,
            "openToNonMembers": site.openToNonMembers ? "true" : "", "stepFree": site.stepFree ? "true" : "",
        ]
        for a in amenities { v["amenities_\(a)"] = "1" }
        return v
    }

    @Sendable func editForm(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.tendsSites)
        let service = SiteService(request: req)
        let site = try await service.find(try req.idParameter())
        let keeper = !scope.role.keepsSites
        let places = try await Self.places(req, selected: site.orgID)
        let fields = try await fields(req, values(site, amenities: try await service.amenities(site), lang: req.lang), [:], places: places, keeper: keeper)
        return try await req.renderForm(title: site.name, action: "/console/sites/\(site.id ?? 0)/edit", cancel: "/console/sites/\(site.id ?? 0)") { _ in fields }
    }

    @Sendable func update(req: Request) async throws -> Response {
        let scope = try req.scope
        let id = try req.idParameter()
        let form = try req.formFields()
        let keeper = !scope.role.keepsSites
        let codes = try await Amenity.query(on: req.db).all().compactMap(\.id)
        do {
            _ = try await SiteService(request: req).update(id, Self.input(from: form, keeper: keeper, amenityCodes: codes))
            return req.redirect(to: "/console/sites/\(id)?done=saved")
        } catch let error as AppError where error.status == .unprocessableEntity {
            let places = try await Self.places(req, selected: nil)
            let fields = try await fields(req, form, req.fieldMessages(error), places: places, keeper: keeper)
            return try await req.renderForm(title: form["name"] ?? "", action: "/console/sites/\(id)/edit", cancel: "/console/sites/\(id)", error: error) { _ in fields }
                .encodeResponse(status: error.status, for: req)
        }
    }

    // MARK: coverage and import

    struct CoveragePage: Encodable {
        struct Line: Encodable {
            let orgId: Int
            let name: String
            let total: Int
            let open: Int
            let stale: Int
            let counts: [Int]
            let width: Int
        }

        let page: PageContext
        let title: String
        let orgId: Int
        let orgs: [FormField.Choice]
        let types: [String]
        let lines: [Line]
        let total: Line
    }

    @Sendable func coverage(req: Request) async throws -> Response {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        try v.check()
        let report = try await SiteCoverage(request: req).report(orgID: orgID)
        let types = try await SiteType.query(on: req.db).sort(\.$sortOrder).all()
        if let format = req.query[String.self, at: "format"] {
            guard format == "xlsx" || format == "csv" else {
                throw AppError.invalid([FieldIssue("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"])])
            }
            try await req.audit.record("site.coverage.export", targetType: "org", targetID: report.orgId, details: ["format": format])
            let header = [req.t("sites.field.orgId"), req.t("sites.totalCol")] + types.map { $0.name(req.lang) } + [req.t("sites.openCount"), req.t("sites.stale")]
            return try await RosterFiles.download(req, name: "site-coverage", format: format, header: header,
                                                  widths: [24, 8] + types.map { _ in 10.0 } + [8, 8]) { add in
                for (n, r) in (report.rows + [report.total]).enumerated() {
                    try add([.text(n == report.rows.count ? req.t("sites.totalRow") : r.orgName), .integer(Int64(r.total))]
                        + report.types.map { .integer(Int64(r.byType[$0] ?? 0)) } + [.integer(Int64(r.open)), .integer(Int64(r.stale))])
                }
            }
        }
        let maxTotal = max(1, report.rows.map(\.total).max() ?? 1)
        func line(_ r: SiteCoverageDTO.Row) -> CoveragePage.Line {
            .init(orgId: r.orgId, name: r.orgName, total: r.total, open: r.open, stale: r.stale, counts: report.types.map { r.byType[$0] ?? 0 },
                  width: Int((Double(r.total) / Double(maxTotal) * 100).rounded()))
        }
        return try await req.view.render("sites/coverage", CoveragePage(
            page: req.pageContext(), title: req.t("sites.coverage") + " · " + report.orgName, orgId: report.orgId,
            orgs: try await Self.places(req, selected: report.orgId), types: types.map { $0.icon + " " + $0.name(req.lang) },
            lines: report.rows.map(line), total: line(report.total))).encodeResponse(for: req)
    }

    func renderImport(_ req: Request, alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsSites)
        return try await SheetImportPage.render(req, kind: "sites", view: "sites/import", places: try await Self.places(req, selected: scope.rootID),
                                                alert: alert, status: status)
    }

    @Sendable func importForm(req: Request) async throws -> Response { try await renderImport(req) }

    struct UploadForm: Decodable {
        var orgId: String?
        var file: File?
    }

    @Sendable func importUpload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsSites)
        let form = try req.content.decode(UploadForm.self)
        guard let file = form.file, file.data.readableBytes > 0 else {
            return try await renderImport(req, alert: req.t("error.import.empty"), status: .unprocessableEntity)
        }
        guard let root = try? await scope.org(form.orgId.flatMap { Int($0) } ?? scope.rootID, on: req.db) else {
            return try await renderImport(req, alert: req.t("error.field.notFound", ["field": req.t("sites.field.orgId")]), status: .unprocessableEntity)
        }
        let job = try await SiteFiles.start(req, root: root, fileName: file.filename, body: file.data)
        return req.redirect(to: "/console/imports/\(job.id ?? 0)")
    }
}
