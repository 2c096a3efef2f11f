import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Prepare batches and allocate budgets below: every federation level and grassroots unions.
    var worksRelief: Bool { managesOrgs || self == .unionAdmin }
    /// 审批 a batch: the district (or the city).
    var approvesRelief: Bool { self == .cityAdmin || self == .districtStaff }
}

/// `/api/v1/relief-programs`: the programmes of a year (the city makes them), their budgets down the tree.
struct ReliefProgramController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let p = routes.grouped("relief-programs")
        p.post(use: create)
        p.get(use: list)
        p.get(":id", use: show)
        p.post(":id", "budgets", use: allocate)
        p.get(":id", "budgets", use: budgets)
    }

    static func program(_ req: Request, _ id: Int? = nil) async throws -> ReliefProgram {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        guard let p = try await ReliefProgram.find(try id ?? req.idParameter(), on: req.db) else { throw AppError.notFound }
        return p
    }

    /// Makes a programme and its fund; one per kind and year.
    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let input = try req.content.decode(ReliefProgramInput.self)
        let p = try await Self.make(input, orgID: scope.rootID, on: req.db)
        try await req.audit.record("relief.program.create", targetType: "reliefProgram", targetID: p.id,
                                   details: ["kind": p.kind.rawValue, "year": String(p.year)])
        return try await ["id": p.requireID()].encodeResponse(status: .created, for: req)
    }

    static func make(_ input: ReliefProgramInput, orgID: Int, on db: any Database) async throws -> ReliefProgram {
        var v = Validator()
        let kind = input.kind.flatMap(ReliefKind.init(rawValue:))
        if input.kind == nil { v.add("kind", "required") } else if kind == nil {
            v.add("kind", "unknown", "error.field.oneOf", ["values": ReliefKind.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        if let year = input.year { if !(2000...2100).contains(year) { v.add("year", "range", nil, ["min": "2000", "max": "2100"]) } } else { v.add("year", "required") }
        let name = v.text(input.name, "name", required: true, max: 100)
        let fixed = v.yuan(input.amountYuan, "amountYuan")
        let householdCap = v.yuan(input.householdYearCapYuan, "householdYearCapYuan")
        let personCap = v.yuan(input.personYearCapYuan, "personYearCapYuan")
        func tenths(_ value: Decimal?, _ field: String) -> Int? {
            guard let value else { return nil }
            let scaled = value * 10
            guard value >= 0, value <= 120, scaled == scaled.rounded0 else {
                v.add(field, "range", "relief.error.months")
                return nil
            }
            return NSDecimalNumber(decimal: scaled).intValue
        }
        let defaults: (deep: Int?, relative: Int?, accident: Int?) = kind.map(ReliefRule.defaultMultiples) ?? (nil, nil, nil)
        let given = input.monthsDeep != nil || input.monthsRelative != nil || input.monthsAccident != nil
        let kDeep = given ? tenths(input.monthsDeep, "monthsDeep") : defaults.deep
        let kRelative = given ? tenths(input.monthsRelative, "monthsRelative") : defaults.relative
        let kAccident = given ? tenths(input.monthsAccident, "monthsAccident") : defaults.accident
        try v.check()
        let program = ReliefProgram()
        program.kind = kind!
        program.year = input.year!
        program.name = name!
        program.orgID = orgID
        program.fixedFen = fixed
        program.kDeep = fixed == nil ? kDeep : nil
        program.kRelative = fixed == nil ? kRelative : nil
        program.kAccident = fixed == nil ? kAccident : nil
        if kind == .autumnSchooling {
            program.gradeRules = String(decoding: try JSONEncoder().encode(GradeRule.beijing2021), as: UTF8.self)
        }
        program.householdYearCapFen = householdCap
        program.personYearCapFen = kind == .temporary ? (personCap ?? ReliefRule.temporaryPersonCapFen) : personCap
        program.relativeOneKind = input.relativeOneKind ?? true
        return try await db.transaction { tx in
            try await tx.lock("relief.program:\(program.kind.rawValue):\(program.year)")
            if try await ReliefProgram.query(on: tx).filter(\.$kind == program.kind).filter(\.$year == program.year).first() != nil {
                throw AppError.conflict("relief.error.programExists", fields: [FieldIssue("kind", "exists", "relief.error.programExists")])
            }
            program.fundID = 0
            let sql = tx as! any SQLDatabase
            // The fund names the programme, so the programme's row comes first with a placeholder fund.
            let fund = Fund(kind: "relief", refID: nil, year: program.year, name: program.name, rootOrgID: orgID)
            try await fund.create(on: tx)
            program.fundID = try fund.requireID()
            try await program.create(on: tx)
            try await sql.raw("UPDATE funds SET ref_id = \(bind: program.requireID()) WHERE id = \(bind: fund.requireID())").run()
            return program
        }
    }

    @Sendable func list(req: Request) async throws -> [ReliefProgramDTO] {
        let scope = try req.scope
        try scope.require(scope.role.readsFunds)
        var v = Validator()
        var query = ReliefProgram.query(on: req.db)
        if let raw = req.query[String.self, at: "year"], !raw.isEmpty {
            if let year = Int(raw) { query = query.filter(\.$year == year) } else { v.add("year", "format") }
        }
        try v.check()
        return try await query.sort(\.$year, .descending).sort(\.$kind).limit(500).all().map(ReliefProgramDTO.init)
    }

    @Sendable func show(req: Request) async throws -> ReliefProgramDTO {
        ReliefProgramDTO(try await Self.program(req))
    }

    /// The city sets its own budget; a node gives to a child from what it holds.
    @Sendable func allocate(req: Request) async throws -> Response {
        let input = try req.content.decode(ReliefBudgetInput.self)
        return try await Self.allocate(req, input).encodeResponse(status: .created, for: req)
    }

    @discardableResult
    static func allocate(_ req: Request, _ input: ReliefBudgetInput) async throws -> FundBudgetDTO {
        let scope = try req.scope
        try scope.require(scope.role.worksRelief)
        let program = try await Self.program(req)
        var v = Validator()
        if input.orgId == nil { v.add("orgId", "required") }
        let fen = v.yuan(input.amountYuan, "amountYuan", required: true)
        try v.check()
        let org = try await scope.org(input.orgId!, on: req.db)
        var parent: Organization?
        if try org.requireID() != program.orgID {
            // The parent gives; it must be the caller's own node or below it.
            guard let parentID = org.parentID else { throw AppError.notFound }
            parent = try await scope.org(parentID, on: req.db)
        }
        let giver = parent
        guard let fund = try await Fund.find(program.fundID, on: req.db) else { throw AppError.notFound }
        try await req.db.transaction { tx in
            try await FundsLedger.allocate(fund, to: org, from: giver, fen: fen!, .init(staffID: scope.staffID, reason: program.name), on: tx)
            try await req.audit.record("relief.budget.allocate", targetType: "reliefProgram", targetID: program.id, org: org,
                                       details: ["amountFen": String(fen!), "from": String(giver?.id ?? 0)], on: tx)
        }
        let budget = try await FundsLedger.budget(program.fundID, org: org.requireID(), on: req.db)
        return Self.dto(budget!, name: org.name)
    }

    static func dto(_ b: FundBudget, name: String) -> FundBudgetDTO {
        FundBudgetDTO(orgId: b.orgID, orgName: name, allocatedYuan: Decimal(fen: b.allocatedFen), allocatedOnYuan: Decimal(fen: b.allocatedOutFen),
                      reservedYuan: Decimal(fen: b.reservedFen), paidYuan: Decimal(fen: b.paidFen), availableYuan: Decimal(fen: b.availableFen))
    }

    /// Budgets per org in the caller's subtree (`orgId=` narrows to a node and below).
    @Sendable func budgets(req: Request) async throws -> [FundBudgetDTO] {
        let scope = try req.scope
        let program = try await Self.program(req)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        try v.check()
        var query = scope.records(FundBudget.self, orgField: \.$orgID, on: req.db).filter(\.$fundID == program.fundID)
        if let orgID {
            let org = try await scope.org(orgID, on: req.db)
            query = query.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        let rows = try await query.sort(Organization.self, \.$path).limit(2000).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        return rows.map { Self.dto($0, name: orgs[$0.orgID]?.name ?? "") }
    }
}

extension Decimal {
    /// Whole number check for the months' tenths.
    var rounded0: Decimal {
        var copy = self
        var out = Decimal()
        NSDecimalRound(&out, &copy, 0, .plain)
        return out
    }
}
