import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct StudioSettingsDTO: Content {
    var studioMinResults: Int?
}

/// `/api/v1/studios`, `/api/v1/contests`, `/api/v1/development-budgets`, `/api/v1/development-settings`.
struct DevelopmentController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let studios = routes.grouped("studios")
        studios.post(use: createStudio)
        studios.get(use: listStudios)
        studios.get(":id", use: showStudio)
        studios.post(":id", "actions", use: studioAction)
        studios.post(":id", "results", use: studioResult)
        let contests = routes.grouped("contests")
        contests.post(use: createContest)
        contests.get(use: listContests)
        contests.get(":id", use: showContest)
        contests.post(":id", "scores", use: scores)
        contests.post(":id", "actions", use: contestAction)
        contests.get(":id", "registrations", use: registrations)
        contests.get(":id", "promotions", use: promotions)
        routes.post("development-budgets", use: DevelopmentFunds.allocate)
        routes.get("development-settings", use: settings)
        routes.put("development-settings", use: putSettings)
    }

    @Sendable func createStudio(req: Request) async throws -> Response {
        let s = try await Studios.create(req, try req.content.decode(StudioInput.self))
        return try await Studios.dto(s, orgName: try await Organization.find(s.orgID, on: req.db)?.name, on: req.db).encodeResponse(status: .created, for: req)
    }

    @Sendable func listStudios(req: Request) async throws -> [StudioDTO] {
        var q = try req.scope.records(Studio.self, orgField: \.$orgID, on: req.db)
        if let level = req.query[String.self, at: "level"], Studio.levels.contains(level) { q = q.filter(\.$level == level) }
        let list = try await q.sort(\.$id, .descending).limit(500).all()
        let names = try await ApplicationService.orgNames(list.map(\.orgID), on: req.db)
        var out: [StudioDTO] = []
        for s in list { out.append(try await Studios.dto(s, orgName: names[s.orgID]?.name, on: req.db)) }
        return out
    }

    @Sendable func showStudio(req: Request) async throws -> StudioDTO {
        let (s, org) = try await Studios.find(req, try req.idParameter())
        return try await Studios.dto(s, orgName: org.name, on: req.db)
    }

    @Sendable func studioAction(req: Request) async throws -> StudioDTO {
        let (s, org) = try await Studios.find(req, try req.idParameter())
        try await Studios.perform(req, s, org, try req.content.decode(StudioActionInput.self))
        return try await Studios.dto(s, orgName: org.name, on: req.db)
    }

    @Sendable func studioResult(req: Request) async throws -> Response {
        let (s, org) = try await Studios.find(req, try req.idParameter())
        _ = try await Studios.addResult(req, s, try req.content.decode(StudioResultInput.self))
        return try await Studios.dto(s, orgName: org.name, on: req.db).encodeResponse(status: .created, for: req)
    }

    @Sendable func createContest(req: Request) async throws -> Response {
        let c = try await Contests.create(req, try req.content.decode(ContestInput.self))
        return try await ContestDTO(c, orgName: try await Organization.find(c.orgID, on: req.db)?.name).encodeResponse(status: .created, for: req)
    }

    @Sendable func listContests(req: Request) async throws -> [ContestDTO] {
        let list = try await req.scope.records(Contest.self, orgField: \.$orgID, on: req.db).sort(\.$id, .descending).limit(500).all()
        let names = try await ApplicationService.orgNames(list.map(\.orgID), on: req.db)
        return list.map { ContestDTO($0, orgName: names[$0.orgID]?.name) }
    }

    @Sendable func showContest(req: Request) async throws -> ContestDTO {
        let (c, org) = try await Contests.find(req, try req.idParameter())
        return ContestDTO(c, orgName: org.name)
    }

    struct Scored: Content { let scored: Int }

    @Sendable func scores(req: Request) async throws -> Response {
        let (c, _) = try await Contests.find(req, try req.idParameter())
        let n = try await Contests.score(req, c, try req.content.decode(ContestScoresInput.self))
        return try await Scored(scored: n).encodeResponse(status: .created, for: req)
    }

    struct ActionInput: Content { var action: String? }

    @Sendable func contestAction(req: Request) async throws -> ContestResultsDTO {
        let (c, org) = try await Contests.find(req, try req.idParameter())
        let action = try req.content.decode(ActionInput.self).action
        guard action == "publish" else { throw AppError.invalid([FieldIssue("action", "unknown", "error.field.oneOf", ["values": "publish"])]) }
        try await Contests.publish(req, c, org)
        return try await Contests.results(c, live: true, on: req.db)
    }

    struct RegistrationDTO: Content {
        let id: Int
        let memberId: Int
        let name: String
        let orgId: Int
        let registeredAt: Date
    }

    @Sendable func registrations(req: Request) async throws -> Paged<RegistrationDTO> {
        let (c, _) = try await Contests.find(req, try req.idParameter())
        var v = Validator()
        let paging = PageRequest(from: req, &v)
        try v.check()
        let q = ContestRegistration.query(on: req.db).filter(\.$contestID == (try c.requireID()))
        let total = try await q.count()
        let rows = try await q.sort(\.$id).range(paging.offset..<(paging.offset + paging.per)).all()
        return Paged(items: rows.map { RegistrationDTO(id: $0.id ?? 0, memberId: $0.memberID, name: $0.name, orgId: $0.orgID, registeredAt: $0.registeredAt) },
                     page: paging.page, per: paging.per, total: total)
    }

    /// The grade promotions the union proposes to the skills-appraisal body (XLSX by default).
    @Sendable func promotions(req: Request) async throws -> Response {
        let (c, org) = try await Contests.find(req, try req.idParameter())
        let format = req.query[String.self, at: "format"] ?? "xlsx"
        guard format == "xlsx" || format == "csv" else { throw AppError.invalid([FieldIssue("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"])]) }
        guard c.state == .published else { throw NominationActions.conflict("contest.error.notPublished") }
        let rows = try await Contests.results(c, live: false, on: req.db).results.filter(\.promoted)
        let members = try await Member.query(on: req.db).filter(\.$id ~~ (try await ContestRegistration.query(on: req.db)
            .filter(\.$id ~~ rows.map(\.registrationId)).all().map(\.memberID))).all()
        let regs = try await ContestRegistration.query(on: req.db).filter(\.$id ~~ rows.map(\.registrationId)).all()
        let memberOf = Dictionary(uniqueKeysWithValues: regs.map { ($0.id ?? 0, $0.memberID) })
        let byID = Dictionary(uniqueKeysWithValues: members.map { ($0.id ?? 0, $0) })
        try await req.audit.record("contest.promotions.export", targetType: "contest", targetID: c.id, org: org, details: ["rows": String(rows.count)])
        let header = ["contest.field.rank", "field.name", "field.idNumber", "contest.field.union", "contest.field.trade", "contest.field.total", "contest.field.medal"]
            .map { req.t($0) }
        return try await RosterFiles.download(req, name: "promotions-\(c.id ?? 0)", format: format, header: header, widths: [6, 12, 22, 30, 16, 10, 8]) { add in
            for r in rows {
                let m = memberOf[r.registrationId].flatMap { byID[$0] }
                let id = m.flatMap { try? req.fieldCipher.open($0.idCipher) } ?? ""
                try add([.integer(Int64(r.rank ?? 0)), .text(r.name), .text(id), .text(r.unionName), .text(c.trade),
                         .number(NSDecimalNumber(decimal: r.total ?? 0).doubleValue), .text(r.medal.map { req.t("contest.medal.\($0)") } ?? "")])
            }
        }
    }

    @Sendable func settings(req: Request) async throws -> StudioSettingsDTO {
        _ = try req.scope
        return StudioSettingsDTO(studioMinResults: try await Studios.minResults(on: req.db))
    }

    @Sendable func putSettings(req: Request) async throws -> StudioSettingsDTO {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let input = try req.content.decode(StudioSettingsDTO.self)
        guard let n = input.studioMinResults, (0...20).contains(n) else {
            throw AppError.invalid([FieldIssue("studioMinResults", "range", "error.field.range", ["min": "0", "max": "20"])])
        }
        try await Studios.setMinResults(n, on: req.db)
        try await req.audit.record("development.settings", details: ["studioMinResults": String(n)])
        return StudioSettingsDTO(studioMinResults: n)
    }
}

/// A member's side: `POST /api/v1/contests/{id}/registrations` with a `ghm_` token, and the public results.
struct ContestMemberController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("contests", ":id", "registrations", use: register)
    }

    struct Registered: Content {
        let id: Int
        let contestId: Int
        let registeredAt: Date
    }

    @Sendable func register(req: Request) async throws -> Response {
        let r = try await Contests.register(req, contestID: try req.idParameter(), member: try req.member)
        return try await Registered(id: r.id ?? 0, contestId: r.contestID, registeredAt: r.registeredAt).encodeResponse(status: .created, for: req)
    }

    @Sendable static func results(req: Request) async throws -> ContestResultsDTO {
        guard let c = try await Contest.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        return try await Contests.results(c, live: false, on: req.db)
    }
}
