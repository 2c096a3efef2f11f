import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Decides applications and sampled claims: the district or the city.
    var decidesAid: Bool { self == .cityAdmin || self == .districtStaff }
}

struct AidClaimDTO: Content {
    let id: Int
    let planId: Int?
    let memberId: Int?
    let orgId: Int
    let source: String
    let settlementNumber: String?
    let visitType: String?
    let visitDate: String
    let totalYuan: Decimal
    let insurancePaidYuan: Decimal
    let selfPaidYuan: Decimal
    let benefitYuan: Decimal
    let outcome: String
    let state: String
    let rejectCode: String?
    let reason: String?
    let description: String?
    let payoutId: Int?
    let line: Int?
    let createdAt: Date

    init(_ c: AidClaim) {
        id = c.id ?? 0
        planId = c.planID
        memberId = c.memberID
        orgId = c.orgID
        source = c.source
        settlementNumber = c.settlementNumber
        visitType = c.visitType
        visitDate = c.visitDate
        totalYuan = Decimal(fen: c.totalFen)
        insurancePaidYuan = Decimal(fen: c.insuranceFen)
        selfPaidYuan = Decimal(fen: c.selfPaidFen)
        benefitYuan = Decimal(fen: c.benefitFen)
        outcome = c.outcome
        state = c.state
        rejectCode = c.rejectCode
        reason = c.reason
        description = c.description
        payoutId = c.payoutID
        line = c.line
        createdAt = c.createdAt
    }
}

struct AidApplicationInput: Content {
    var planId: Int?
    var memberId: Int?
    var eventDate: String?
    var askedYuan: Decimal?
    var description: String?
}

struct AidClaimAction: Content {
    var action: String?
    var amountYuan: Decimal?
    var code: String?
    var reason: String?
}

/// `/api/v1/mutual-aid-claims`: every claim in the caller's subtree; applications and their review.
struct AidClaimController: RouteCollection {
    static let rejectCodes = ["notCovered", "waitingPeriod", "notEligible", "documents", "duplicate", "other"]

    func boot(routes: any RoutesBuilder) throws {
        let c = routes.grouped("mutual-aid-claims")
        c.get(use: list)
        c.post(use: create)
        c.get(":id", use: show)
        c.post(":id", "actions", use: act)
    }

    static func claim(_ req: Request, _ id: Int) async throws -> AidClaim {
        let scope = try req.scope
        guard let c = try await scope.records(AidClaim.self, orgField: \.$orgID, on: req.db).filter(\.$id == id).first() else { throw AppError.notFound }
        return c
    }

    @Sendable func list(req: Request) async throws -> [AidClaimDTO] {
        let scope = try req.scope
        var v = Validator()
        var query = scope.records(AidClaim.self, orgField: \.$orgID, on: req.db)
        if let id = req.optionalID("memberId", &v) { query = query.filter(\.$memberID == id) }
        if let id = req.optionalID("planId", &v) { query = query.filter(\.$planID == id) }
        if let id = req.optionalID("importId", &v) { query = query.filter(\.$jobID == id) }
        if let raw = req.query[String.self, at: "outcome"], !raw.isEmpty {
            if ClaimOutcome(rawValue: raw) != nil { query = query.filter(\.$outcome == raw) } else {
                v.add("outcome", "unknown", "error.field.oneOf", ["values": ClaimOutcome.allCases.map(\.rawValue).joined(separator: ", ")])
            }
        }
        if let raw = req.query[String.self, at: "state"], !raw.isEmpty { query = query.filter(\.$state == String(raw.prefix(20))) }
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all().map(AidClaimDTO.init)
    }

    @Sendable func show(req: Request) async throws -> AidClaimDTO { AidClaimDTO(try await Self.claim(req, try req.idParameter())) }

    /// An application for accident or women's special-disease cover, made by the member's union.
    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let input = try req.content.decode(AidApplicationInput.self)
        var v = Validator()
        if input.memberId == nil { v.add("memberId", "required") }
        try v.check()
        let member = try await MemberService(request: req).member(input.memberId!)
        let claim = try await AidApplications.submit(input, member: member, staffID: scope.staffID, on: req.db)
        try await req.audit.record("mutualAid.claim.apply", targetType: "mutualAidClaim", targetID: claim.id, details: ["planId": String(claim.planID ?? 0)])
        return try await AidClaimDTO(claim).encodeResponse(status: .created, for: req)
    }

    @Sendable func act(req: Request) async throws -> AidClaimDTO {
        let scope = try req.scope
        let claim = try await Self.claim(req, try req.idParameter())
        let input = try req.content.decode(AidClaimAction.self)
        let action = input.action ?? ""
        let decided = try await AidApplications.act(claim, action: action, input: input, scope: scope, on: req.db)
        try await req.audit.record("mutualAid.claim.\(action)", targetType: "mutualAidClaim", targetID: claim.id,
                                   details: ["state": decided.state, "benefitFen": String(decided.benefitFen)])
        return AidClaimDTO(decided)
    }
}
