import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct CongressInput: Content {
    var orgId: Int?
    var termYears: Int?
    var startsOn: String?
    var employees: Int?
    var kind: String?
}

struct RepresentativeSeatInput: Content {
    var memberId: Int?
    var category: String?
    var constituency: String?
    var date: String?
}

struct SessionInput: Content {
    var date: String?
    var present: Int?
}

struct ResolutionInput: Content {
    var title: String?
    var `for`: Int?
    var against: Int?
    var abstain: Int?
}

struct CongressDTO: Content {
    let id: Int
    let orgId: Int
    let orgName: String?
    let kind: String
    let termYears: Int
    let startsOn: String
    let endsOn: String
    let employees: Int
    let representatives: Int
    let byCategory: [String: Int]
    /// The checks the law asks for, shown, not enforced: fewer than 5% of employees or 30 seats,
    /// managers over 20%, no session this year.
    let warnings: [String]
    let lastSessionOn: String?
    let sessions: [SessionDTO]?
}

struct SessionDTO: Content {
    let id: Int
    let date: String
    let present: Int
    let seated: Int
    let quorum: Bool
    let resolutions: [ResolutionDTO]?
}

struct ResolutionDTO: Content {
    let id: Int
    let title: String
    let `for`: Int
    let against: Int
    let abstain: Int
    let passed: Bool
    let contractId: Int?
}

