import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct AidPlanInput: Content {
    var kind: String?
    var year: Int?
    var name: String?
    var coverFrom: String?
    var coverTo: String?
    var admission: String?
    var deductibleYuan: Decimal?
    var ratio: Decimal?
    var perClaimCapYuan: Decimal?
    var yearlyCapYuan: Decimal?
    var totalCapYuan: Decimal?
    var waitingDays: Int?
    var sharePriceYuan: Decimal?
    var maxShares: Int?
    var minShare: Decimal?
    var enrolFrom: String?
    var enrolTo: String?
    var reviewShare: Decimal?
}

struct AidPlanDTO: Content {
    let id: Int
    let kind: String
    let year: Int
    let name: String
    let coverFrom: String
    let coverTo: String
    let admission: String
    let deductibleYuan: Decimal
    let ratio: Decimal
    let perClaimCapYuan: Decimal?
    let yearlyCapYuan: Decimal
    let totalCapYuan: Decimal?
    let waitingDays: Int
    let sharePriceYuan: Decimal?
    let maxShares: Int
    let minShare: Decimal?
    let enrolFrom: String?
    let enrolTo: String?
    let reviewShare: Decimal
    let fundId: Int

    init(_ p: AidPlan) {
        id = p.id ?? 0
        kind = p.kind.rawValue
        year = p.year
        name = p.name
        coverFrom = p.coverFrom
        coverTo = p.coverTo
        admission = p.admission
        deductibleYuan = Decimal(fen: p.deductibleFen)
        ratio = Decimal(p.ratioBP) / 10_000
        perClaimCapYuan = p.perClaimCapFen.map { Decimal(fen: $0) }
        yearlyCapYuan = Decimal(fen: p.yearlyCapFen)
        totalCapYuan = p.totalCapFen.map { Decimal(fen: $0) }
        waitingDays = p.waitingDays
        sharePriceYuan = p.sharePriceFen.map { Decimal(fen: $0) }
        maxShares = p.maxShares
        minShare = p.minShareBP.map { Decimal($0) / 10_000 }
        enrolFrom = p.enrolFrom
        enrolTo = p.enrolTo
        reviewShare = Decimal(p.reviewBP) / 10_000
        fundId = p.fundID
    }
}

struct FundsRemittedInput: Content {
    var year: Int?
    var remitted: Bool?
}

