import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct AidEnrolmentInput: Content {
    var planId: Int?
    var orgId: Int?
    var memberIds: [Int]?
    /// Instead of member ids: the ID numbers of a roster file, matched by blind index.
    var idNumbers: [String]?
    var shares: Int?
}

struct AidEnrolmentAction: Content {
    var action: String?
    var paidOn: String?
    var paymentRef: String?
}

struct AidEnrolmentDTO: Content {
    let id: Int
    let planId: Int
    let orgId: Int
    let state: String
    let members: Int
    let shares: Int
    let eligible: Int
    let amountYuan: Decimal
    let paidOn: String?
    let coverFrom: String?

    init(_ e: AidEnrolment, plan: AidPlan?) {
        id = e.id ?? 0
        planId = e.planID
        orgId = e.orgID
        // Paid and the day after payment reached: in force; past the plan's cover: ended.
        let today = ShanghaiClock.today().description
        if e.state == .paid, let from = e.coverFrom, from <= today {
            state = plan.map { $0.coverTo < today } == true ? EnrolmentState.ended.rawValue : EnrolmentState.inForce.rawValue
        } else { state = e.state.rawValue }
        members = e.members
        shares = e.shares
        eligible = e.eligible
        amountYuan = Decimal(fen: e.amountFen)
        paidOn = e.paidOn
        coverFrom = e.coverFrom
    }
}

