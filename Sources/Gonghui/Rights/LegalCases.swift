import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct ClaimLineInput: Content {
    var item: String?
    var yuan: Decimal?
}

struct LegalCaseInput: Content {
    var appealId: Int?
    var orgId: Int?
    var kind: String?
    var applicantName: String?
    var phone: String?
    var idNumber: String?
    var memberId: Int?
    var migrant: Bool?
    var employerName: String?
    var claimType: String?
    var claimYuan: Decimal?
    var claims: [ClaimLineInput]?
    var incomePerHeadYuan: Decimal?
    var workers: Int?
    var knewOn: String?
}

struct LegalCaseDTO: Content {
    let id: Int
    let orgId: Int
    let orgName: String?
    let appealId: Int?
    let kind: String
    let state: String
    let applicantName: String
    let idNumberMasked: String?
    let phone: String?
    let migrant: Bool
    let employerName: String
    let claimType: String
    let claimYuan: Decimal
    let workers: Int
    let groupCase: Bool
    let knewOn: String?
    let limitationEndsOn: String?
    let openedOn: String
    let decisionDueOn: String
    let suggestedEligible: Bool
    let eligible: Bool?
    let decidedOn: String?
    let refusal: String?
    let lawyerId: Int?
    let mediationOn: String?
    let mediationDueOn: String?
    let arbitrationOn: String?
    let awardDueOn: String?
    let extended: Bool
    let litigationOn: String?
    let outcome: String?
    let recoveredYuan: Decimal
    let closedOn: String?
    let report: String?
    let deadlines: [DeadlineDTO]?

    init(_ c: LegalCase, orgName: String?, idMasked: String?, deadlines: [Deadline]? = nil) {
        id = c.id ?? 0
        orgId = c.orgID
        self.orgName = orgName
        appealId = c.appealID
        kind = c.kind.rawValue
        state = c.state.rawValue
        applicantName = c.applicantName
        idNumberMasked = idMasked
        phone = c.phone
        migrant = c.migrant
        employerName = c.employerName
        claimType = c.claimType
        claimYuan = Decimal(fen: c.claimFen)
        workers = c.workers
        groupCase = c.isGroup
        knewOn = c.knewOn
        limitationEndsOn = c.limitationEndsOn
        openedOn = c.openedOn
        decisionDueOn = c.decisionDueOn
        suggestedEligible = c.suggested
        eligible = c.eligible
        decidedOn = c.decidedOn
        refusal = c.refusal
        lawyerId = c.lawyerID
        mediationOn = c.mediationOn
        mediationDueOn = c.mediationDueOn
        arbitrationOn = c.arbitrationOn
        awardDueOn = c.awardDueOn
        extended = c.extended
        litigationOn = c.litigationOn
        outcome = c.outcome?.rawValue
        recoveredYuan = Decimal(fen: c.recoveredFen)
        closedOn = c.closedOn
        report = c.report
        self.deadlines = deadlines?.map { DeadlineDTO(clock: $0.clock, dueOn: $0.dueOn, rule: $0.rule, warnFrom: $0.warnFrom) }
    }
}

/// `/api/v1/legal-cases`: open a case (from an appeal in one step, or at the desk), decide legal aid,
/// assign a lawyer, mediate, arbitrate, close with what was recovered.
struct LegalCaseController: RouteCollection {
    static let claimTypes = ["wage", "injury", "contract", "socialInsurance", "other"]

    func boot(routes: any RoutesBuilder) throws {
        let c = routes.grouped("legal-cases")
        c.post(use: create)
        c.get(use: list)
        c.get(":id", use: show)
        c.post(":id", "actions", use: act)
        c.post(":id", "reveal", use: reveal)
    }

    static func writes(_ scope: Scope) -> Bool { scope.role.editsOwnOrg || scope.role == .hotlineAgent }

    static func legalCase(_ req: Request, _ id: Int, on db: (any Database)? = nil) async throws -> (LegalCase, Organization) {
        guard let c = try await LegalCase.find(id, on: db ?? req.db) else { throw AppError.notFound }
        return (c, try await req.scope.org(c.orgID, on: db ?? req.db))
    }

    @Sendable func create(req: Request) async throws -> Response {
        let c = try await Self.make(req, try req.content.decode(LegalCaseInput.self))
        return try await CreatedDTO(id: c.requireID(), state: c.state.rawValue).encodeResponse(status: .created, for: req)
    }

