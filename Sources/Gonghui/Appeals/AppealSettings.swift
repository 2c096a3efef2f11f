import Fluent
import Foundation
import GonghuiCore
import Vapor

/// What city staff set for appeals: the working days of each deadline tier and the routing rules
/// by subject. `/api/v1/appeal-settings` and the console's settings page.
struct AppealSettingsDTO: Content {
    struct Route: Content {
        let id: Int
        let subject: String
        let subjectName: String
        let orgId: Int
        let orgName: String
    }

    let tiers: [String: Int]
    let routes: [Route]
}

struct AppealSettingsService {
    let request: Request
    var db: any Database { request.db }

    func read() async throws -> AppealSettingsDTO {
        let scope = try request.scope
        try scope.require(scope.role.worksAppeals)
        var tiers: [String: Int] = [:]
        for t in AppealTier.allCases { tiers[t.rawValue] = try await AppealService.workingDays(t, on: db) }
        let routes = try await AppealRoute.query(on: db).sort(\.$subjectCode).all()
        let orgs = try await ApplicationService.orgNames(routes.map(\.orgID), on: db)
        let subjects = Dictionary(uniqueKeysWithValues: try await AppealSubject.query(on: db).all().map { ($0.id ?? "", $0.name(request.lang)) })
        return AppealSettingsDTO(tiers: tiers, routes: routes.map {
            .init(id: $0.id ?? 0, subject: $0.subjectCode, subjectName: subjects[$0.subjectCode] ?? $0.subjectCode, orgId: $0.orgID, orgName: orgs[$0.orgID]?.name ?? "")
        })
    }

    func setTier(_ raw: String?, days: Int?) async throws {
        let scope = try request.scope
        try scope.require(scope.role.keepsAppealSettings)
        var v = Validator()
        let tier = raw.flatMap(AppealTier.init(rawValue:))
        if tier == nil { v.add("tier", "unknown", "error.field.oneOf", ["values": "general, difficult, complex"]) }
        if let days { if !(1...60).contains(days) { v.add("workingDays", "range", nil, ["min": "1", "max": "60"]) } } else { v.add("workingDays", "required") }
        try v.check()
        let row = try await AppealTierDays.find(tier!.rawValue, on: db) ?? { let r = AppealTierDays(); r.id = tier!.rawValue; return r }()
        row.workingDays = days!
        try await row.save(on: db)
        try await request.audit.record("appeal.tier", details: ["tier": tier!.rawValue, "workingDays": String(days!)])
    }

    func addRoute(subject: String?, orgID: Int?) async throws {
        let scope = try request.scope
        try scope.require(scope.role.keepsAppealSettings)
        var v = Validator()
        if let subject, try await AppealSubject.find(subject, on: db) != nil {} else { v.add("subject", subject == nil ? "required" : "unknown") }
        if let orgID { if (try? await scope.org(orgID, on: db)) == nil { v.add("orgId", "notFound") } } else { v.add("orgId", "required") }
        try v.check()
        try await AppealRoute.query(on: db).filter(\.$subjectCode == subject!).delete()
        let route = AppealRoute()
        route.subjectCode = subject!
        route.orgID = orgID!
        try await route.create(on: db)
        try await request.audit.record("appeal.route.set", details: ["subject": subject!, "orgId": String(orgID!)])
    }

    func removeRoute(_ id: Int) async throws {
        let scope = try request.scope
        try scope.require(scope.role.keepsAppealSettings)
        guard let route = try await AppealRoute.find(id, on: db) else { throw AppError.notFound }
        try await route.delete(on: db)
        try await request.audit.record("appeal.route.remove", details: ["subject": route.subjectCode])
    }
}

struct AppealSettingsController: RouteCollection {
    struct TierInput: Content { var workingDays: Int? }
    struct RouteInput: Content {
        var subject: String?
        var orgId: Int?
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("appeal-settings", use: { req async throws -> AppealSettingsDTO in try await AppealSettingsService(request: req).read() })
        routes.put("appeal-settings", "tiers", ":tier", use: { req async throws -> AppealSettingsDTO in
            let service = AppealSettingsService(request: req)
            try await service.setTier(req.parameters.get("tier"), days: try req.content.decode(TierInput.self).workingDays)
            return try await service.read()
        })
        routes.post("appeal-settings", "routes", use: { req async throws -> AppealSettingsDTO in
            let service = AppealSettingsService(request: req)
            let input = try req.content.decode(RouteInput.self)
            try await service.addRoute(subject: input.subject, orgID: input.orgId)
            return try await service.read()
        })
        routes.delete("appeal-settings", "routes", ":id", use: { req async throws -> HTTPStatus in
            try await AppealSettingsService(request: req).removeRoute(try req.idParameter())
            return .noContent
        })
    }
}
