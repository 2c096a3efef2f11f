import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// 建功立业: honours with quotas and 公示, the registry and the craftsman pool, innovation studios,
/// skills contests. Uses members, the funds ledger, public notices and attachments.
enum DevelopmentModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateDevelopment()])
        app.asyncCommands.use(BenchRegistrationsCommand(), as: "bench-registrations")
    }

    static func routes(_ routes: ModuleRoutes) throws {
        routes.app.consoleNav.add(.init(labelKey: "development.nav", href: "/console/development", visible: { $0.editsOwnOrg }))
        try routes.staffAPI.register(collection: HonourController())
        try routes.staffAPI.register(collection: DevelopmentController())
        routes.staffAPI.get("development-stats", use: DevelopmentStats.api)
        routes.api.get("honours", use: HonourController.publicRoll)
        routes.api.get("contests", ":id", "results", use: ContestMemberController.results)
        try routes.api.grouped(MemberBearerMiddleware()).register(collection: ContestMemberController())
        let nominationFiles: AttachmentRoutes.Authorize = { req, id in
            let (n, _, _) = try await Nominations.find(req, id)
            guard let org = try await Organization.find(n.orgID, on: req.db) else { throw AppError.notFound }
            return org
        }
        AttachmentRoutes.mount(routes.staffAPI, path: "nominations", ownerKind: "honourNomination", authorize: nominationFiles)
        try routes.console.register(collection: DevelopmentPages())
        try routes.pages.register(collection: DevelopmentPublicPages())
    }
}

struct DevelopmentStatsDTO: Content {
    struct Campaign: Content {
        let id: Int
        let title: String
        let year: Int
        let quota: Int
        let nominated: Int
        let awarded: Int
        let rulesMet: Bool
    }

    struct Level: Content {
        let level: String
        let studios: Int
        let named: Int
        let grantedYuan: Decimal
    }

    struct ContestLine: Content {
        let id: Int
        let name: String
        let capacity: Int
        let registered: Int
        let medals: Int
        let promoted: Int
    }

    let orgId: Int
    let orgName: String
    let honoursAwarded: Int
    let honoursRevoked: Int
    let campaigns: [Campaign]
    let studios: [Level]
    let contests: [ContestLine]
    let honourPrizesYuan: Decimal
    let studioGrantsYuan: Decimal
    let contestPrizesYuan: Decimal
}

