import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The registry's forms (a station keeper's is the short one), coverage and import.
extension SitePages {
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
        do {
            let job = try await SiteFiles.start(req, root: root, fileName: file.filename, body: file.data)
            return req.redirect(to: "/console/imports/\(job.id ?? 0)")
        } catch let error as AppError where error.status == .conflict {
            return try await renderImport(req, alert: req.t("error.import.busy"), status: .conflict)
        }
    }
}