/// `/api/v1/mutual-aid-plans` and `/api/v1/orgs/{id}/funds-remitted`.
struct AidPlanController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let p = routes.grouped("mutual-aid-plans")
        p.post(use: create)
        p.get(use: list)
        p.get(":id", use: show)
        p.post(":id", "budget", use: budget)
        routes.put("orgs", ":id", "funds-remitted", use: remitted)
    }

    static func plan(_ req: Request, _ id: Int? = nil) async throws -> AidPlan {
        _ = try req.scope
        guard let p = try await AidPlan.find(try id ?? req.idParameter(), on: req.db) else { throw AppError.notFound }
        return p
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let p = try await Self.make(try req.content.decode(AidPlanInput.self), orgID: scope.rootID, on: req.db)
        try await req.audit.record("mutualAid.plan.create", targetType: "mutualAidPlan", targetID: p.id,
                                   details: ["kind": p.kind.rawValue, "year": String(p.year)])
        return try await ["id": p.requireID()].encodeResponse(status: .created, for: req)
    }

    static func make(_ input: AidPlanInput, orgID: Int, on db: any Database) async throws -> AidPlan {
        var v = Validator()
        let kind = input.kind.flatMap(AidPlanKind.init(rawValue:))
        if input.kind == nil { v.add("kind", "required") } else if kind == nil {
            v.add("kind", "unknown", "error.field.oneOf", ["values": AidPlanKind.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        if let year = input.year { if !(2000...2100).contains(year) { v.add("year", "range", nil, ["min": "2000", "max": "2100"]) } } else { v.add("year", "required") }
        let name = v.text(input.name, "name", required: true, max: 100)
        func day(_ raw: String?, _ field: String, required: Bool) -> String? {
            guard let raw, !raw.isEmpty else {
                if required { v.add(field, "required") }
                return nil
            }
            guard let d = try? CalendarDate(parsing: raw) else { v.add(field, "format", "error.field.date"); return nil }
            return d.description
        }
        let from = day(input.coverFrom, "coverFrom", required: true), to = day(input.coverTo, "coverTo", required: true)
        if let from, let to, from > to { v.add("coverTo", "beforeStart", "mutualAid.error.coverOrder") }
        let enrolFrom = day(input.enrolFrom, "enrolFrom", required: false), enrolTo = day(input.enrolTo, "enrolTo", required: false)
        if let enrolFrom, let enrolTo, enrolFrom > enrolTo { v.add("enrolTo", "beforeStart", "mutualAid.error.coverOrder") }
        let admission = input.admission ?? (kind?.byApplication == true ? "enrolled" : "automatic")
        if !["automatic", "enrolled"].contains(admission) { v.add("admission", "unknown", "error.field.oneOf", ["values": "automatic, enrolled"]) }
        let deductible = v.yuan(input.deductibleYuan, "deductibleYuan", required: false, positive: false) ?? 0
        var ratio: Int?
        if let r = input.ratio { ratio = AidRule.basisPoints(r); if ratio == nil { v.add("ratio", "range", "mutualAid.error.ratio") } } else { v.add("ratio", "required") }
        let perClaim = v.yuan(input.perClaimCapYuan, "perClaimCapYuan")
        let yearly = v.yuan(input.yearlyCapYuan, "yearlyCapYuan", required: true)
        let total = v.yuan(input.totalCapYuan, "totalCapYuan")
        if let total, let yearly, total < yearly { v.add("totalCapYuan", "belowYearly", "mutualAid.error.totalBelowYearly") }
        let waiting = input.waitingDays ?? 0
        if !(0...730).contains(waiting) { v.add("waitingDays", "range", nil, ["min": "0", "max": "730"]) }
        let price = v.yuan(input.sharePriceYuan, "sharePriceYuan")
        let maxShares = input.maxShares ?? 1
        if !(1...100).contains(maxShares) { v.add("maxShares", "range", nil, ["min": "1", "max": "100"]) }
        var minShare: Int?
        if let m = input.minShare { minShare = AidRule.basisPoints(m); if minShare == nil { v.add("minShare", "range", "mutualAid.error.ratio") } }
        var review = 0
        if let r = input.reviewShare { if let bp = AidRule.basisPoints(r) { review = bp } else { v.add("reviewShare", "range", "mutualAid.error.ratio") } }
        if admission == "enrolled" && kind?.visitType == nil && price == nil && input.sharePriceYuan == nil {
            // A plan claimed by application and enrolled by units is sold by the share.
            v.add("sharePriceYuan", "required")
        }
        try v.check()
        let plan = AidPlan()
        plan.kind = kind!
        plan.year = input.year!
        plan.name = name!
        plan.coverFrom = from!
        plan.coverTo = to!
        plan.admission = admission
        plan.deductibleFen = deductible
        plan.ratioBP = ratio!
        plan.perClaimCapFen = perClaim
        plan.yearlyCapFen = yearly!
        plan.totalCapFen = total
        plan.waitingDays = waiting
        plan.sharePriceFen = price
        plan.maxShares = maxShares
        plan.minShareBP = minShare
        plan.enrolFrom = enrolFrom
        plan.enrolTo = enrolTo
        plan.reviewBP = review
        plan.orgID = orgID
        return try await db.transaction { tx in
            let fund = Fund(kind: "mutualAid", refID: nil, year: plan.year, name: plan.name, rootOrgID: orgID)
            try await fund.create(on: tx)
            plan.fundID = try fund.requireID()
            try await plan.create(on: tx)
            try await (tx as! any SQLDatabase).raw("UPDATE funds SET ref_id = \(bind: plan.requireID()) WHERE id = \(bind: fund.requireID())").run()
            return plan
        }
    }

    @Sendable func list(req: Request) async throws -> [AidPlanDTO] {
        _ = try req.scope
        var v = Validator()
        var query = AidPlan.query(on: req.db)
        if let raw = req.query[String.self, at: "year"], !raw.isEmpty {
            if let year = Int(raw), (2000...2100).contains(year) { query = query.filter(\.$year == year) } else { v.add("year", "format") }
        }
        try v.check()
        return try await query.sort(\.$year, .descending).sort(\.$kind).limit(500).all().map(AidPlanDTO.init)
    }

    @Sendable func show(req: Request) async throws -> AidPlanDTO { AidPlanDTO(try await Self.plan(req)) }

    /// The city puts money into the plan's fund (the payouts are reserved and paid from it).
    @Sendable func budget(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let plan = try await Self.plan(req)
        struct Input: Content { var amountYuan: Decimal? }
        let input = try req.content.decode(Input.self)
        var v = Validator()
        let fen = v.yuan(input.amountYuan, "amountYuan", required: true)
        try v.check()
        guard let fund = try await Fund.find(plan.fundID, on: req.db), let root = try await Organization.find(plan.orgID, on: req.db) else { throw AppError.notFound }
        try await req.db.transaction { tx in
            try await FundsLedger.allocate(fund, to: root, from: nil, fen: fen!, .init(staffID: scope.staffID, reason: plan.name), on: tx)
            try await req.audit.record("mutualAid.plan.budget", targetType: "mutualAidPlan", targetID: plan.id, details: ["amountFen": String(fen!)], on: tx)
        }
        let b = try await FundsLedger.budget(plan.fundID, org: plan.orgID, on: req.db)!
        return try await ReliefProgramController.dto(b, name: root.name).encodeResponse(status: .created, for: req)
    }

    /// `PUT /api/v1/orgs/{id}/funds-remitted {"year","remitted"}`: a grassroots unit's union funds for the year.
    @Sendable func remitted(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.managesOrgs)
        let org = try await scope.org(try req.idParameter(), on: req.db)
        let input = try req.content.decode(FundsRemittedInput.self)
        var v = Validator()
        if let year = input.year { if !(2000...2100).contains(year) { v.add("year", "range", nil, ["min": "2000", "max": "2100"]) } } else { v.add("year", "required") }
        if input.remitted == nil { v.add("remitted", "required") }
        if !org.kind.isGrassroots { v.add("id", "notGrassroots", "mutualAid.error.notGrassroots") }
        try v.check()
        try await req.db.transaction { tx in
            try await Self.setRemitted(org: org.requireID(), year: input.year!, remitted: input.remitted!, staffID: scope.staffID, on: tx)
            try await req.audit.record("mutualAid.fundsRemitted", targetType: "organization", targetID: org.id, org: org,
                                       details: ["year": String(input.year!), "remitted": String(input.remitted!)], on: tx)
        }
        struct Answer: Content { let orgId: Int; let year: Int; let remitted: Bool }
        return try await Answer(orgId: org.requireID(), year: input.year!, remitted: input.remitted!).encodeResponse(status: .ok, for: req)
    }

    static func setRemitted(org: Int, year: Int, remitted: Bool, staffID: Int?, on db: any Database) async throws {
        try await (db as! any SQLDatabase).raw("""
            INSERT INTO org_funds_remitted (org_id, year, remitted, staff_id, updated_at) VALUES (\(bind: org), \(bind: year), \(bind: remitted), \(bind: staffID), \(bind: Date()))
            ON CONFLICT (org_id, year) DO UPDATE SET remitted = excluded.remitted, staff_id = excluded.staff_id, updated_at = excluded.updated_at
            """).run()
    }
}
