import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// `GET /api/v1/assistance-stats` and `/console/assistance-stats`: the archive's statistics in the
/// caller's subtree, as JSON, as a page with SVG bars, and as XLSX or CSV (`?format=`).
enum AssistanceStatsRoutes {
    struct Query {
        let root: Organization
        let from: CalendarDate
        let to: CalendarDate
        let format: String?
    }

    static func query(_ req: Request) async throws -> Query {
        let scope = try req.scope
        try scope.require(scope.role.readsArchive)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        func date(_ name: String) -> CalendarDate? {
            guard let raw = req.query[String.self, at: name], !raw.isEmpty else { return nil }
            guard let day = try? CalendarDate(parsing: raw) else {
                v.add(name, "format", "error.field.date")
                return nil
            }
            return day
        }
        let today = ShanghaiClock.today()
        let from = date("from") ?? (try? CalendarDate(year: today.year, month: 1, day: 1)) ?? today
        let to = date("to") ?? today
        if from > to { v.add("to", "order", "archive.error.period") }
        if to.dayNumber - from.dayNumber > 366 * 20 { v.add("from", "range", "archive.error.periodLong") }
        let format = req.query[String.self, at: "format"].flatMap { $0.isEmpty ? nil : $0 }
        if let format, format != "xlsx" && format != "csv" { v.add("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"]) }
        try v.check()
        return Query(root: try await scope.org(orgID ?? scope.rootID, on: req.db), from: from, to: to, format: format)
    }

    static func report(_ req: Request, _ q: Query) async throws -> AssistanceStatsDTO {
        let lang = req.lang
        let localizer = req.application.localizer
        return try await AssistanceStats(db: req.db, lang: lang, t: { localizer.text($0, lang) }).report(root: q.root, from: q.from, to: q.to)
    }

    @Sendable static func api(req: Request) async throws -> Response {
        let q = try await query(req)
        let report = try await report(req, q)
        if let format = q.format { return try await export(req, report, format: format, org: q.root) }
        return try await report.encodeResponse(for: req)
    }

    static func export(_ req: Request, _ r: AssistanceStatsDTO, format: String, org: Organization) async throws -> Response {
        try await req.audit.record("archive.stats.export", org: org, details: ["format": format, "from": r.from, "to": r.to])
        let header = ["archive.stats.section", "archive.stats.item", "archive.stats.households", "archive.stats.people", "archive.stats.amount"]
            .map { req.t($0) }
        return try await RosterFiles.download(req, name: "assistance-stats", format: format, header: header, widths: [18, 28, 12, 12, 14]) { add in
            let active = req.t("archive.stats.byCategory")
            for c in r.byCategory { try add([.text(active), .text(c.label), .integer(Int64(c.households)), .empty, .empty]) }
            for c in r.byCause { try add([.text(req.t("archive.stats.byCause")), .text(c.label), .integer(Int64(c.households)), .empty, .empty]) }
            for u in r.byUnit { try add([.text(req.t("archive.stats.byUnit")), .text(u.label), .integer(Int64(u.households)), .empty, .empty]) }
            for f in r.flows + [r.flowTotal] {
                let period = f.period == "total" ? req.t("archive.stats.total") : f.period
                for (key, n) in [("approved", f.approved), ("lifted", f.lifted), ("cancelled", f.cancelled), ("reopened", f.reopened)] {
                    let item = period + " " + req.t("archive.stats.flow.\(key)")
                    try add([.text(req.t("archive.stats.flows")), .text(item), .integer(Int64(n)), .empty, .empty])
                }
            }
            for a in r.aid {
                try add([.text(req.t("archive.stats.aid")), .text(a.name), .integer(Int64(a.households)), .integer(Int64(a.lines)),
                         .number(NSDecimalNumber(decimal: a.amountYuan).doubleValue)])
            }
            for (key, p) in [("festivalVisit", r.festivalVisit), ("autumnSchooling", r.autumnSchooling)] {
                try add([.text(req.t("archive.stats.programme")), .text(req.t("archive.stats.\(key)")), .integer(Int64(p.households)),
                         .integer(Int64(p.people)), .number(NSDecimalNumber(decimal: p.amountYuan).doubleValue)])
            }
        }
    }

    // MARK: the page

    struct Bar: Encodable {
        let label: String
        let value: String
        let width: Int
    }

    struct Column: Encodable {
        let x: Int
        let y: Int
        let height: Int
        let fill: String
        let title: String
    }

    struct UnitLine: Encodable {
        let label: String
        let households: Int
        let deep: Int
        let relative: Int
        let accident: Int
        let width: Int
    }

    struct AidLine: Encodable {
        let name: String
        let households: Int
        let lines: Int
        let amount: String
        let width: Int
    }

    struct Page: Encodable {
        let page: PageContext
        let orgId: Int
        let orgs: [FormField.Choice]
        let from: String
        let to: String
        let report: AssistanceStatsDTO
        let categories: [Bar]
        let causes: [Bar]
        let units: [UnitLine]
        let aid: [AidLine]
        let columns: [Column]
        let monthLabels: [Column]
        let chartWidth: Int
        let festivalAmount: String
        let schoolingAmount: String
    }

    static func bars(_ items: [(String, Int)], value: (Int) -> String = { String($0) }) -> [Bar] {
        let top = max(1, items.map(\.1).max() ?? 1)
        return items.map { Bar(label: $0.0, value: value($0.1), width: Int((Double($0.1) / Double(top) * 100).rounded())) }
    }

    static func yuanText(_ d: Decimal) -> String { MoneyText.yuan(NSDecimalNumber(decimal: d).doubleValue) }

    @Sendable static func page(req: Request) async throws -> Response {
        let q = try await query(req)
        let r = try await report(req, q)
        if let format = q.format { return try await export(req, r, format: format, org: q.root) }
        let scope = try req.scope
        let orgs = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind ~~ [.city, .district, .street]).sort(\.$path).limit(1000).all())
        // Four columns a month (new, lifted, cancelled, reopened), 100 px tall at the busiest.
        let colours = ["#c8102e", "#2e7d32", "#6b7280", "#d97706"]
        let top = max(1, r.flows.map { max($0.approved, $0.lifted, $0.cancelled, $0.reopened) }.max() ?? 1)
        var columns: [Column] = []
        var labels: [Column] = []
        for (i, f) in r.flows.enumerated() {
            let values = [("approved", f.approved), ("lifted", f.lifted), ("cancelled", f.cancelled), ("reopened", f.reopened)]
            for (j, (key, n)) in values.enumerated() {
                let h = Int((Double(n) / Double(top) * 100).rounded())
                columns.append(Column(x: 30 + i * 44 + j * 9, y: 110 - h, height: h, fill: colours[j],
                                      title: "\(f.period) \(req.t("archive.stats.flow.\(key)")) \(n)"))
            }
            labels.append(Column(x: 30 + i * 44 + 18, y: 126, height: 0, fill: "", title: String(f.period.suffix(2))))
        }
        return try await req.view.render("archive/stats", Page(
            page: req.pageContext(), orgId: try q.root.requireID(),
            orgs: orgs.map { .init(value: String($0.id ?? 0), label: ($0.kind == .street ? "　" : "") + $0.name, selected: $0.id == q.root.id) },
            from: r.from, to: r.to, report: r,
            categories: bars(r.byCategory.map { ($0.label, $0.households) }),
            causes: bars(r.byCause.map { ($0.label, $0.households) }),
            units: zip(r.byUnit, bars(r.byUnit.map { ($0.label, $0.households) })).map { u, b in
                UnitLine(label: u.label, households: u.households, deep: u.deep, relative: u.relative, accident: u.accident, width: b.width)
            },
            aid: zip(r.aid, bars(r.aid.map { ($0.name, Int(truncating: NSDecimalNumber(decimal: $0.amountYuan))) })).map { a, b in
                AidLine(name: a.name, households: a.households, lines: a.lines, amount: yuanText(a.amountYuan), width: b.width)
            },
            columns: columns, monthLabels: labels, chartWidth: max(200, 40 + r.flows.count * 44),
            festivalAmount: yuanText(r.festivalVisit.amountYuan), schoolingAmount: yuanText(r.autumnSchooling.amountYuan)))
            .encodeResponse(for: req)
    }
}