/// `/api/v1/congresses`, their representatives and sessions, and `/api/v1/congress-sessions/{id}/resolutions`.
struct CongressController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let c = routes.grouped("congresses")
        c.post(use: create)
        c.get(use: list)
        c.get(":id", use: show)
        c.post(":id", "representatives", use: seat)
        c.post(":id", "sessions", use: session)
        routes.post("congress-sessions", ":id", "resolutions", use: resolve)
    }

    static func congress(_ req: Request, _ id: Int) async throws -> (Congress, Organization) {
        guard let c = try await Congress.find(id, on: req.db) else { throw AppError.notFound }
        return (c, try await req.scope.org(c.orgID, on: req.db))
    }

    static func seated(_ c: Congress, on day: String, db: any Database) async throws -> Int {
        if c.isAssembly { return c.employees }
        return try await CongressRepresentative.query(on: db).filter(\.$congressID == c.requireID()).filter(\.$seatedOn <= day)
            .group(.or) { $0.filter(\.$leftOn == nil).filter(\.$leftOn > day) }.count()
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        let input = try req.content.decode(CongressInput.self)
        let today = ShanghaiClock.today()
        var v = Validator()
        if let t = input.termYears { if !RightsRules.congressTermYears.contains(t) { v.add("termYears", "range", nil, ["min": "3", "max": "5"]) } } else { v.add("termYears", "required") }
        let starts = RightsRules.day(input.startsOn, "startsOn", today: today, future: true, &v) ?? today
        if let e = input.employees, !(1...10_000_000).contains(e) { v.add("employees", "range", nil, ["min": "1", "max": "10000000"]) }
        if let k = input.kind, !["congress", "assembly"].contains(k) { v.add("kind", "unknown", "error.field.oneOf", ["values": "congress, assembly"]) }
        try v.check()
        let org = try await scope.org(input.orgId ?? scope.rootID, on: req.db)
        // Summed here: PostgreSQL answers SUM of integers as NUMERIC, which does not decode as Int.
        let firms = try await Enterprise.query(on: req.db).filter(\.$unionOrgID == org.requireID()).sort(\.$id).limit(1000).all()
        let headcount = firms.reduce(0) { $0 + $1.headcount }
        let employees = input.employees ?? max(headcount, 1)
        let c = Congress()
        c.orgID = try org.requireID()
        c.enterpriseID = firms.count == 1 ? firms[0].id : nil
        c.kind = input.kind ?? (employees < RightsRules.assemblyBelow ? "assembly" : "congress")
        c.termYears = input.termYears!
        c.startsOn = starts.description
        c.endsOn = starts.adding(years: c.termYears).adding(days: -1).description
        c.employees = employees
        c.staffID = scope.staffID
        try await req.db.transaction { tx in
            try await c.create(on: tx)
            try await Self.yearlyClocks(c, year: max(today.year, starts.year), on: tx)
            try await req.audit.record("rights.congress.create", targetType: "congress", targetID: c.id, org: org, details: ["kind": c.kind], on: tx)
        }
        return try await CreatedDTO(id: c.requireID(), state: c.kind).encodeResponse(status: .created, for: req)
    }

    /// A session and a 厂务公开 disclosure are owed by the end of each year of the term.
    static func yearlyClocks(_ c: Congress, year: Int, clocks: [String] = ["session", "disclosure"], on db: any Database) async throws {
        // Not for a year after the term: the next congress owes that one.
        guard let end = try? CalendarDate(year: year, month: 12, day: 31), "\(year)-01-01" <= c.endsOn else { return }
        let org = try await Organization.find(c.orgID, on: db)
        let title = org?.name ?? ""
        for clock in clocks { try await Deadlines.set(c.subject, clock, org: c.orgID, title: title, dueOn: end, warnFrom: end.adding(months: -3), on: db) }
    }

    @Sendable func seat(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        let (c, org) = try await Self.congress(req, try req.idParameter())
        let input = try req.content.decode(RepresentativeSeatInput.self)
        var v = Validator()
        let category = input.category.flatMap(RepresentativeCategory.init(rawValue:))
        if input.category == nil { v.add("category", "required") } else if category == nil {
            v.add("category", "unknown", "error.field.oneOf", ["values": RepresentativeCategory.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        if input.memberId == nil { v.add("memberId", "required") }
        let constituency = v.text(input.constituency, "constituency", required: false, max: 50)
        let day = RightsRules.day(input.date, "date", today: ShanghaiClock.today(), &v) ?? ShanghaiClock.today()
        if day.description < c.startsOn { v.add("date", "order", "rights.error.congress.beforeTerm", ["starts": c.startsOn]) }
        try v.check()
        if c.isAssembly { throw AppError.conflict("rights.error.congress.assembly", fields: [FieldIssue("memberId", "assembly", "rights.error.congress.assembly")]) }
        // A member of this union (or of a union under it, for a regional congress), still a member.
        guard let member = try await Member.query(on: req.db).filter(\.$id == input.memberId!).filter(\.$status == .active)
            .join(Organization.self, on: \Member.$orgID == \Organization.$id)
            .filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound).first() else {
            throw AppError.invalid([FieldIssue("memberId", "notFound", "rights.error.congress.notMember")])
        }
        let rep = CongressRepresentative()
        try await req.db.transaction { tx in
            try await tx.lock("congress:\(try c.requireID())")
            let taken = try await CongressRepresentative.query(on: tx).filter(\.$congressID == c.requireID()).filter(\.$memberID == member.requireID())
                .filter(\.$leftOn == nil).count()
            if taken > 0 {
                throw AppError.conflict("rights.error.congress.seated", args: ["name": member.name], fields: [FieldIssue("memberId", "taken", "rights.error.congress.seated", ["name": member.name])])
            }
            rep.congressID = try c.requireID()
            rep.memberID = try member.requireID()
            rep.category = category!
            rep.constituency = constituency
            rep.seatedOn = day.description
            try await rep.create(on: tx)
            try await req.audit.record("rights.congress.seat", targetType: "congress", targetID: c.id, org: org, details: ["category": category!.rawValue], on: tx)
        }
        let dto = try await Self.dto(c, org: org, sessions: false, on: req.db, lang: req)
        return try await SeatDTO(id: rep.requireID(), representatives: dto.representatives, warnings: dto.warnings).encodeResponse(status: .created, for: req)
    }

    struct ResolutionCreated: Content {
        let id: Int
        let passed: Bool
    }

    struct SeatDTO: Content {
        let id: Int
        let representatives: Int
        let warnings: [String]
    }

    @Sendable func session(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        let (c, org) = try await Self.congress(req, try req.idParameter())
        let input = try req.content.decode(SessionInput.self)
        var v = Validator()
        let day = RightsRules.day(input.date, "date", today: ShanghaiClock.today(), required: true, &v)
        if let day, day.description < c.startsOn { v.add("date", "order", "rights.error.congress.beforeTerm", ["starts": c.startsOn]) }
        if let day, day.description > c.endsOn { v.add("date", "order", "rights.error.congress.afterTerm", ["ends": c.endsOn]) }
        if input.present == nil { v.add("present", "required") }
        try v.check()
        let seated = try await Self.seated(c, on: day!.description, db: req.db)
        if let p = input.present, p < 0 || p > seated {
            throw AppError.invalid([FieldIssue("present", "range", "rights.error.congress.present", ["seated": String(seated)])])
        }
        let s = CongressSession()
        s.congressID = try c.requireID()
        s.heldOn = day!.description
        s.present = input.present!
        s.seated = seated
        s.quorum = CongressSession.quorate(present: s.present, seated: seated)
        s.staffID = scope.staffID
        try await req.db.transaction { tx in
            try await s.create(on: tx)
            let today = ShanghaiClock.today()
            if day!.year == today.year { try await Self.yearlyClocks(c, year: today.year + 1, clocks: ["session"], on: tx) }
            try await req.audit.record("rights.congress.session", targetType: "congress", targetID: c.id, org: org,
                                       details: ["present": String(s.present), "seated": String(seated)], on: tx)
        }
        return try await SessionDTO(id: s.requireID(), date: s.heldOn, present: s.present, seated: seated, quorum: s.quorum, resolutions: nil)
            .encodeResponse(status: .created, for: req)
    }

    @Sendable func resolve(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        guard let s = try await CongressSession.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        let (c, org) = try await Self.congress(req, s.congressID)
        let input = try req.content.decode(ResolutionInput.self)
        var v = Validator()
        let title = v.text(input.title, "title", required: true, max: 200)
        for (field, n) in [("for", input.for), ("against", input.against), ("abstain", input.abstain)] {
            // Each count at most those present, so their sum cannot overflow before it is checked.
            if let n { if n < 0 || n > s.present { v.add(field, "range", nil, ["min": "0", "max": String(s.present)]) } } else { v.add(field, "required") }
        }
        try v.check()
        let yes = input.for!, no = input.against!, abstain = input.abstain!
        if yes + no + abstain > s.present {
            throw AppError.invalid([FieldIssue("for", "total", "rights.error.congress.votes", ["total": String(yes + no + abstain), "present": String(s.present)])])
        }
        guard s.quorum else {
            throw AppError.conflict("rights.error.congress.noQuorum", args: ["present": String(s.present), "seated": String(s.seated)],
                                    fields: [FieldIssue("session", "quorum", "rights.error.congress.noQuorum", ["present": String(s.present), "seated": String(s.seated)])])
        }
        let r = CongressResolution()
        r.sessionID = try s.requireID()
        r.congressID = try c.requireID()
        r.title = title!
        r.votesFor = yes
        r.votesAgainst = no
        r.votesAbstain = abstain
        r.passed = CongressSession.passes(votesFor: yes, seated: s.seated)
        try await req.db.transaction { tx in
            try await r.create(on: tx)
            try await req.audit.record("rights.congress.resolution", targetType: "congress", targetID: c.id, org: org,
                                       details: ["passed": String(r.passed)], on: tx)
        }
        return try await ResolutionCreated(id: r.requireID(), passed: r.passed).encodeResponse(status: .created, for: req)
    }

    @Sendable func show(req: Request) async throws -> CongressDTO {
        let (c, org) = try await Self.congress(req, try req.idParameter())
        return try await Self.dto(c, org: org, sessions: true, on: req.db, lang: req)
    }

    @Sendable func list(req: Request) async throws -> Paged<CongressDTO> {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        let q = Congress.query(on: req.db).join(Organization.self, on: \Congress.$orgID == \Organization.$id).joinedUnder(root)
        let total = try await q.count()
        let rows = try await q.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        var items: [CongressDTO] = []
        for c in rows { items.append(try await Self.dto(c, org: try? c.joined(Organization.self), sessions: false, on: req.db, lang: req)) }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }

    static func dto(_ c: Congress, org: Organization?, sessions withSessions: Bool, on db: any Database, lang req: Request) async throws -> CongressDTO {
        let id = try c.requireID()
        let reps = try await CongressRepresentative.query(on: db).filter(\.$congressID == id).filter(\.$leftOn == nil).all()
        let byCategory = Dictionary(grouping: reps, by: \.category.rawValue).mapValues(\.count)
        let sessions = try await CongressSession.query(on: db).filter(\.$congressID == id).sort(\.$heldOn, .descending).all()
        let today = ShanghaiClock.today()
        var warnings: [String] = []
        if !c.isAssembly {
            let needed = max(30, (c.employees * 5 + 99) / 100)
            if reps.count < needed { warnings.append(req.t("rights.warn.seats", ["seats": String(reps.count), "needed": String(needed)])) }
            if (byCategory["managerial"] ?? 0) * 5 > reps.count, !reps.isEmpty { warnings.append(req.t("rights.warn.managers")) }
        }
        let thisYear = "\(today.year)-01-01"
        if c.endsOn >= today.description, !sessions.contains(where: { $0.heldOn >= thisYear }) { warnings.append(req.t("rights.warn.noSession")) }
        var sessionDTOs: [SessionDTO]?
        if withSessions {
            let resolutions = Dictionary(grouping: try await CongressResolution.query(on: db).filter(\.$congressID == id).sort(\.$id).all(), by: \.sessionID)
            sessionDTOs = sessions.map { s in
                SessionDTO(id: s.id ?? 0, date: s.heldOn, present: s.present, seated: s.seated, quorum: s.quorum,
                           resolutions: (resolutions[s.id ?? 0] ?? []).map {
                               ResolutionDTO(id: $0.id ?? 0, title: $0.title, for: $0.votesFor, against: $0.votesAgainst, abstain: $0.votesAbstain,
                                             passed: $0.passed, contractId: $0.contractID)
                           })
            }
        }
        return CongressDTO(id: id, orgId: c.orgID, orgName: org?.name, kind: c.kind, termYears: c.termYears, startsOn: c.startsOn, endsOn: c.endsOn,
                           employees: c.employees, representatives: c.isAssembly ? c.employees : reps.count, byCategory: byCategory, warnings: warnings,
                           lastSessionOn: sessions.first?.heldOn, sessions: sessionDTOs)
    }
}
