import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// 职工创新工作室: recognised after review and a site visit, results every year, a yearly acceptance,
/// and grants through the funds ledger that stop for good once an acceptance fails.
final class Studio: Model, @unchecked Sendable {
    static let schema = "studios"

    enum State: String, Codable, Sendable { case applied, reviewed, visited, named, rejected }

    static let levels = ["national", "city", "district", "grassroots"]
    /// The grant plans (§4.3): a 大工匠 studio ¥100,000 a year for three years; city projects
    /// ¥100,000 or ¥50,000; district ¥30,000.
    static let grantKinds: [String: (fen: Int64, years: Int)] = ["craftsman": (10_000_000, 3), "cityA": (10_000_000, 1), "cityB": (5_000_000, 1),
                                                                 "district": (3_000_000, 1), "none": (0, 0)]

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "name") var name: String
    @Field(key: "level") var level: String
    @OptionalField(key: "leader_member_id") var leaderMemberID: Int?
    @Field(key: "leader_name") var leaderName: String
    @Field(key: "field") var field: String
    @Field(key: "premises") var premises: String
    @Field(key: "state") var state: State
    @Field(key: "grant_kind") var grantKind: String
    @Field(key: "grant_fen") var grantFen: Int64
    @Field(key: "grant_years") var grantYears: Int
    @OptionalField(key: "named_on") var namedOn: String?
    @OptionalField(key: "reason") var reason: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

final class StudioResult: Model, @unchecked Sendable {
    static let schema = "studio_results"
    static let kinds = ["patent", "innovation", "apprentice", "award"]

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "studio_id") var studioID: Int
    @Field(key: "year") var year: Int
    @Field(key: "kind") var kind: String
    @Field(key: "title") var title: String
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

/// A studio's year: its acceptance and its grant (one of each).
final class StudioYear: Model, @unchecked Sendable {
    static let schema = "studio_years"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "studio_id") var studioID: Int
    @Field(key: "year") var year: Int
    @OptionalField(key: "accepted") var accepted: Bool?
    @Field(key: "results") var results: Int
    @OptionalField(key: "accepted_on") var acceptedOn: String?
    @Field(key: "grant_fen") var grantFen: Int64
    @OptionalField(key: "fund_entry_id") var fundEntryID: Int?
    @OptionalField(key: "staff_id") var staffID: Int?

    init() {}
}

struct StudioInput: Content {
    var orgId: Int?
    var name: String?
    var level: String?
    var leaderMemberId: Int?
    var field: String?
    var premises: String?
    var memberIds: [Int]?
    var grantKind: String?
}

struct StudioActionInput: Content {
    var action: String?
    var year: Int?
    var reason: String?
}

struct StudioResultInput: Content {
    var year: Int?
    var kind: String?
    var title: String?
}

struct StudioYearDTO: Content {
    let year: Int
    let results: Int
    let accepted: Bool?
    let grantYuan: Decimal
}

struct StudioDTO: Content {
    let id: Int
    let orgId: Int
    let orgName: String?
    let name: String
    let level: String
    let leaderMemberId: Int?
    let leaderName: String
    let field: String
    let premises: String
    let members: Int
    let state: String
    let grantKind: String
    let grantYuanPerYear: Decimal
    let grantYears: Int
    let namedOn: String?
    let grantedYuan: Decimal
    let years: [StudioYearDTO]
}

enum Studios {
    static let actions = ["review", "visit", "name", "reject", "acceptance", "grant"]
    /// The results a studio must show in a year to pass its acceptance (§4.3: 1–2 a year).
    static let defaultMinResults = 1

    static func minResults(on db: any Database) async throws -> Int {
        let row = try await db.sql.raw("SELECT value FROM development_settings WHERE key = 'studioMinResults'").first()
        return try row.flatMap { Int(try $0.decode(column: "value", as: String.self)) } ?? defaultMinResults
    }

    static func setMinResults(_ n: Int, on db: any Database) async throws {
        try await db.sql.raw("DELETE FROM development_settings WHERE key = 'studioMinResults'").run()
        try await db.sql.raw("INSERT INTO development_settings (key, value) VALUES ('studioMinResults', \(bind: String(n)))").run()
    }

