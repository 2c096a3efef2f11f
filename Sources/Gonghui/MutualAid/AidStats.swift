import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

struct AidStatsDTO: Content {
    struct Figure: Content {
        let key: String
        let label: String
        let claims: Int64
        let amountYuan: Decimal
        let largestYuan: Decimal
    }

    let orgId: Int
    let orgName: String
    let year: Int
    let planId: Int?
    /// Members with cover this year: enrolled shares plus the active members of units that remitted.
    let membersCovered: Int
    let claimsHandled: Int64
    let claimsPaid: Int64
    let paidYuan: Decimal
    let largestClaimYuan: Decimal
    let byOutcome: [Figure]
    let byPlan: [Figure]
    let byMonth: [Figure]
    let byChild: [Figure]
}

/// The statistics, read from the tallies kept with every claim (never a count over the claims).
enum AidStats {
    static func report(_ req: Request, root: Organization, year: Int, planID: Int?) async throws -> AidStatsDTO {
        let sql = req.db as! any SQLDatabase
        let plan: SQLQueryString = planID.map { "AND t.plan_id = \(bind: $0)" } ?? ""
        let months: SQLQueryString = "AND t.month >= \(bind: "\(year)-01") AND t.month <= \(bind: "\(year)-12")"
        func grouped(_ column: String, path: TreePath) async throws -> [(String, Int64, Int64, Int64)] {
            try await sql.raw("""
                SELECT \(unsafeRaw: column) AS k, CAST(SUM(t.claims) AS BIGINT) AS n, CAST(SUM(t.benefit_fen) AS BIGINT) AS fen, MAX(t.max_fen) AS top FROM mutual_aid_tallies t
                JOIN organizations o ON o.id = t.org_id WHERE o.path >= \(bind: path.value) AND o.path < \(bind: path.upperBound) \(months) \(plan)
                GROUP BY \(unsafeRaw: column)
                """).all().map {
                (String(describing: try $0.decode(column: "k", as: String.self)), try $0.decode(column: "n", as: Int64?.self) ?? 0,
                 try $0.decode(column: "fen", as: Int64?.self) ?? 0, try $0.decode(column: "top", as: Int64?.self) ?? 0)
            }
        }
        func figure(_ key: String, _ label: String, _ r: (String, Int64, Int64, Int64)?) -> AidStatsDTO.Figure {
            .init(key: key, label: label, claims: r?.1 ?? 0, amountYuan: Decimal(fen: r?.2 ?? 0), largestYuan: Decimal(fen: r?.3 ?? 0))
        }
        let outcomes = try await grouped("t.outcome", path: root.treePath)
        let byOutcome = ClaimOutcome.allCases.filter { $0 != .duplicateSettlement && $0 != .badRow }.map { o in
            figure(o.rawValue, req.t("mutualAid.outcome.\(o.rawValue)"), outcomes.first { $0.0 == o.rawValue })
        }
        let paid = outcomes.first { $0.0 == ClaimOutcome.paid.rawValue }
        // Paid amounts by month (the line the federation reports): only the paid outcome.
        let paidMonths = try await sql.raw("""
            SELECT t.month AS k, CAST(SUM(t.claims) AS BIGINT) AS n, CAST(SUM(t.benefit_fen) AS BIGINT) AS fen, MAX(t.max_fen) AS top FROM mutual_aid_tallies t
            JOIN organizations o ON o.id = t.org_id WHERE o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound) \(months) \(plan)
              AND t.outcome = 'paid' GROUP BY t.month
            """).all().map { (try $0.decode(column: "k", as: String.self), try $0.decode(column: "n", as: Int64?.self) ?? 0,
                              try $0.decode(column: "fen", as: Int64?.self) ?? 0, try $0.decode(column: "top", as: Int64?.self) ?? 0) }
        let months12 = (1...12).map { m -> AidStatsDTO.Figure in
            let key = String(format: "%04d-%02d", year, m)
            return figure(key, key, paidMonths.first { $0.0 == key })
        }
        let plans = try await AidPlan.query(on: req.db).filter(\.$year == year).sort(\.$kind).all()
        let planRows = try await sql.raw("""
            SELECT t.plan_id AS k, CAST(SUM(t.claims) AS BIGINT) AS n, CAST(SUM(t.benefit_fen) AS BIGINT) AS fen, MAX(t.max_fen) AS top FROM mutual_aid_tallies t
            JOIN organizations o ON o.id = t.org_id WHERE o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound) \(months) \(plan)
              AND t.outcome = 'paid' GROUP BY t.plan_id
            """).all().map { (try $0.decode(column: "k", as: Int.self), try $0.decode(column: "n", as: Int64?.self) ?? 0,
                              try $0.decode(column: "fen", as: Int64?.self) ?? 0, try $0.decode(column: "top", as: Int64?.self) ?? 0) }
        let byPlan = plans.filter { planID == nil || $0.id == planID }.map { p in
            figure(String(p.id ?? 0), p.name, planRows.first { $0.0 == p.id }.map { (String($0.0), $0.1, $0.2, $0.3) })
        }
        var byChild: [AidStatsDTO.Figure] = []
        let children = try await Organization.query(on: req.db).filter(\.$parentID == root.requireID()).sort(\.$path).limit(400).all()
        for child in children {
            let rows = try await grouped("t.outcome", path: child.treePath)
            let total = rows.reduce((0 as Int64, 0 as Int64, 0 as Int64)) { ($0.0 + $1.1, $0.1 + $1.2, max($0.2, $1.3)) }
            guard total.0 > 0 else { continue }
            let paidRow = rows.first { $0.0 == ClaimOutcome.paid.rawValue }
            byChild.append(.init(key: String(child.id ?? 0), label: child.name, claims: total.0, amountYuan: Decimal(fen: paidRow?.2 ?? 0),
                                 largestYuan: Decimal(fen: paidRow?.3 ?? 0)))
        }
        let handled = outcomes.reduce(Int64(0)) { $0 + $1.1 }
        let covered = try await membersCovered(root: root, year: year, on: req.db)
        return AidStatsDTO(orgId: root.id ?? 0, orgName: root.name, year: year, planId: planID, membersCovered: covered, claimsHandled: handled,
                           claimsPaid: paid?.1 ?? 0, paidYuan: Decimal(fen: paid?.2 ?? 0), largestClaimYuan: Decimal(fen: paid?.3 ?? 0),
                           byOutcome: byOutcome, byPlan: byPlan, byMonth: months12, byChild: byChild)
    }

