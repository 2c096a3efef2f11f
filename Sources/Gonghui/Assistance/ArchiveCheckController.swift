import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct ArchiveCheckInput: Content {
    var orgId: Int?
    var year: Int?
    var dueOn: String?
    var share: Double?
}

struct ArchiveOutcomeInput: Content {
    var outcome: String?
    var note: String?
}

struct ArchiveCheckDTO: Content {
    let id: Int
    let kind: ArchiveCheck.Kind
    let orgId: Int
    let orgName: String
    let year: Int
    let dueOn: String
    /// Spot checks: the seed of the draw (SplitMix64), the share asked for, whether the draw repeats.
    let seed: Int64?
    let share: Double?
    let population: Int
    let lines: Int
    let done: Int
    let overdue: Int
    let repeatsDraw: Bool?
    let createdAt: Date?
}

struct ArchiveCheckLineDTO: Content {
    let id: Int
    let position: Int
    let householdId: Int
    let fileNumber: String
    let orgId: Int
    let orgName: String
    let subjectName: String
    let category: String
    let state: String
    let outcome: ArchiveCheckLine.Outcome?
    let note: String?
    let reviewerName: String?
    let checkedOn: String?
    let overdue: Bool
}

struct ArchiveCheckDetailDTO: Content {
    let check: ArchiveCheckDTO
    let lines: Paged<ArchiveCheckLineDTO>
}

/// `/api/v1/hardship-reviews` (复核) and `/api/v1/hardship-spot-checks` (抽查): a district's rounds,
/// their lines, and each line's outcome; the same routes for both kinds.
struct ArchiveCheckController: RouteCollection {
    let kind: ArchiveCheck.Kind
    var path: PathComponent { kind == .review ? "hardship-reviews" : "hardship-spot-checks" }