    static func create(_ req: Request, _ input: StudioInput) async throws -> Studio {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        var v = Validator()
        let name = v.text(input.name, "name", required: true, max: 100)
        let level = input.level ?? "grassroots"
        if !Studio.levels.contains(level) { v.add("level", "unknown", "error.field.oneOf", ["values": Studio.levels.joined(separator: ", ")]) }
        let field = v.text(input.field, "field", required: true, max: 100)
        let premises = v.text(input.premises, "premises", required: false, max: 200)
        let grantKind = input.grantKind ?? "none"
        if Studio.grantKinds[grantKind] == nil { v.add("grantKind", "unknown", "error.field.oneOf", ["values": Studio.grantKinds.keys.sorted().joined(separator: ", ")]) }
        var found: Member?
        if let id = input.leaderMemberId {
            found = try await Member.find(id, on: req.db)
            if found == nil || found?.status != .active { v.add("leaderMemberId", "notActive", "honour.error.notActive") }
        } else { v.add("leaderMemberId", "required") }
        let memberIDs = Array(Set(input.memberIds ?? [])).prefix(200)
        if (input.memberIds ?? []).count > 200 { v.add("memberIds", "tooMany", "honour.error.tooManyMembers") }
        try v.check()
        let leader = found
        let org = try await scope.org(input.orgId ?? leader!.orgID, on: req.db)
        guard let leaderOrg = try await Organization.find(leader!.orgID, on: req.db), scope.root.contains(leaderOrg.treePath) else {
            throw AppError.invalid([FieldIssue("leaderMemberId", "outOfScope", "honour.error.outOfScope")])
        }
        let members = try await Member.query(on: req.db).filter(\.$id ~~ Array(memberIDs)).filter(\.$status == .active).all()
        if members.count != memberIDs.count { throw AppError.invalid([FieldIssue("memberIds", "notActive", "honour.error.notActive")]) }
        let plan = Studio.grantKinds[grantKind]!
        return try await req.db.transaction { tx in
            let s = Studio()
            s.orgID = try org.requireID()
            s.name = name!
            s.level = level
            s.leaderMemberID = leader!.id
            s.leaderName = leader!.name
            s.field = field!
            s.premises = premises ?? ""
            s.state = .applied
            s.grantKind = grantKind
            s.grantFen = plan.fen
            s.grantYears = plan.years
            s.staffID = scope.staffID
            try await s.create(on: tx)
            for m in members {
                try await (tx as! any SQLDatabase).raw("INSERT INTO studio_members (studio_id, member_id) VALUES (\(bind: s.requireID()), \(bind: m.requireID()))").run()
            }
            try await req.audit.record("studio.create", targetType: "studio", targetID: s.id, org: org, details: ["name": s.name], on: tx)
            return s
        }
    }

    static func find(_ req: Request, _ id: Int) async throws -> (Studio, Organization) {
        guard let s = try await Studio.find(id, on: req.db) else { throw AppError.notFound }
        return (s, try await req.scope.org(s.orgID, on: req.db))
    }

    static func dto(_ s: Studio, orgName: String?, on db: any Database) async throws -> StudioDTO {
        let id = try s.requireID()
        let years = try await StudioYear.query(on: db).filter(\.$studioID == id).sort(\.$year).all()
        let counts = try await resultCounts(id, on: db)
        let members = try await (db as! any SQLDatabase).raw("SELECT COUNT(*) AS n FROM studio_members WHERE studio_id = \(bind: id)").first()?.decode(column: "n", as: Int.self) ?? 0
        let allYears = Set(years.map(\.year)).union(counts.keys).sorted()
        return StudioDTO(id: id, orgId: s.orgID, orgName: orgName, name: s.name, level: s.level, leaderMemberId: s.leaderMemberID, leaderName: s.leaderName,
                         field: s.field, premises: s.premises, members: members, state: s.state.rawValue, grantKind: s.grantKind,
                         grantYuanPerYear: Decimal(fen: s.grantFen), grantYears: s.grantYears, namedOn: s.namedOn,
                         grantedYuan: Decimal(fen: years.reduce(0) { $0 + $1.grantFen }),
                         years: allYears.map { y in
                             let row = years.first { $0.year == y }
                             return StudioYearDTO(year: y, results: counts[y] ?? 0, accepted: row?.accepted, grantYuan: Decimal(fen: row?.grantFen ?? 0))
                         })
    }