/// The figures of worker development for a node's subtree (counted at read time over a few
/// thousand rows per city: campaigns, studios and contests, not members).
enum DevelopmentStats {
    static func report(_ req: Request, root: Organization) async throws -> DevelopmentStatsDTO {
        let sql = req.db as! any SQLDatabase
        let lo = root.treePath.value, hi = root.treePath.upperBound
        func count(_ q: SQLQueryString) async throws -> Int { try await sql.raw(q).first()?.decode(column: "n", as: Int?.self) ?? 0 }
        func fen(_ q: SQLQueryString) async throws -> Int64 { try await sql.raw(q).first()?.decode(column: "n", as: Int64?.self) ?? 0 }
        let awarded = try await count("SELECT COUNT(*) AS n FROM honour_awards a JOIN organizations o ON o.id = a.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND a.revoked_on IS NULL")
        let revoked = try await count("SELECT COUNT(*) AS n FROM honour_awards a JOIN organizations o ON o.id = a.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND a.revoked_on IS NOT NULL")
        let honourFen = try await fen("SELECT CAST(SUM(a.prize_fen) AS BIGINT) AS n FROM honour_awards a JOIN organizations o ON o.id = a.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi)")
        var campaigns: [DevelopmentStatsDTO.Campaign] = []
        let visible = try await HonourController.visibleCampaigns(req)
        for c in visible.prefix(30) {
            let noms = try await HonourNomination.query(on: req.db).filter(\.$campaignID == c.requireID()).all()
            let rules = try await HonourCampaigns.quotaRules(c, nominations: noms, on: req.db)
            campaigns.append(.init(id: c.id ?? 0, title: c.title, year: c.year, quota: c.quota, nominated: noms.filter { $0.state.counts }.count,
                                   awarded: noms.filter { $0.state == .awarded }.count, rulesMet: rules.allSatisfy(\.met)))
        }
        var levels: [DevelopmentStatsDTO.Level] = []
        var grantsFen: Int64 = 0
        for level in Studio.levels {
            let all = try await count("SELECT COUNT(*) AS n FROM studios s JOIN organizations o ON o.id = s.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND s.level = \(bind: level)")
            let named = try await count("SELECT COUNT(*) AS n FROM studios s JOIN organizations o ON o.id = s.org_id WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND s.level = \(bind: level) AND s.state = 'named'")
            let granted = try await fen("""
                SELECT CAST(SUM(y.grant_fen) AS BIGINT) AS n FROM studio_years y JOIN studios s ON s.id = y.studio_id JOIN organizations o ON o.id = s.org_id
                WHERE o.path >= \(bind: lo) AND o.path < \(bind: hi) AND s.level = \(bind: level)
                """)
            grantsFen += granted
            levels.append(.init(level: level, studios: all, named: named, grantedYuan: Decimal(fen: granted)))
        }
        let contests = try await Contest.query(on: req.db).join(Organization.self, on: \Contest.$orgID == \Organization.$id).joinedUnder(root)
            .sort(\.$id, .descending).limit(30).all()
        var lines: [DevelopmentStatsDTO.ContestLine] = []
        var contestFen: Int64 = 0
        for c in contests {
            let id = try c.requireID()
            let medals = try await count("SELECT COUNT(*) AS n FROM contest_registrations WHERE contest_id = \(bind: id) AND medal IS NOT NULL")
            let promoted = try await count("SELECT COUNT(*) AS n FROM contest_registrations WHERE contest_id = \(bind: id) AND promoted = \(bind: true)")
            contestFen += try await fen("SELECT CAST(SUM(prize_fen) AS BIGINT) AS n FROM contest_registrations WHERE contest_id = \(bind: id)")
            lines.append(.init(id: id, name: c.name, capacity: c.capacity, registered: c.registered, medals: medals, promoted: promoted))
        }
        return DevelopmentStatsDTO(orgId: try root.requireID(), orgName: root.name, honoursAwarded: awarded, honoursRevoked: revoked, campaigns: campaigns,
                                   studios: levels, contests: lines, honourPrizesYuan: Decimal(fen: honourFen),
                                   studioGrantsYuan: Decimal(fen: grantsFen),
                                   contestPrizesYuan: Decimal(fen: contestFen))
    }

    @Sendable static func api(req: Request) async throws -> Response {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let format = req.query[String.self, at: "format"].flatMap { $0.isEmpty ? nil : $0 }
        if let format, format != "xlsx" && format != "csv" { v.add("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"]) }
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        let r = try await report(req, root: root)
        guard let format else { return try await r.encodeResponse(for: req) }
        try await req.audit.record("development.stats.export", org: root, details: ["format": format])
        let header = ["archive.stats.section", "archive.stats.item", "rights.stats.count", "archive.stats.amount"].map { req.t($0) }
        return try await RosterFiles.download(req, name: "development-stats", format: format, header: header, widths: [16, 36, 12, 14]) { add in
            let h = req.t("development.stats.honours"), s = req.t("development.stats.studios"), c = req.t("development.stats.contests")
            try add([.text(h), .text(req.t("development.stats.awarded")), .integer(Int64(r.honoursAwarded)), .number(NSDecimalNumber(decimal: r.honourPrizesYuan).doubleValue)])
            try add([.text(h), .text(req.t("development.stats.revoked")), .integer(Int64(r.honoursRevoked)), .empty])
            for x in r.campaigns {
                try add([.text(h), .text("\(x.year) \(x.title) \(x.awarded)/\(x.quota)"), .integer(Int64(x.nominated)), .empty])
            }
            for l in r.studios {
                try add([.text(s), .text(req.t("studio.level.\(l.level)")), .integer(Int64(l.studios)), .number(NSDecimalNumber(decimal: l.grantedYuan).doubleValue)])
            }
            for x in r.contests { try add([.text(c), .text(x.name), .integer(Int64(x.registered)), .empty]) }
            try add([.text(c), .text(req.t("development.stats.contestPrizes")), .empty, .number(NSDecimalNumber(decimal: r.contestPrizesYuan).doubleValue)])
        }
    }
}
