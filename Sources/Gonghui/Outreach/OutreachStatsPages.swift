import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The console's outreach statistics (figures, chart, export) and the service catalogue.
extension MeetingPages {
    // MARK: statistics

    struct StatsPage: Encodable {
        struct Bar: Encodable {
            let label: String
            let y: Int
            let meetingsWidth: Int
            let applicationsWidth: Int
            let meetings: Int
            let applications: Int
        }

        let page: PageContext
        let orgName: String
        let from: String
        let to: String
        let by: [FormField.Choice]
        let orgs: [FormField.Choice]
        let totals: [FormField.Choice]
        let columns: [String]
        let rows: [[String]]
        let rowLinks: [String]
        let bars: [Bar]
        let chartHeight: Int
        let exportQuery: String
        let coverage: String
    }

    @Sendable func stats(req: Request) async throws -> View {
        let scope = try req.scope
        let (orgID, from, to, asked) = try OutreachController.statsQuery(req)
        var by = asked
        // The whole city opens by district (17 rows, each linking to its streets), not by its 343 streets.
        if (req.query[String.self, at: "by"] ?? "").isEmpty, try await scope.org(orgID ?? scope.rootID, on: req.db).parentID == nil {
            by = .district
        }
        let report = try await OutreachStats(request: req).report(orgID: orgID, from: from, to: to, by: by)
        let coverage = try await EnterpriseService(request: req).coverage(orgID: orgID, children: false)
        let shown = Array(report.rows.prefix(40))
        let widest = max(1, shown.map { max($0.figures.workerMeetings + $0.figures.enterpriseMeetings, $0.figures.applications) }.max() ?? 1)
        let bars = shown.enumerated().map { i, row in
            StatsPage.Bar(label: row.label, y: i * 34, meetingsWidth: (row.figures.workerMeetings + row.figures.enterpriseMeetings) * 560 / widest,
                          applicationsWidth: row.figures.applications * 560 / widest,
                          meetings: row.figures.workerMeetings + row.figures.enterpriseMeetings, applications: row.figures.applications)
        }
        var query = "from=\(from)&to=\(to)&by=\(by.rawValue)"
        if let orgID { query += "&orgId=\(orgID)" }
        return try await req.view.render("outreach/stats", StatsPage(
            page: req.pageContext(), orgName: report.orgName, from: from.description, to: to.description,
            by: OutreachStats.GroupBy.allCases.map { .init(value: $0.rawValue, label: req.t("stats.by.\($0.rawValue)"), selected: $0 == by) },
            orgs: try await OrgSuggestions.choices(.places, under: try await scope.org(scope.rootID, on: req.db), selected: orgID ?? scope.rootID, on: req.db)
                .map { .init(value: String($0.id), label: $0.name, selected: $0.id == (orgID ?? scope.rootID)) },
            totals: zip(OutreachStats.Figures.columns, report.totals.values).map { .init(value: String($1), label: req.t("stats.col.\($0)"), selected: false) },
            columns: OutreachStats.Figures.columns.map { req.t("stats.col.\($0)") },
            rows: report.rows.map { [$0.label] + $0.figures.values.map(String.init) },
            rowLinks: report.rows.map { row in row.orgId.map { "/console/outreach-stats?orgId=\($0)&from=\(from)&to=\(to)&by=street" } ?? "" },
            bars: bars, chartHeight: max(40, bars.count * 34 + 10), exportQuery: query,
            coverage: "\(EnterprisePages.percent(coverage.rate)) (\(coverage.covered) / \(coverage.total))"))
    }

    @Sendable func exportStats(req: Request) async throws -> Response {
        let scope = try req.scope
        let (orgID, from, to, by) = try OutreachController.statsQuery(req)
        let format = try RosterFiles.format(req)
        let report = try await OutreachStats(request: req).report(orgID: orgID, from: from, to: to, by: by)
        let root = try await Organization.find(orgID ?? scope.rootID, on: req.db)
        try await req.audit.record("outreach.stats.export", targetType: "org", targetID: root?.id, org: root,
                                   details: ["from": from.description, "to": to.description, "by": by.rawValue, "format": format])
        let header = [req.t("stats.by.\(by.rawValue)")] + OutreachStats.Figures.columns.map { req.t("stats.col.\($0)") }
        return try await RosterFiles.download(req, name: "outreach-stats", format: format, header: header,
                                              widths: [24] + Array(repeating: 12, count: OutreachStats.Figures.columns.count)) { add in
            for row in report.rows { try add([.text(row.label)] + row.figures.values.map { .integer(Int64($0)) }) }
            try add([.text(req.t("stats.total"))] + report.totals.values.map { .integer(Int64($0)) })
        }
    }

    // MARK: the service catalogue

    struct ServicesPage: Encodable {
        struct Item: Encodable {
            let id: Int
            let name: String
            let active: Bool
        }

        let page: PageContext
        let items: [Item]
        let canEdit: Bool
        let problem: String?
    }

    @Sendable func services(req: Request) async throws -> View {
        try await renderServices(req, problem: nil)
    }

    func renderServices(_ req: Request, problem: String?) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.readsLedger)
        let items = try await ServiceItem.query(on: req.db).sort(\.$sortOrder).sort(\.$id).all()
        return try await req.view.render("outreach/services", ServicesPage(
            page: req.pageContext(), items: items.map { .init(id: $0.id ?? 0, name: $0.name, active: $0.active) },
            canEdit: scope.role == .cityAdmin || scope.role == .districtStaff, problem: problem))
    }

    @Sendable func addService(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            _ = try await ServiceCatalogue.add(req, name: form["name"])
            return req.redirect(to: "/console/services")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            return try await renderServices(req, problem: req.refusal(error)).encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func toggleService(req: Request) async throws -> Response {
        let form = try req.formFields()
        try await ServiceCatalogue.setActive(req, id: try req.idParameter(), active: form["active"] == "true")
        return req.redirect(to: "/console/services")
    }
}