    static func resultCounts(_ studioID: Int, on db: any Database) async throws -> [Int: Int] {
        let rows = try await StudioResult.query(on: db).filter(\.$studioID == studioID).all()
        return Dictionary(grouping: rows, by: \.year).mapValues(\.count)
    }

    static func addResult(_ req: Request, _ s: Studio, _ input: StudioResultInput) async throws -> StudioResult {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        var v = Validator()
        let year = input.year ?? ShanghaiClock.today().year
        if !(2000...2100).contains(year) { v.add("year", "range", "error.field.range", ["min": "2000", "max": "2100"]) }
        if input.kind == nil || !StudioResult.kinds.contains(input.kind!) { v.add("kind", "unknown", "error.field.oneOf", ["values": StudioResult.kinds.joined(separator: ", ")]) }
        let title = v.text(input.title, "title", required: true, max: 200)
        try v.check()
        guard s.state == .named else { throw NominationActions.conflict("studio.error.notNamed") }
        let r = StudioResult()
        r.studioID = try s.requireID()
        r.year = year
        r.kind = input.kind!
        r.title = title!
        r.staffID = scope.staffID
        try await r.create(on: req.db)
        try await req.audit.record("studio.result", targetType: "studio", targetID: s.id, details: ["year": String(year), "kind": r.kind])
        return r
    }

    static func perform(_ req: Request, _ s: Studio, _ org: Organization, _ input: StudioActionInput, today: CalendarDate = ShanghaiClock.today()) async throws {
        let scope = try req.scope
        var v = Validator()
        guard let action = input.action, actions.contains(action) else {
            v.add("action", "unknown", "error.field.oneOf", ["values": actions.joined(separator: ", ")])
            try v.check()
            return
        }
        // recognition and money are the federation's (street and above), not the studio's own union
        try scope.require(scope.role.managesOrgs)
        let steps: [String: (from: Studio.State, to: Studio.State)] = ["review": (.applied, .reviewed), "visit": (.reviewed, .visited), "name": (.visited, .named)]
        if let step = steps[action] {
            guard s.state == step.from else { throw NominationActions.conflict("studio.error.state") }
            try await req.db.transaction { tx in
                s.state = step.to
                if step.to == .named { s.namedOn = today.description }
                try await s.save(on: tx)
                try await req.audit.record("studio.\(action)", targetType: "studio", targetID: s.id, org: org, on: tx)
            }
            return
        }
        if action == "reject" {
            guard s.state != .named && s.state != .rejected else { throw NominationActions.conflict("studio.error.state") }
            let reason = v.text(input.reason, "reason", required: true, max: 500)
            try v.check()
            s.state = .rejected
            s.reason = reason
            try await s.save(on: req.db)
            try await req.audit.record("studio.reject", targetType: "studio", targetID: s.id, org: org, details: ["reason": reason!])
            return
        }
        guard s.state == .named, let named = s.namedOn.flatMap({ try? CalendarDate(parsing: $0) }) else { throw NominationActions.conflict("studio.error.notNamed") }
        let year = input.year ?? today.year
        if !(named.year...today.year).contains(year) { v.add("year", "range", "error.field.range", ["min": String(named.year), "max": String(today.year)]) }
        try v.check()
        let studioID = try s.requireID()
        if action == "acceptance" {
            let results = try await resultCounts(studioID, on: req.db)[year] ?? 0
            let minimum = try await minResults(on: req.db)
            try await req.db.transaction { tx in
                try await tx.lock("studio:\(studioID)")
                let row = try await yearRow(studioID, year, on: tx)
                guard row.accepted == nil else { throw NominationActions.conflict("studio.error.accepted", ["year": String(year)]) }
                row.accepted = results >= minimum
                row.results = results
                row.acceptedOn = today.description
                row.staffID = scope.staffID
                try await row.save(on: tx)
                try await req.audit.record("studio.acceptance", targetType: "studio", targetID: s.id, org: org,
                                           details: ["year": String(year), "results": String(results), "passed": String(row.accepted!)], on: tx)
            }
            return
        }
        // grant
        guard s.grantFen > 0, year < named.year + s.grantYears else { throw NominationActions.conflict("studio.error.noPlan", ["year": String(year)]) }
        try await req.db.transaction { tx in
            try await tx.lock("studio:\(studioID)")
            let years = try await StudioYear.query(on: tx).filter(\.$studioID == studioID).all()
            if let failed = years.first(where: { $0.accepted == false }) {
                throw NominationActions.conflict("studio.error.failed", ["year": String(failed.year)])
            }
            if year > named.year, years.first(where: { $0.year == year - 1 })?.accepted != true {
                throw NominationActions.conflict("studio.error.notAccepted", ["year": String(year - 1)])
            }
            let row = try await yearRow(studioID, year, on: tx)
            guard row.fundEntryID == nil else { throw NominationActions.conflict("studio.error.granted", ["year": String(year)]) }
            let payer = try await Organization.find(scope.rootID, on: tx)!
            let fund = try await DevelopmentFunds.fund(payer, year: year, on: tx)
            let context = FundsLedger.Context(staffID: scope.staffID, reason: "\(s.name) \(year)", memberID: s.leaderMemberID, ref: "studio:\(studioID):\(year)")
            try await FundsLedger.reserve(fund, org: payer, fen: s.grantFen, context, on: tx)
            row.fundEntryID = try await FundsLedger.pay(fund, orgID: payer.requireID(), fen: s.grantFen, context, on: tx).id
            row.grantFen = s.grantFen
            try await row.save(on: tx)
            try await req.audit.record("studio.grant", targetType: "studio", targetID: s.id, org: org, details: ["year": String(year), "fen": String(s.grantFen)], on: tx)
        }
    }

