import Fluent
import Foundation
import GonghuiCore
import Vapor

struct LawyerInput: Content {
    var orgId: Int?
    var name: String?
    var firm: String?
    var phone: String?
}

struct LawyerDTO: Content {
    let id: Int
    let orgId: Int
    let name: String
    let firm: String
    let phone: String?
    let active: Bool
    let openCases: Int
}

struct LegalAidRuleInput: Content {
    var minClaimYuan: Decimal?
    var incomeLimitYuan: Decimal?
    var migrantExempt: Bool?
    var decisionWorkingDays: Int?
}

struct MotionInput: Content {
    var title: String?
    var filedBy: String?
    var date: String?
}

struct MotionActionInput: Content {
    /// accept, reject, assign, answer, rate
    var action: String?
    var assignedTo: String?
    var answer: String?
    var satisfaction: Int?
    var date: String?
}

struct DisclosureInput: Content {
    var orgId: Int?
    var congressId: Int?
    var title: String?
    var date: String?
}

/// The lawyers' roster, the legal-aid rule, congress motions and 厂务公开 disclosures.
struct RightsRosterController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("legal-aid-lawyers", use: addLawyer)
        routes.get("legal-aid-lawyers", use: lawyers)
        routes.put("orgs", ":id", "legal-aid-rule", use: setRule)
        routes.post("congresses", ":id", "motions", use: fileMotion)
        routes.post("congress-motions", ":id", "actions", use: motionAction)
        routes.post("workplace-disclosures", use: disclose)
    }

    @Sendable func addLawyer(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.managesOrgs)
        let input = try req.content.decode(LawyerInput.self)
        var v = Validator()
        let name = v.text(input.name, "name", required: true, max: 50)
        let firm = v.text(input.firm, "firm", required: true, max: 100)
        var phone: String?
        if let raw = input.phone, !raw.isEmpty { if let p = ContactPhone.normalise(raw) { phone = p } else { v.add("phone", "format", "error.field.phone") } }
        try v.check()
        let org = try await scope.org(input.orgId ?? scope.rootID, on: req.db)
        let l = Lawyer()
        l.orgID = try org.requireID()
        l.name = name!
        l.firm = firm!
        l.phone = phone
        l.active = true
        try await l.create(on: req.db)
        try await req.audit.record("rights.lawyer.add", targetType: "lawyer", targetID: l.id, org: org)
        return try await CreatedDTO(id: l.requireID(), state: "active").encodeResponse(status: .created, for: req)
    }

    @Sendable func lawyers(req: Request) async throws -> [LawyerDTO] {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        try v.check()
        let org = try await scope.org(orgID ?? scope.rootID, on: req.db)
        // The roster of this unit and of every unit above it inside the scope, and below it.
        let above = TreePath(org.path).ids
        let rows = try await Lawyer.query(on: req.db).join(Organization.self, on: \Lawyer.$orgID == \Organization.$id)
            .group(.or) { g in
                g.filter(\.$orgID ~~ above)
                g.group(.and) { $0.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound) }
            }.sort(\.$name).limit(500).all()
        var out: [LawyerDTO] = []
        for l in rows where scope.contains((try? l.joined(Organization.self).path) ?? "") || above.contains(l.orgID) {
            let open = try await LegalCase.query(on: req.db).filter(\.$lawyerID == l.requireID()).filter(\.$state ~~ LegalCaseActions.working).count()
            out.append(LawyerDTO(id: try l.requireID(), orgId: l.orgID, name: l.name, firm: l.firm, phone: l.phone, active: l.active, openCases: open))
        }
        return out
    }

    @Sendable func setRule(req: Request) async throws -> Response {
        let scope = try req.scope
        let org = try await scope.org(try req.idParameter(), on: req.db)
        try scope.require(scope.role.managesOrgs && (org.kind == .city || org.kind == .district))
        let input = try req.content.decode(LegalAidRuleInput.self)
        var v = Validator()
        let minClaim = v.yuan(input.minClaimYuan, "minClaimYuan", required: true, positive: false)
        let limit = v.yuan(input.incomeLimitYuan, "incomeLimitYuan", required: true, positive: false)
        let days = input.decisionWorkingDays ?? 5
        if !(1...30).contains(days) { v.add("decisionWorkingDays", "range", nil, ["min": "1", "max": "30"]) }
        try v.check()
        let rule = try await LegalAidRule.query(on: req.db).filter(\.$orgID == org.requireID()).first() ?? LegalAidRule.standard(org: try org.requireID())
        rule.minClaimFen = minClaim!
        rule.incomeLimitFen = limit!
        rule.migrantExempt = input.migrantExempt ?? true
        rule.decisionWorkingDays = days
        try await rule.save(on: req.db)
        try await req.audit.record("rights.legalAidRule.set", targetType: "org", targetID: org.id, org: org,
                                   details: ["minClaimFen": String(minClaim!), "incomeLimitFen": String(limit!)])
        return try await ["orgId": try org.requireID(), "decisionWorkingDays": days].encodeResponse(for: req)
    }

    @Sendable func fileMotion(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        let (c, org) = try await CongressController.congress(req, try req.idParameter())
        let input = try req.content.decode(MotionInput.self)
        var v = Validator()
        let title = v.text(input.title, "title", required: true, max: 200)
        let by = v.text(input.filedBy, "filedBy", required: false, max: 100)
        let day = RightsRules.day(input.date, "date", today: ShanghaiClock.today(), &v) ?? ShanghaiClock.today()
        try v.check()
        let m = CongressMotion()
        m.congressID = try c.requireID()
        m.title = title!
        m.filedBy = by
        m.state = "filed"
        m.filedOn = day.description
        try await m.create(on: req.db)
        try await req.audit.record("rights.motion.file", targetType: "congress", targetID: c.id, org: org)
        return try await CreatedDTO(id: m.requireID(), state: m.state).encodeResponse(status: .created, for: req)
    }

    static let motionSteps: [String: (from: [String], to: String)] = [
        "accept": (["filed"], "accepted"), "reject": (["filed"], "rejected"), "assign": (["accepted"], "assigned"),
        "answer": (["assigned"], "answered"), "rate": (["answered"], "answered"),
    ]

    @Sendable func motionAction(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        guard let m = try await CongressMotion.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        let (_, org) = try await CongressController.congress(req, m.congressID)
        let input = try req.content.decode(MotionActionInput.self)
        var v = Validator()
        guard let action = input.action, let step = Self.motionSteps[action] else {
            v.add("action", input.action == nil ? "required" : "unknown", input.action == nil ? nil : "error.field.oneOf",
                  ["values": Self.motionSteps.keys.sorted().joined(separator: ", ")])
            try v.check()
            return Response(status: .badRequest)
        }
        guard step.from.contains(m.state) else {
            throw AppError.conflict("rights.error.motion.step", args: ["action": action, "state": m.state],
                                    fields: [FieldIssue("action", "state", "rights.error.motion.step", ["action": action, "state": m.state])])
        }
        switch action {
        case "assign": m.assignedTo = v.text(input.assignedTo, "assignedTo", required: true, max: 100)
        case "answer":
            m.answer = v.text(input.answer, "answer", required: true, max: 2000)
            m.answeredOn = (RightsRules.day(input.date, "date", today: ShanghaiClock.today(), &v) ?? ShanghaiClock.today()).description
        case "rate":
            if let s = input.satisfaction, (1...5).contains(s) { m.satisfaction = s } else { v.add("satisfaction", "range", nil, ["min": "1", "max": "5"]) }
        default: break
        }
        try v.check()
        m.state = step.to
        try await m.save(on: req.db)
        try await req.audit.record("rights.motion.\(action)", targetType: "congressMotion", targetID: m.id, org: org)
        return try await CreatedDTO(id: m.requireID(), state: m.state).encodeResponse(for: req)
    }

    @Sendable func disclose(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        let input = try req.content.decode(DisclosureInput.self)
        var v = Validator()
        let title = v.text(input.title, "title", required: true, max: 200)
        let day = RightsRules.day(input.date, "date", today: ShanghaiClock.today(), &v) ?? ShanghaiClock.today()
        try v.check()
        let org = try await scope.org(input.orgId ?? scope.rootID, on: req.db)
        if let cid = input.congressId {
            guard let c = try await Congress.find(cid, on: req.db), c.orgID == org.id else {
                throw AppError.invalid([FieldIssue("congressId", "notFound", "error.field.notFound")])
            }
        }
        let d = Disclosure()
        d.orgID = try org.requireID()
        d.congressID = input.congressId
        let firms = try await Enterprise.query(on: req.db).filter(\.$unionOrgID == org.requireID()).limit(2).all()
        d.enterpriseID = firms.count == 1 ? firms[0].id : nil
        d.title = title!
        d.disclosedOn = day.description
        d.staffID = scope.staffID
        try await req.db.transaction { tx in
            try await d.create(on: tx)
            // This year's disclosure is made: every congress of the unit owes the next one next year.
            if day.year == ShanghaiClock.today().year {
                for c in try await Congress.query(on: tx).filter(\.$orgID == org.requireID()).filter(\.$endsOn >= day.description).all() {
                    try await CongressController.yearlyClocks(c, year: day.year + 1, clocks: ["disclosure"], on: tx)
                }
            }
            try await req.audit.record("rights.disclosure", targetType: "org", targetID: org.id, org: org, on: tx)
        }
        return try await CreatedDTO(id: d.requireID(), state: "disclosed").encodeResponse(status: .created, for: req)
    }
}