    static func make(_ req: Request, _ input: LegalCaseInput) async throws -> LegalCase {
        let scope = try req.scope
        try scope.require(Self.writes(scope))
        let today = ShanghaiClock.today()
        var appeal: Appeal?
        if let aid = input.appealId {
            guard let a = try await Appeal.find(aid, on: req.db), (try? await scope.org(a.orgID, on: req.db)) != nil else {
                throw AppError.invalid([FieldIssue("appealId", "notFound", "error.field.notFound")])
            }
            appeal = a
        }
        var v = Validator()
        let kind = input.kind.flatMap(LegalCaseKind.init(rawValue:))
        if input.kind == nil { v.add("kind", "required") } else if kind == nil {
            v.add("kind", "unknown", "error.field.oneOf", ["values": LegalCaseKind.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        let name = v.text(input.applicantName ?? appeal?.name, "applicantName", required: true, max: 50)
        let employer = v.text(input.employerName ?? appeal?.employerName, "employerName", required: true, max: 100)
        var phone: String?
        if let raw = input.phone, !raw.isEmpty {
            if let p = try? PhoneNumber(parsing: raw) { phone = p.value } else { v.add("phone", "format", "error.member.phone.format") }
        } else if let p = appeal?.phone { phone = p } else { v.add("phone", "required") }
        var idNumber: ResidentID?
        if let raw = input.idNumber, !raw.isEmpty {
            do { idNumber = try ResidentID(parsing: raw, today: today, minimumAge: 0) } catch { v.add("idNumber", "format", "error.member.idNumber.format") }
        }
        let claimType = input.claimType ?? "wage"
        if !Self.claimTypes.contains(claimType) { v.add("claimType", "unknown", "error.field.oneOf", ["values": Self.claimTypes.joined(separator: ", ")]) }
        var lines: [[String: String]] = []
        var sum: Int64 = 0
        for (i, line) in (input.claims ?? []).enumerated() {
            let item = v.text(line.item, "claims[\(i)].item", required: true, max: 100)
            if let fen = v.yuan(line.yuan, "claims[\(i)].yuan", required: true, positive: false) { sum += fen; lines.append(["item": item ?? "", "fen": String(fen)]) }
        }
        if (input.claims ?? []).count > 50 { v.add("claims", "tooMany", nil, ["max": "50"]) }
        var claim = v.yuan(input.claimYuan, "claimYuan", required: input.claims == nil && appeal == nil, positive: false)
        if claim == nil, input.claims == nil, let a = appeal { claim = Int64(a.amountFen) }
        if let claim, !lines.isEmpty, claim != sum { v.add("claimYuan", "sum", "rights.error.case.claimSum", ["sum": Decimal(fen: sum).description]) }
        let income = v.yuan(input.incomePerHeadYuan, "incomePerHeadYuan", positive: false)
        let workers = input.workers ?? appeal?.peopleAffected ?? 1
        if !(1...100_000).contains(workers) { v.add("workers", "range", nil, ["min": "1", "max": "100000"]) }
        let knew = RightsRules.day(input.knewOn, "knewOn", today: today, &v)
        try v.check()
        let org = try await scope.org(input.orgId ?? appeal?.orgID ?? scope.rootID, on: req.db)
        let rule = try await Self.rule(for: org, on: req.db)
        let calendar = try await AppealService.calendar(on: req.db)
        let c = LegalCase()
        c.orgID = try org.requireID()
        c.appealID = appeal?.id
        c.kind = kind!
        c.state = .received
        c.applicantName = name!
        c.memberID = input.memberId ?? appeal?.memberID
        if let idNumber {
            c.idCipher = try req.fieldCipher.seal(idNumber.value)
            c.idIndex = req.fieldCipher.blindIndex(idNumber.value)
        }
        c.phone = phone
        c.migrant = input.migrant ?? false
        c.employerName = employer!
        c.enterpriseID = appeal?.enterpriseID
        c.claimType = claimType
        c.claims = lines.isEmpty ? nil : String(decoding: try JSONSerialization.data(withJSONObject: lines, options: [.sortedKeys]), as: UTF8.self)
        c.claimFen = claim ?? sum
        c.incomePerHeadFen = income
        c.workers = workers
        c.knewOn = knew?.description
        let limit = knew?.adding(years: 1)
        c.limitationEndsOn = limit?.description
        c.openedOn = today.description
        let decision = Deadlines.due(after: today, days: rule.decisionWorkingDays, rule: .working, calendar: calendar)
        c.decisionDueOn = decision.description
        c.suggested = rule.suggests(claimFen: c.claimFen, incomePerHeadFen: income, migrant: c.migrant, claimType: claimType)
        c.extended = false
        c.recoveredFen = 0
        c.staffID = scope.staffID
        let source = appeal
        try await req.db.transaction { tx in
            if let a = source {
                try await tx.lock("appeal-case:\(try a.requireID())")
                if try await LegalCase.query(on: tx).filter(\.$appealID == a.requireID()).count() > 0 {
                    throw AppError.conflict("rights.error.case.appealTaken", fields: [FieldIssue("appealId", "taken", "rights.error.case.appealTaken")])
                }
            }
            try await c.create(on: tx)
            let title = "\(c.applicantName) · \(c.employerName)"
            try await Deadlines.set(c.subject, "decision", org: c.orgID, title: title, dueOn: decision, rule: .working, on: tx)
            if let limit {
                try await Deadlines.set(c.subject, "limitation", org: c.orgID, title: title, dueOn: limit,
                                        warnFrom: limit.adding(days: -RightsRules.limitationWarnDays), on: tx)
            }
            if let a = source {
                try await AppealEvent(appealID: a.requireID(), kind: "legalCase", text: req.t("rights.case.fromAppeal", ["id": String(try c.requireID())]),
                                      internal: true, staffID: scope.staffID).create(on: tx)
            }
            try await req.audit.record("rights.case.create", targetType: "legalCase", targetID: c.id, org: org,
                                       details: ["kind": c.kind.rawValue, "appeal": source?.id.map(String.init) ?? ""], on: tx)
        }
        return c
    }

    /// The nearest rule up the tree (the district's, else the city's), else the standard one.
    static func rule(for org: Organization, on db: any Database) async throws -> LegalAidRule {
        let ids = org.path.split(separator: "/").compactMap { Int($0) }
        let rules = try await LegalAidRule.query(on: db).filter(\.$orgID ~~ (ids.isEmpty ? [org.id ?? 0] : ids)).all()
        let depth = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        return rules.max { (depth[$0.orgID] ?? -1) < (depth[$1.orgID] ?? -1) } ?? .standard(org: org.id ?? 0)
    }

    @Sendable func show(req: Request) async throws -> LegalCaseDTO {
        let (c, org) = try await Self.legalCase(req, try req.idParameter())
        return LegalCaseDTO(c, orgName: org.name, idMasked: Self.masked(c, req), deadlines: try await Deadlines.open(c.subject, on: req.db))
    }

    static func masked(_ c: LegalCase, _ req: Request) -> String? {
        c.idCipher.flatMap { try? req.fieldCipher.open($0) }.map(ResidentID.mask)
    }

    /// The applicant's whole ID number: a permission, and an audit line every time.
    @Sendable func reveal(req: Request) async throws -> [String: String] {
        let scope = try req.scope
        let (c, org) = try await Self.legalCase(req, try req.idParameter())
        try scope.require(scope.role.revealsIDNumbers)
        try await req.audit.record("rights.case.reveal", targetType: "legalCase", targetID: c.id, org: org)
        return ["idNumber": try c.idCipher.map { try req.fieldCipher.open($0) } ?? ""]
    }

    @Sendable func act(req: Request) async throws -> LegalCaseDTO {
        try await Self.perform(req, try req.idParameter(), try req.content.decode(LegalCaseActionInput.self))
        return try await show(req: req)
    }

    static func perform(_ req: Request, _ id: Int, _ input: LegalCaseActionInput) async throws {
        let scope = try req.scope
        try scope.require(Self.writes(scope))
        _ = try await Self.legalCase(req, id)
        let calendar = try await AppealService.calendar(on: req.db)
        try await req.db.transaction { tx in
            try await tx.lock("legal-case:\(id)")
            let (c, org) = try await Self.legalCase(req, id, on: tx)
            try await LegalCaseActions.apply(input, to: c, org: org, staffID: scope.staffID, today: ShanghaiClock.today(), calendar: calendar, on: tx)
            try await req.audit.record("rights.case.\(input.action ?? "")", targetType: "legalCase", targetID: id, org: org,
                                       details: ["state": c.state.rawValue], on: tx)
        }
    }

    @Sendable func list(req: Request) async throws -> Paged<LegalCaseDTO> {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let paging = PageRequest(from: req, &v)
        let state = req.query[String.self, at: "state"].flatMap { $0.isEmpty ? nil : $0 }
        if let state, LegalCaseState(rawValue: state) == nil {
            v.add("state", "unknown", "error.field.oneOf", ["values": LegalCaseState.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        var q = LegalCase.query(on: req.db).join(Organization.self, on: \LegalCase.$orgID == \Organization.$id).joinedUnder(root)
        if let state { q = q.filter(\.$state == LegalCaseState(rawValue: state)!) }
        let total = try await q.count()
        let rows = try await q.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let names = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        return Paged(items: rows.map { LegalCaseDTO($0, orgName: names[$0.orgID]?.name, idMasked: Self.masked($0, req)) },
                     page: paging.page, per: paging.per, total: total)
    }
}