    static func yearRow(_ studioID: Int, _ year: Int, on db: any Database) async throws -> StudioYear {
        if let row = try await StudioYear.query(on: db).filter(\.$studioID == studioID).filter(\.$year == year).first() { return row }
        let row = StudioYear()
        row.studioID = studioID
        row.year = year
        row.results = 0
        row.grantFen = 0
        try await row.create(on: db)
        return row
    }
}

/// The development budget of a node for a year (studio grants, boost plans): money in from outside
/// the tree at the node itself, spent by grants; `POST /api/v1/development-budgets`.
enum DevelopmentFunds {
    static func fund(_ org: Organization, year: Int, on db: any Database) async throws -> Fund {
        try await FundsLedger.fund(kind: "development.\(year)", refID: try org.requireID(), year: year, name: "建功立业 \(year) · \(org.name)",
                                   rootOrgID: try org.requireID(), on: db)
    }

    struct Input: Content {
        var orgId: Int?
        var year: Int?
        var amountYuan: Decimal?
    }

    struct Output: Content {
        let fundId: Int
        let orgId: Int
        let year: Int
        let availableYuan: Decimal
    }

    @Sendable static func allocate(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.managesOrgs)
        let input = try req.content.decode(Input.self)
        var v = Validator()
        let year = input.year ?? ShanghaiClock.today().year
        if !(2000...2100).contains(year) { v.add("year", "range", "error.field.range", ["min": "2000", "max": "2100"]) }
        let fen = v.yuan(input.amountYuan, "amountYuan", required: true)
        try v.check()
        let org = try await scope.org(input.orgId ?? scope.rootID, on: req.db)
        let fund = try await req.db.transaction { tx in
            let made = try await Self.fund(org, year: year, on: tx)
            try await FundsLedger.allocate(made, to: org, from: nil, fen: fen!, .init(staffID: scope.staffID, reason: made.name), on: tx)
            try await req.audit.record("development.budget", targetType: "fund", targetID: made.id, org: org, details: ["fen": String(fen!)], on: tx)
            return made
        }
        let b = try await FundsLedger.budget(try fund.requireID(), org: try org.requireID(), on: req.db)
        let held: Int64 = (b?.allocatedOutFen ?? 0) + (b?.reservedFen ?? 0) + (b?.paidFen ?? 0)
        let available: Int64 = (b?.allocatedFen ?? 0) - held
        return try await Output(fundId: try fund.requireID(), orgId: try org.requireID(), year: year, availableYuan: Decimal(fen: available))
            .encodeResponse(status: .created, for: req)
    }
}
