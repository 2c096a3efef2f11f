import Fluent
import Foundation
import GonghuiCore
import Vapor

/// 维权: collective contracts and their legal clocks, workers' congresses, mediation and legal-aid
/// cases, the due-items list of every clock, and the rates. Comes after the appeals (cases open from
/// them) and the attachments (the agreements, the minutes).
enum RightsModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateDeadlines(), CreateRights()])
        app.scheduledJobs.add(ContractClock.job)
        app.asyncCommands.use(BenchRightsCommand(), as: "bench-rights")
    }

    static func routes(_ routes: ModuleRoutes) throws {
        routes.app.consoleNav.add(.init(labelKey: "rights.nav", href: "/console/rights", visible: { $0.editsOwnOrg || $0 == .hotlineAgent }))
        routes.app.consoleNav.add(.init(labelKey: "deadline.nav", href: "/console/due-items", visible: { $0.editsOwnOrg }))
        try routes.staffAPI.register(collection: ContractController())
        try routes.staffAPI.register(collection: CongressController())
        try routes.staffAPI.register(collection: LegalCaseController())
        try routes.staffAPI.register(collection: RightsRosterController())
        routes.staffAPI.get("rights-stats", use: RightsStatsRoutes.api)
        routes.staffAPI.get("due-items", use: DueItems.api)
        routes.console.get("console", "due-items", use: DueItems.page)
        try routes.console.register(collection: RightsPages())
        let caseFiles: AttachmentRoutes.Authorize = { req, id in try await LegalCaseController.legalCase(req, id).1 }
        AttachmentRoutes.mount(routes.staffAPI, path: "legal-cases", ownerKind: "legalCase", authorize: caseFiles)
        let contractFiles: AttachmentRoutes.Authorize = { req, id in
            let c = try await ContractController.contract(req, id)
            return try await req.scope.org(c.orgID, on: req.db)
        }
        AttachmentRoutes.mount(routes.staffAPI, path: "collective-contracts", ownerKind: "collectiveContract", authorize: contractFiles)
    }
}

/// `GET /api/v1/rights-stats` (JSON, or `?format=xlsx|csv`) and the page's figures.
enum RightsStatsRoutes {
    struct Query {
        let root: Organization
        let from: CalendarDate
        let to: CalendarDate
        let format: String?
    }

    static func query(_ req: Request) async throws -> Query {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let today = ShanghaiClock.today()
        let from = RightsRules.day(req.query[String.self, at: "from"], "from", today: today, future: true, &v)
            ?? (try? CalendarDate(year: today.year, month: 1, day: 1)) ?? today
        let to = RightsRules.day(req.query[String.self, at: "to"], "to", today: today, future: true, &v) ?? today
        if from > to { v.add("to", "order", "archive.error.period") }
        let format = req.query[String.self, at: "format"].flatMap { $0.isEmpty ? nil : $0 }
        if let format, format != "xlsx" && format != "csv" { v.add("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"]) }
        try v.check()
        return Query(root: try await scope.org(orgID ?? scope.rootID, on: req.db), from: from, to: to, format: format)
    }

    static func report(_ req: Request, _ q: Query) async throws -> RightsStatsDTO {
        try await req.application.scheduledJobs.runOne(ContractClock.job.name, on: req.db)
        return try await RightsStats(db: req.db).report(root: q.root, from: q.from, to: q.to)
    }

    @Sendable static func api(req: Request) async throws -> Response {
        let q = try await query(req)
        let r = try await report(req, q)
        if let format = q.format { return try await export(req, r, format: format, org: q.root) }
        return try await r.encodeResponse(for: req)
    }

    /// Every figure as a row: section, item, count, rate, amount.
    static func lines(_ r: RightsStatsDTO, _ req: Request) -> [(section: String, item: String, count: Int, rate: Double?, yuan: Decimal?)] {
        let c = r.contracts, d = r.democracy, m = r.mediation, l = r.legalAid
        let s1 = req.t("rights.stats.contracts"), s2 = req.t("rights.stats.democracy"), s3 = req.t("rights.stats.mediation"), s4 = req.t("rights.stats.legalAid")
        var out: [(String, String, Int, Double?, Decimal?)] = [
            (s1, req.t("rights.stats.unionised"), c.unionisedEnterprises, nil, nil),
            (s1, req.t("rights.stats.covered"), c.covered, c.coverageRate, nil),
            (s1, req.t("rights.stats.wageCovered"), c.wageCovered, c.wageCoverageRate, nil),
            (s1, req.t("rights.stats.expiring"), c.expiringWithin90Days, nil, nil),
            (s1, req.t("rights.stats.late"), c.filingsLate, nil, nil),
            (s2, req.t("rights.stats.congress"), d.congressCovered, d.congressRate, nil),
            (s2, req.t("rights.stats.disclosure"), d.disclosureCovered, d.disclosureRate, nil),
            (s2, req.t("rights.stats.democratic"), d.democraticCovered, d.democraticRate, nil),
            (s2, req.t("rights.stats.noSession"), d.congressesWithoutSession, nil, nil),
            (s3, req.t("rights.stats.received"), m.received, nil, nil),
            (s3, req.t("rights.stats.closed"), m.closed, nil, nil),
            (s3, req.t("rights.stats.mediated"), m.mediated, m.successRate, m.recoveredYuan),
            (s4, req.t("rights.stats.cases"), l.cases, nil, l.recoveredYuan),
            (s4, req.t("rights.stats.win"), l.closed, l.winRate, nil),
            (s4, req.t("rights.stats.migrant"), l.cases, l.migrantShare, nil),
            (s4, req.t("rights.stats.group"), l.groupCases, nil, nil),
        ]
        for k in l.byKind { out.append((s4, req.t("rights.caseKind.\(k.kind)"), k.cases, nil, k.recoveredYuan)) }
        return out
    }

    static func export(_ req: Request, _ r: RightsStatsDTO, format: String, org: Organization) async throws -> Response {
        try await req.audit.record("rights.stats.export", org: org, details: ["format": format, "from": r.from, "to": r.to])
        let header = ["archive.stats.section", "archive.stats.item", "rights.stats.count", "rights.stats.rate", "archive.stats.amount"].map { req.t($0) }
        return try await RosterFiles.download(req, name: "rights-stats", format: format, header: header, widths: [16, 30, 12, 10, 14]) { add in
            for l in lines(r, req) {
                try add([.text(l.section), .text(l.item), .integer(Int64(l.count)), l.rate.map { .number($0) } ?? .empty,
                         l.yuan.map { .number(NSDecimalNumber(decimal: $0).doubleValue) } ?? .empty])
            }
        }
    }
}
