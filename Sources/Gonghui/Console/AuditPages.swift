import Fluent
import Vapor

/// `/console/audit`: the log, filtered and paged; CSV export (itself audited).
struct AuditPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let audit = routes.grouped("console", "audit")
        audit.get(use: list)
        audit.get("export.csv", use: export)
    }

    struct ListPage: Encodable {
        let page: PageContext
        let rows: [AuditLine]
        let filter: [String: String]
        let actions: [AuditLine.Choice]
        let targetTypes: [AuditLine.Choice]
        /// The usernames in scope, offered as the actor is typed.
        let actors: [String]
        let total: Int
        let exportHref: String
        let prevHref: String?
        let nextHref: String?
        let errors: [String: String]
    }

    static let filterKeys = ["action", "actor", "targetType", "targetId", "from", "to"]

    @Sendable func list(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.readsAudit)
        var values: [String: String] = [:]
        for key in Self.filterKeys { values[key] = req.query[String.self, at: key] ?? "" }
        let queryString = Self.filterKeys.compactMap { key in
            values[key].flatMap { $0.isEmpty ? nil : "\(key)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        }.joined(separator: "&")
        let paging = (try? PageRequest(from: req, defaultPer: 50)) ?? PageRequest()
        let actions = AuditLine.actionChoices(req, selected: values["action"] ?? "")
        let targetTypes = AuditLine.targetChoices(req, selected: values["targetType"] ?? "")
        let actors = try await scope.records(StaffUser.self, orgField: \.$orgID, on: req.db).sort(\.$username).limit(300).all().map(\.username)
        do {
            let filter = try AuditFilter(from: req)
            let query = filter.query(scope, on: req.db)
            let total = try await query.count()
            let events = try await query.range(paging.offset..<(paging.offset + paging.per)).all()
            let base = "/console/audit?" + (queryString.isEmpty ? "" : queryString + "&")
            return try await req.view.render("audit/list", ListPage(
                page: req.pageContext(), rows: try await AuditLine.lines(events, req), filter: values,
                actions: actions, targetTypes: targetTypes, actors: actors, total: total,
                exportHref: "/console/audit/export.csv" + (queryString.isEmpty ? "" : "?" + queryString),
                prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
                nextHref: paging.offset + paging.per < total ? base + "page=\(paging.page + 1)" : nil, errors: [:]))
        } catch let error as AppError {
            let errors = req.fieldMessages(error)
            return try await req.view.render("audit/list", ListPage(
                page: req.pageContext(), rows: [], filter: values, actions: actions, targetTypes: targetTypes, actors: actors, total: 0, exportHref: "/console/audit/export.csv",
                prevHref: nil, nextHref: nil, errors: errors))
        }
    }

    @Sendable func export(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.readsAudit)
        let filter = try AuditFilter(from: req)
        let events = try await filter.query(scope, on: req.db).limit(100_000).all()
        let root = try await scope.org(scope.rootID, on: req.db)
        try await req.audit.record("audit.export", targetType: "org", targetID: scope.rootID, org: root, details: ["rows": String(events.count)])
        let header = ["time", "actor", "action", "target", "ip", "details"].map { req.t("audit.field.\($0)") }
        let rows = try await AuditLine.lines(events, req).map { [$0.time, $0.actor, $0.actionLabel, $0.target, $0.ip, $0.details] }
        return CSVExport.response(filename: "audit-\(ShanghaiClock.today()).csv", header: header, rows: rows)
    }
}