    /// Live shares of the year's enrolled plans plus active members of the units that remitted.
    static func membersCovered(root: Organization, year: Int, on db: any Database) async throws -> Int {
        let sql = db as! any SQLDatabase
        let yes: SQLQueryString = db.isPostgres ? "TRUE" : "1"
        let auto = try await sql.raw("""
            SELECT COUNT(*) AS n FROM members m JOIN org_funds_remitted r ON r.org_id = m.org_id AND r.year = \(bind: year) AND r.remitted = \(yes)
            JOIN organizations o ON o.id = m.org_id WHERE m.status = 'active' AND o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound)
            """).first()?.decode(column: "n", as: Int.self) ?? 0
        let shares = try await sql.raw("""
            SELECT COUNT(DISTINCT s.member_id) AS n FROM mutual_aid_shares s JOIN mutual_aid_plans p ON p.id = s.plan_id AND p.year = \(bind: year)
            JOIN mutual_aid_enrolments e ON e.id = s.enrolment_id JOIN organizations o ON o.id = e.org_id
            WHERE s.live = \(yes) AND o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound)
            """).first()?.decode(column: "n", as: Int.self) ?? 0
        return auto + shares
    }

    static func export(_ req: Request, _ r: AidStatsDTO, format: String) async throws -> Response {
        try await req.audit.record("mutualAid.stats.export", details: ["format": format, "year": String(r.year), "orgId": String(r.orgId)])
        let header = ["mutualAid.stats.section", "mutualAid.stats.item", "mutualAid.stats.claims", "mutualAid.stats.amount", "mutualAid.stats.largest"]
            .map { req.t($0) }
        return try await RosterFiles.download(req, name: "mutual-aid-stats-\(r.year)", format: format, header: header, widths: [16, 30, 12, 16, 16]) { add in
            func row(_ section: String, _ f: AidStatsDTO.Figure) throws {
                try add([.text(req.t(section)), .text(f.label), .integer(f.claims), .number(NSDecimalNumber(decimal: f.amountYuan).doubleValue),
                         .number(NSDecimalNumber(decimal: f.largestYuan).doubleValue)])
            }
            try add([.text(req.t("mutualAid.stats.covered")), .text(r.orgName), .integer(Int64(r.membersCovered)), .empty, .empty])
            for f in r.byOutcome { try row("mutualAid.stats.byOutcome", f) }
            for f in r.byPlan { try row("mutualAid.stats.byPlan", f) }
            for f in r.byMonth { try row("mutualAid.stats.byMonth", f) }
            for f in r.byChild { try row("mutualAid.stats.byChild", f) }
        }
    }
}

/// `GET /api/v1/mutual-aid-stats?year=&orgId=&planId=&format=`.
struct AidStatsController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("mutual-aid-stats", use: stats)
    }

    static func query(_ req: Request) async throws -> (root: Organization, year: Int, planID: Int?, format: String?) {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let planID = req.optionalID("planId", &v)
        let year = PageRequest.int(req, "year", default: ShanghaiClock.today().year, range: 2000...2100, &v)
        let format = req.query[String.self, at: "format"].flatMap { $0.isEmpty ? nil : $0 }
        if let format, format != "xlsx" && format != "csv" { v.add("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"]) }
        try v.check()
        return (try await scope.org(orgID ?? scope.rootID, on: req.db), year, planID, format)
    }

    @Sendable func stats(req: Request) async throws -> Response {
        let q = try await Self.query(req)
        let report = try await AidStats.report(req, root: q.root, year: q.year, planID: q.planID)
        if let format = q.format { return try await AidStats.export(req, report, format: format) }
        return try await report.encodeResponse(for: req)
    }
}