/// `/api/v1/mutual-aid-enrolments`: a union enrols its members in a plan for the plan's period.
struct AidEnrolmentController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let e = routes.grouped("mutual-aid-enrolments")
        e.post(use: create)
        e.get(use: list)
        e.get(":id", use: show)
        e.post(":id", "actions", use: act)
    }

    static func enrolment(_ req: Request, _ id: Int) async throws -> AidEnrolment {
        let scope = try req.scope
        guard let e = try await scope.records(AidEnrolment.self, orgField: \.$orgID, on: req.db).filter(\.$id == id).first() else { throw AppError.notFound }
        return e
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let input = try req.content.decode(AidEnrolmentInput.self)
        var v = Validator()
        if input.planId == nil { v.add("planId", "required") }
        if input.orgId == nil { v.add("orgId", "required") }
        let ids = input.memberIds ?? []
        let numbers = input.idNumbers ?? []
        if ids.isEmpty && numbers.isEmpty { v.add("memberIds", "required", "mutualAid.error.noMembers") }
        if ids.count + numbers.count > 20_000 { v.add("memberIds", "tooMany", "error.field.range", ["min": "1", "max": "20000"]) }
        let shares = input.shares ?? 1
        try v.check()
        let org = try await scope.org(input.orgId!, on: req.db)
        guard org.kind.isGrassroots else { throw AppError.invalid([FieldIssue("orgId", "notGrassroots", "mutualAid.error.notGrassroots")]) }
        guard let plan = try await AidPlan.find(input.planId!, on: req.db) else {
            throw AppError.invalid([FieldIssue("planId", "notFound", "mutualAid.error.noPlan")])
        }
        guard !plan.automatic else {
            throw AppError.conflict("mutualAid.error.automaticPlan", fields: [FieldIssue("planId", "automatic", "mutualAid.error.automaticPlan")])
        }
        guard (1...plan.maxShares).contains(shares) else {
            throw AppError.invalid([FieldIssue("shares", "range", nil, ["min": "1", "max": String(plan.maxShares)])])
        }
        let today = ShanghaiClock.today().description
        if let from = plan.enrolFrom, today < from { throw AppError.conflict("mutualAid.error.window", args: ["from": from, "to": plan.enrolTo ?? ""]) }
        if let to = plan.enrolTo, today > to { throw AppError.conflict("mutualAid.error.window", args: ["from": plan.enrolFrom ?? "", "to": to]) }
        // The roster: members of this union, active.
        var members = try await Member.query(on: req.db).filter(\.$orgID == org.requireID()).filter(\.$id ~~ ids).all()
        var issues: [FieldIssue] = []
        let found = Set(members.compactMap(\.id))
        for (n, id) in ids.enumerated() where !found.contains(id) { issues.append(FieldIssue("memberIds[\(n)]", "notFound", "mutualAid.error.notInUnion")) }
        if !numbers.isEmpty {
            let cipher = req.application.fieldCipher
            var indexes: [String: Int] = [:]
            for (n, raw) in numbers.enumerated() {
                if let id = try? ResidentID(parsing: raw, today: ShanghaiClock.today(), minimumAge: 0) { indexes[cipher.blindIndex(id.value)] = n } else {
                    issues.append(FieldIssue("idNumbers[\(n)]", "format", "error.member.idNumber.format"))
                }
            }
            let byIndex = try await Member.query(on: req.db).filter(\.$orgID == org.requireID()).filter(\.$idIndex ~~ Array(indexes.keys)).all()
            let matched = Set(byIndex.map(\.idIndex))
            for (index, n) in indexes where !matched.contains(index) { issues.append(FieldIssue("idNumbers[\(n)]", "notFound", "mutualAid.error.notInUnion")) }
            members += byIndex.filter { !found.contains($0.id ?? 0) }
        }
        for m in members where m.status != .active { issues.append(FieldIssue("memberIds", "inactive", "mutualAid.error.inactive", ["name": m.name])) }
        if plan.kind == .womenSpecial {
            for m in members where m.sex != "F" { issues.append(FieldIssue("memberIds", "notWoman", "mutualAid.error.womenOnly", ["name": m.name])) }
        }
        guard issues.isEmpty else { throw AppError.invalid(issues) }
        let eligible = try await Member.query(on: req.db).filter(\.$orgID == org.requireID()).filter(\.$status == .active)
            .filter(\.$sex ~~ (plan.kind == .womenSpecial ? ["F"] : ["F", "M"])).count()
        let e = AidEnrolment()
        e.planID = try plan.requireID()
        e.orgID = try org.requireID()
        e.state = .draft
        e.members = members.count
        e.shares = members.count * shares
        e.eligible = eligible
        e.amountFen = Int64(e.shares) * (plan.sharePriceFen ?? 0)
        e.staffID = scope.staffID
        let chosen = members
        try await req.db.transaction { tx in
            try await tx.lock("mutualAid.enrol:\(plan.requireID())")
            let held = try await AidShare.query(on: tx).filter(\.$planID == plan.requireID()).filter(\.$live == true)
                .filter(\.$memberID ~~ chosen.compactMap(\.id)).all()
            if let first = held.first, let m = chosen.first(where: { $0.id == first.memberID }) {
                throw AppError.conflict("mutualAid.error.alreadyEnrolled", args: ["name": m.name],
                                        fields: held.compactMap { h in chosen.first { $0.id == h.memberID } }.map {
                                            FieldIssue("memberIds", "alreadyEnrolled", "mutualAid.error.alreadyEnrolled", ["name": $0.name])
                                        })
            }
            try await e.create(on: tx)
            for chunk in chosen.chunked(500) {
                let rows = try chunk.map { m -> AidShare in
                    let s = AidShare()
                    s.enrolmentID = try e.requireID()
                    s.planID = try plan.requireID()
                    s.memberID = try m.requireID()
                    s.shares = shares
                    s.live = true
                    return s
                }
                try await rows.create(on: tx)
            }
            try await req.audit.record("mutualAid.enrolment.create", targetType: "mutualAidEnrolment", targetID: e.id, org: org,
                                       details: ["planId": String(plan.id ?? 0), "members": String(chosen.count)], on: tx)
        }
        return try await AidEnrolmentDTO(e, plan: plan).encodeResponse(status: .created, for: req)
    }

    @Sendable func list(req: Request) async throws -> [AidEnrolmentDTO] {
        let scope = try req.scope
        var v = Validator()
        var query = scope.records(AidEnrolment.self, orgField: \.$orgID, on: req.db)
        if let id = req.optionalID("planId", &v) { query = query.filter(\.$planID == id) }
        if let id = req.optionalID("orgId", &v) { query = query.filter(\.$orgID == id) }
        try v.check()
        let rows = try await query.sort(\.$id, .descending).limit(500).all()
        let plans = Dictionary(try await AidPlan.query(on: req.db).filter(\.$id ~~ Set(rows.map(\.planID))).all().map { ($0.id!, $0) }) { a, _ in a }
        return rows.map { AidEnrolmentDTO($0, plan: plans[$0.planID]) }
    }

    @Sendable func show(req: Request) async throws -> AidEnrolmentDTO {
        let e = try await Self.enrolment(req, try req.idParameter())
        return AidEnrolmentDTO(e, plan: try await AidPlan.find(e.planID, on: req.db))
    }

    /// submit (the union), confirm (the district or city), pay (the payment recorded: cover from the next day), cancel, end.
    @Sendable func act(req: Request) async throws -> AidEnrolmentDTO {
        let scope = try req.scope
        let e = try await Self.enrolment(req, try req.idParameter())
        guard let plan = try await AidPlan.find(e.planID, on: req.db) else { throw AppError.notFound }
        let input = try req.content.decode(AidEnrolmentAction.self)
        let action = input.action ?? ""
        func refuse() -> AppError {
            AppError.conflict("mutualAid.error.wrongState", fields: [FieldIssue("action", "state", "mutualAid.error.wrongState", ["state": e.state.rawValue])])
        }
        switch action {
        case "submit":
            try scope.require(scope.role.keepsMembers)
            guard e.state == .draft else { throw refuse() }
            if let min = plan.minShareBP, e.eligible > 0, e.members * 10_000 < min * e.eligible {
                let needed = (min * e.eligible + 9_999) / 10_000
                throw AppError.conflict("mutualAid.error.minShare", args: ["needed": String(needed), "eligible": String(e.eligible), "members": String(e.members)],
                                        fields: [FieldIssue("memberIds", "minShare", "mutualAid.error.minShare",
                                                            ["needed": String(needed), "eligible": String(e.eligible), "members": String(e.members)])])
            }
            e.state = .submitted
        case "confirm":
            try scope.require(scope.role.decidesAid)
            guard e.state == .submitted else { throw refuse() }
            e.state = .confirmed
        case "pay":
            try scope.require(scope.role.decidesAid)
            guard e.state == .confirmed else { throw refuse() }
            var v = Validator()
            var paid: CalendarDate?
            if let raw = input.paidOn, let d = try? CalendarDate(parsing: raw) { paid = d } else if input.paidOn == nil { paid = ShanghaiClock.today() } else {
                v.add("paidOn", "format", "error.field.date")
            }
            let ref = v.text(input.paymentRef, "paymentRef", required: false, max: 100)
            try v.check()
            e.state = .paid
            e.paidOn = paid!.description
            e.paymentRef = ref
            e.coverFrom = max(paid!.adding(days: 1).description, plan.coverFrom)
        case "cancel":
            guard [.draft, .submitted, .confirmed].contains(e.state) else { throw refuse() }
            e.state = .cancelled
        case "end":
            try scope.require(scope.role.decidesAid)
            guard e.state == .paid else { throw refuse() }
            e.state = .ended
        default:
            throw AppError.invalid([FieldIssue("action", "unknown", "error.field.oneOf", ["values": "submit, confirm, pay, cancel, end"])])
        }
        e.updatedAt = Date()
        let org = try await scope.org(e.orgID, on: req.db)
        try await req.db.transaction { tx in
            try await e.save(on: tx)
            if e.state == .cancelled || e.state == .ended {
                try await AidShare.query(on: tx).filter(\.$enrolmentID == e.requireID()).set(\.$live, to: false).update()
            }
            if action == "pay", e.amountFen > 0, let fund = try await Fund.find(plan.fundID, on: tx), let root = try await Organization.find(plan.orgID, on: tx) {
                // The unit's premiums go into the plan's fund, from which its claims are paid.
                try await FundsLedger.allocate(fund, to: root, from: nil, fen: e.amountFen,
                                               .init(staffID: scope.staffID, reason: "enrolment \(e.id ?? 0) \(org.name)", ref: "mutual-aid-enrolment:\(e.id ?? 0)"), on: tx)
            }
            try await req.audit.record("mutualAid.enrolment.\(action)", targetType: "mutualAidEnrolment", targetID: e.id, org: org,
                                       details: ["state": e.state.rawValue], on: tx)
        }
        return AidEnrolmentDTO(e, plan: plan)
    }
}
