import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct MyAidDTO: Content {
    struct Plan: Content {
        let id: Int
        let kind: String
        let name: String
        let year: Int
        let coverFrom: String
        let coverTo: String
        let admission: String
        /// The first day a claim is paid (after the waiting period).
        let coveredFrom: String
        let yearlyCapYuan: Decimal
        let yearlyUsedYuan: Decimal
        let yearlyLeftYuan: Decimal
        let totalCapYuan: Decimal?
        let totalLeftYuan: Decimal?
        let byApplication: Bool
    }

    let plans: [Plan]
    let claims: [AidClaimDTO]
}

/// `/api/v1/me/mutual-aid`: what covers the signed-in member, what is left of each cap, their claims;
/// and an application for accident or women's special-disease cover, with its documents.
struct MemberMutualAidController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("mutual-aid", use: show)
        routes.post("mutual-aid-claims", use: apply)
    }

    @Sendable func show(req: Request) async throws -> MyAidDTO {
        try await Self.summary(try req.member, on: req.db)
    }

    /// What the member's phone shows, through the API and the `/member/mutual-aid` page alike.
    static func summary(_ member: Member, on db: any Database) async throws -> MyAidDTO {
        let memberID = try member.requireID()
        let year = ShanghaiClock.today().year
        let plans = try await AidPlan.query(on: db).filter(\.$year >= year - 1).sort(\.$year, .descending).sort(\.$kind).all()
        let sql = db as! any SQLDatabase
        var used: [Int: Int64] = [:]
        for r in try await sql.raw("SELECT plan_id, used_fen FROM mutual_aid_usage WHERE member_id = \(bind: memberID)").all() {
            used[try r.decode(column: "plan_id", as: Int.self)] = try r.decode(column: "used_fen", as: Int64.self)
        }
        var totals: [String: Int64] = [:]
        for r in try await sql.raw("SELECT kind, used_fen FROM mutual_aid_totals WHERE member_id = \(bind: memberID)").all() {
            totals[try r.decode(column: "kind", as: String.self)] = try r.decode(column: "used_fen", as: Int64.self)
        }
        var out: [MyAidDTO.Plan] = []
        for p in plans {
            guard let cover = try await AidCover.cover(p, member: member, on: db) else { continue }
            let u = used[p.id!] ?? 0
            let t = totals[p.kind.rawValue] ?? 0
            out.append(.init(id: p.id!, kind: p.kind.rawValue, name: p.name, year: p.year, coverFrom: p.coverFrom, coverTo: p.coverTo, admission: p.admission,
                             coveredFrom: max(p.coverFrom, AidRule.afterWaiting(cover.start, days: p.waitingDays)),
                             yearlyCapYuan: Decimal(fen: p.yearlyCapFen), yearlyUsedYuan: Decimal(fen: u), yearlyLeftYuan: Decimal(fen: max(0, p.yearlyCapFen - u)),
                             totalCapYuan: p.totalCapFen.map { Decimal(fen: $0) }, totalLeftYuan: p.totalCapFen.map { Decimal(fen: max(0, $0 - t)) },
                             byApplication: p.kind.byApplication))
        }
        let claims = try await AidClaim.query(on: db).filter(\.$memberID == memberID).sort(\.$id, .descending).limit(100).all()
        return MyAidDTO(plans: out, claims: claims.map(AidClaimDTO.init))
    }

    @Sendable func apply(req: Request) async throws -> Response {
        let member = try req.member
        var input = try req.content.decode(AidApplicationInput.self)
        input.memberId = member.id
        let claim = try await AidApplications.submit(input, member: member, staffID: nil, on: req.db)
        guard let org = try await Organization.find(member.orgID, on: req.db) else { throw AppError.notFound }
        try await Audit.write("mutualAid.claim.apply", targetType: "mutualAidClaim", targetID: claim.id, org: org, actor: nil, ip: req.clientAddress,
                              requestID: nil, details: ["by": "member"], on: req.db)
        return try await AidClaimDTO(claim).encodeResponse(status: .created, for: req)
    }
}

/// 职工医疗互助: plans, enrolments, claims from settlement files and by application, payouts, statistics.
enum MutualAidModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateMutualAid()])
        app.asyncCommands.use(BenchClaimsCommand(), as: "bench-claims")
        app.asyncCommands.use(SampleSettlementsCommand(), as: "sample-settlements")
    }

    static func routes(_ routes: ModuleRoutes) throws {
        routes.app.consoleNav.add(.init(labelKey: "mutualAid.nav", href: "/console/mutual-aid", visible: { $0.readsFunds }))
        try routes.staffAPI.register(collection: AidPlanController())
        try routes.staffAPI.register(collection: AidEnrolmentController())
        try routes.staffAPI.register(collection: SettlementImportController())
        try routes.staffAPI.register(collection: AidClaimController())
        try routes.staffAPI.register(collection: AidPayoutController())
        try routes.staffAPI.register(collection: AidStatsController())
        try routes.memberAPI.register(collection: MemberMutualAidController())
        try routes.console.register(collection: MutualAidPages())
        try routes.pages.register(collection: MemberMutualAidPage())
        let claimFiles: AttachmentRoutes.Authorize = { req, id in
            guard let c = try await AidClaim.find(id, on: req.db) else { throw AppError.notFound }
            if let member = req.signedInMember {
                guard c.memberID == member.id else { throw AppError.notFound }
            } else {
                _ = try await req.scope.org(c.orgID, on: req.db)
            }
            guard let org = try await Organization.find(c.orgID, on: req.db) else { throw AppError.notFound }
            return org
        }
        AttachmentRoutes.mount(routes.memberAPI, path: "mutual-aid-claims", ownerKind: "mutualAidClaim", authorize: claimFiles)
        AttachmentRoutes.mount(routes.staffAPI, path: "mutual-aid-claims", ownerKind: "mutualAidClaim", authorize: claimFiles)
    }
}