    func boot(routes: any RoutesBuilder) throws {
        let group = routes.grouped(path)
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
        group.post(":id", "lines", ":lineId", use: record)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.opensArchiveChecks)
        let input = try req.content.decode(ArchiveCheckInput.self)
        var v = Validator()
        if input.orgId == nil { v.add("orgId", "required") }
        if input.year == nil { v.add("year", "required") }
        if let year = input.year, !(2000...2100).contains(year) { v.add("year", "range", nil, ["min": "2000", "max": "2100"]) }
        var due: CalendarDate?
        if let raw = input.dueOn, !raw.isEmpty {
            due = try? CalendarDate(parsing: raw)
            if due == nil { v.add("dueOn", "format", "error.field.date") }
        } else if kind == .review {
            v.add("dueOn", "required")
        }
        if kind == .spotCheck, let share = input.share, !(share >= ArchiveChecks.minimumShare && share <= 1) {
            v.add("share", "range", "archive.error.share", ["min": "0.3", "max": "1"])
        }
        try v.check()
        let district = try await scope.org(input.orgId!, on: req.db)
        guard district.kind == .district else {
            throw AppError.invalid([FieldIssue("orgId", "notDistrict", "archive.error.notDistrict")])
        }
        let year = input.year!
        let dueOn = try due ?? CalendarDate(year: year, month: 12, day: 31)
        let check = try await ArchiveChecks.open(kind, district: district, year: year, dueOn: dueOn, share: input.share, seed: nil,
                                                 staffID: scope.staffID, on: req.db)
        try await req.audit.record("archive.\(kind.rawValue).open", targetType: "archiveCheck", targetID: check.id, org: district,
                                   details: ["year": String(year), "lines": String(try await lineCount(check, on: req.db))])
        return try await dto(check, org: district, on: req.db).encodeResponse(status: .created, for: req)
    }

    @Sendable func list(req: Request) async throws -> [ArchiveCheckDTO] {
        let scope = try req.scope
        try scope.require(scope.role.readsArchive)
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let year = req.query[String.self, at: "year"].flatMap { $0.isEmpty ? nil : $0 }
        if let year, Int(year) == nil { v.add("year", "format") }
        try v.check()
        var query = scope.records(ArchiveCheck.self, orgField: \.$orgID, on: req.db).filter(\.$kind == kind)
        if let orgID {
            let org = try await scope.org(orgID, on: req.db)
            query = query.filter(\.$orgID == (try org.requireID()))
        }
        if let year = year.flatMap(Int.init) { query = query.filter(\.$year == year) }
        let checks = try await query.sort(\.$year, .descending).sort(\.$id).limit(200).all()
        var out: [ArchiveCheckDTO] = []
        for c in checks {
            guard let org = try await Organization.find(c.orgID, on: req.db) else { continue }
            out.append(try await dto(c, org: org, on: req.db, repeats: false))
        }
        return out
    }

    @Sendable func show(req: Request) async throws -> ArchiveCheckDetailDTO {
        let scope = try req.scope
        try scope.require(scope.role.readsArchive)
        var v = Validator()
        let paging = PageRequest(from: req, &v)
        let overdueOnly = req.query[String.self, at: "overdue"]
        if let overdueOnly, !["true", "false", ""].contains(overdueOnly) {
            v.add("overdue", "unknown", "error.field.oneOf", ["values": "true, false"])
        }
        try v.check()
        let (check, org) = try await scoped(req)
        let lines = try await Self.lines(check, scope: scope, overdueOnly: overdueOnly == "true", paging: paging, on: req.db)
        return ArchiveCheckDetailDTO(check: try await dto(check, org: org, on: req.db), lines: lines)
    }

    @Sendable func record(req: Request) async throws -> ArchiveCheckLineDTO {
        let scope = try req.scope
        try scope.require(scope.role.recordsArchiveChecks)
        let (check, _) = try await scoped(req)
        guard let line = try await ArchiveCheckLine.find(try req.idParameter("lineId"), on: req.db), line.checkID == check.id,
              let file = try await HardshipHousehold.find(line.householdID, on: req.db) else { throw AppError.notFound }
        let fileOrg = try await scope.org(file.orgID, on: req.db)
        let input = try req.content.decode(ArchiveOutcomeInput.self)
        var v = Validator()
        let outcome = input.outcome.flatMap(ArchiveCheckLine.Outcome.init(rawValue:))
        if input.outcome == nil {
            v.add("outcome", "required")
        } else if outcome == nil {
            v.add("outcome", "unknown", "error.field.oneOf", ["values": "unchanged, changed, lift, cancel"])
        }
        let closes = outcome == .lift || outcome == .cancel
        let note = v.text(input.note, "note", required: closes, max: 500)
        try v.check()
        try await ArchiveChecks.record(line, outcome: outcome!, note: note, scope: scope, on: req.db)
        try await req.audit.record("archive.\(kind.rawValue).outcome", targetType: "hardshipHousehold", targetID: file.id, org: fileOrg,
                                   details: ["check": String(check.id ?? 0), "outcome": outcome!.rawValue])
        let today = ShanghaiClock.today().description
        let refreshed = try await HardshipHousehold.find(file.id, on: req.db) ?? file
        return Self.lineDTO(line, file: refreshed, orgName: fileOrg.name, dueOn: check.dueOn, today: today)
    }

    // MARK: the parts

    func scoped(_ req: Request) async throws -> (ArchiveCheck, Organization) {
        let scope = try req.scope
        guard let check = try await ArchiveCheck.find(try req.idParameter(), on: req.db), check.kind == kind else { throw AppError.notFound }
        return (check, try await scope.org(check.orgID, on: req.db))
    }

    func lineCount(_ check: ArchiveCheck, on db: any Database) async throws -> Int {
        try await ArchiveCheckLine.query(on: db).filter(\.$checkID == check.requireID()).count()
    }

    func dto(_ c: ArchiveCheck, org: Organization, on db: any Database, repeats: Bool = true) async throws -> ArchiveCheckDTO {
        let id = try c.requireID()
        let lines = try await ArchiveCheckLine.query(on: db).filter(\.$checkID == id).count()
        let done = try await ArchiveCheckLine.query(on: db).filter(\.$checkID == id).filter(\.$outcome != nil).count()
        let overdue = c.dueOn < ShanghaiClock.today().description ? lines - done : 0
        return ArchiveCheckDTO(id: id, kind: c.kind, orgId: c.orgID, orgName: org.name, year: c.year, dueOn: c.dueOn, seed: c.seed, share: c.share,
                               population: c.population, lines: lines, done: done, overdue: overdue,
                               repeatsDraw: repeats ? try await ArchiveChecks.repeatsDraw(c, on: db) : nil, createdAt: c.createdAt)
    }

    /// A round's lines whose files lie in the caller's subtree, in the round's order.
    static func lines(_ check: ArchiveCheck, scope: Scope, overdueOnly: Bool, paging: PageRequest,
                      on db: any Database) async throws -> Paged<ArchiveCheckLineDTO> {
        let today = ShanghaiClock.today().description
        var query = ArchiveCheckLine.query(on: db).filter(\.$checkID == (try check.requireID()))
            .join(HardshipHousehold.self, on: \ArchiveCheckLine.$householdID == \HardshipHousehold.$id)
            .join(Organization.self, on: \HardshipHousehold.$orgID == \Organization.$id)
            .filter(Organization.self, \.$path >= scope.root.value).filter(Organization.self, \.$path < scope.root.upperBound)
        if overdueOnly {
            if check.dueOn >= today { return Paged(items: [], page: paging.page, per: paging.per, total: 0) }
            query = query.filter(\.$outcome == nil)
        }
        let total = try await query.count()
        let rows = try await query.sort(\.$position).range(paging.offset..<(paging.offset + paging.per)).all()
        var items: [ArchiveCheckLineDTO] = []
        for line in rows {
            let file = try line.joined(HardshipHousehold.self)
            let org = try line.joined(Organization.self)
            items.append(lineDTO(line, file: file, orgName: org.name, dueOn: check.dueOn, today: today))
        }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }

    static func lineDTO(_ l: ArchiveCheckLine, file: HardshipHousehold, orgName: String, dueOn: String, today: String) -> ArchiveCheckLineDTO {
        ArchiveCheckLineDTO(id: l.id ?? 0, position: l.position, householdId: l.householdID, fileNumber: file.fileNumber, orgId: file.orgID,
                            orgName: orgName, subjectName: file.subjectName, category: file.category.rawValue, state: file.state.rawValue,
                            outcome: l.outcome, note: l.note, reviewerName: l.reviewerName, checkedOn: l.checkedOn,
                            overdue: l.outcome == nil && dueOn < today)
    }
}
