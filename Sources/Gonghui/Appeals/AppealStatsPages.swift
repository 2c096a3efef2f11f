import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The statistics page (table, SVG bars, export) and the working-day calendar staff keep.
extension AppealPages {
    struct StatsPage: Encodable {
        struct Line: Encodable {
            let key: String
            let label: String
            let received: Int
            let resolved: Int
            let overdueOpen: Int
            let onTimeRate: String
            let satisfaction: String
            let recovered: String
            let width: Int
        }

        let page: PageContext
        let from: String
        let to: String
        let by: [FormField.Choice]
        let byValue: String
        let orgId: Int
        let orgs: [FormField.Choice]
        let lines: [Line]
        let total: Line
    }

    @Sendable func stats(req: Request) async throws -> Response {
        let report = try await AppealController().stats(req: req)
        let maxReceived = max(1, report.rows.map(\.received).max() ?? 1)
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0) } ?? "—" }
        func line(_ r: AppealStatsDTO.Row) -> StatsPage.Line {
            .init(key: r.key, label: r.label, received: r.received, resolved: r.resolved, overdueOpen: r.overdueOpen, onTimeRate: pct(r.onTimeRate), satisfaction: pct(r.satisfaction),
                  recovered: Money.display(Int64((r.recoveredYuan * 100).rounded())), width: Int((Double(r.received) / Double(maxReceived) * 100).rounded()))
        }
        if let format = req.query[String.self, at: "format"] {
            guard format == "xlsx" || format == "csv" else { throw AppError.invalid([FieldIssue("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"])]) }
            try await req.audit.record("appeal.stats.export", details: ["format": format, "by": report.by, "from": report.from, "to": report.to])
            let header = ["appeal.stats.group", "appeal.stats.received", "appeal.stats.resolved", "appeal.stats.overdueOpen", "appeal.stats.onTime",
                          "appeal.stats.satisfaction", "appeal.stats.recovered"].map { req.t($0) }
            return try await RosterFiles.download(req, name: "appeal-stats", format: format, header: header, widths: [24, 10, 10, 10, 10, 10, 14]) { add in
                for r in report.rows + [report.total] {
                    try add([.text(r.label), .integer(Int64(r.received)), .integer(Int64(r.resolved)), .integer(Int64(r.overdueOpen)), r.onTimeRate.map { .number($0) } ?? .empty,
                             r.satisfaction.map { .number($0) } ?? .empty, .number(r.recoveredYuan)])
                }
            }
        }
        let scope = try req.scope
        let orgs = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(1000).all())
        let selected = req.query[String.self, at: "orgId"].flatMap { Int($0) } ?? scope.rootID
        return try await req.view.render("appeals/stats", StatsPage(
            page: req.pageContext(), from: report.from, to: report.to,
            by: ["subject", "unit", "month"].map { .init(value: $0, label: req.t("appeal.stats.by.\($0)"), selected: report.by == $0) }, byValue: report.by,
            orgId: selected, orgs: orgs.map { .init(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: $0.id == selected) },
            lines: report.rows.map(line), total: line(report.total))).encodeResponse(for: req)
    }

    // MARK: the calendar

    struct CalendarPage: Encodable {
        struct Day: Encodable {
            let day: String
            let kind: String
            let name: String
        }

        let page: PageContext
        let days: [Day]
        let canEdit: Bool
        let errors: [String: String]
        let form: [String: String]
        let tiers: [FormField.Choice]
        let routes: [AppealSettingsDTO.Route]
        let subjects: [FormField.Choice]
        let units: [FormField.Choice]
    }

    func renderCalendar(_ req: Request, error: AppError? = nil, form: [String: String] = [:]) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.worksAppeals)
        let days = try await CalendarDay.query(on: req.db).sort(\.$id, .descending).limit(400).all()
        let settings = try await AppealSettingsService(request: req).read()
        let subjects = try await AppealSubject.query(on: req.db).sort(\.$sortOrder).all()
        let units = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(1000).all())
        return try await req.view.render("appeals/calendar", CalendarPage(
            page: req.pageContext(), days: days.map { .init(day: $0.id ?? "", kind: req.t("appeal.day.\($0.kind)"), name: $0.name) },
            canEdit: scope.role.keepsAppealSettings, errors: error.map { req.fieldMessages($0) } ?? [:], form: form,
            tiers: AppealTier.allCases.map { .init(value: $0.rawValue, label: req.t("appeal.tier.\($0.rawValue)") + " " + String(settings.tiers[$0.rawValue] ?? 0), selected: false) },
            routes: settings.routes,
            subjects: subjects.map { .init(value: $0.id ?? "", label: $0.name(req.lang), selected: false) },
            units: units.map { .init(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: false) }))
            .encodeResponse(status: error?.status ?? .ok, for: req)
    }

    @Sendable func calendar(req: Request) async throws -> Response { try await renderCalendar(req) }

    @Sendable func addDay(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsAppealSettings)
        let f = try req.formFields()
        var v = Validator()
        let day = f.text("day").flatMap { try? CalendarDate(parsing: $0) }
        if day == nil { v.add("day", f.text("day") == nil ? "required" : "format", f.text("day") == nil ? nil : "error.field.date") }
        let kind = f.text("kind")
        if kind != "holiday" && kind != "workday" { v.add("kind", "unknown", "error.field.oneOf", ["values": "holiday, workday"]) }
        let name = v.text(f["name"], "name", required: true, max: 30)
        if v.issues.isEmpty {
            if day!.weekdayIndex >= 5 && kind == "holiday" { v.add("day", "weekend", "error.calendar.weekendHoliday") }
            if day!.weekdayIndex < 5 && kind == "workday" { v.add("day", "weekday", "error.calendar.weekdayWorkday") }
            if try await CalendarDay.find(day!.description, on: req.db) != nil { v.add("day", "taken", "error.calendar.taken") }
        }
        if !v.issues.isEmpty { return try await renderCalendar(req, error: .invalid(v.issues), form: f) }
        try await CalendarDay(day!.description, kind!, name!).create(on: req.db)
        try await req.audit.record("calendar.add", details: ["day": day!.description, "kind": kind!, "name": name!])
        return req.redirect(to: "/console/calendar")
    }

    @Sendable func setTier(req: Request) async throws -> Response {
        let f = try req.formFields()
        do { try await AppealSettingsService(request: req).setTier(f.text("tier"), days: f.int("workingDays")) } catch let error as AppError where error.status == .unprocessableEntity {
            return try await renderCalendar(req, error: error, form: f)
        }
        return req.redirect(to: "/console/calendar")
    }

    @Sendable func setRoute(req: Request) async throws -> Response {
        let f = try req.formFields()
        do { try await AppealSettingsService(request: req).addRoute(subject: f.text("subject"), orgID: f.int("orgId")) } catch let error as AppError where error.status == .unprocessableEntity {
            return try await renderCalendar(req, error: error, form: f)
        }
        return req.redirect(to: "/console/calendar")
    }

    @Sendable func removeRoute(req: Request) async throws -> Response {
        try await AppealSettingsService(request: req).removeRoute(try req.idParameter())
        return req.redirect(to: "/console/calendar")
    }

    @Sendable func removeDay(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsAppealSettings)
        guard let raw = req.parameters.get("day"), let day = try await CalendarDay.find(raw, on: req.db) else { throw AppError.notFound }
        try await day.delete(on: req.db)
        try await req.audit.record("calendar.remove", details: ["day": raw])
        return req.redirect(to: "/console/calendar")
    }
}
