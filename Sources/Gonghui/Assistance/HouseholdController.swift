import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/api/v1/hardship-households`: the archive's files, scoped to the caller's subtree.
struct HouseholdController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let files = routes.grouped("hardship-households")
        files.post(use: create)
        files.get(use: list)
        files.get(":id", use: show)
        files.put(":id", use: update)
        files.post(":id", "actions", use: act)
        files.post(":id", "reveal", use: reveal)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let h = try await HouseholdService(request: req).create(try req.content.decode(HouseholdInput.self))
        return try await HouseholdService(request: req).detail(try h.requireID()).encodeResponse(status: .created, for: req)
    }

    @Sendable func list(req: Request) async throws -> Paged<HouseholdDTO> {
        var v = Validator()
        let state = v.code(req.query[String.self, at: "state"], "state", HouseholdState.self, required: false)
        let category = v.code(req.query[String.self, at: "category"], "category", HouseholdCategory.self, required: false)
        let orgID = req.optionalID("orgId", &v)
        let q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 50)
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await HouseholdService(request: req).list(state: state, category: category, orgID: orgID, q: q, paging: paging)
    }

    @Sendable func show(req: Request) async throws -> HouseholdDTO {
        try await HouseholdService(request: req).detail(try req.idParameter())
    }

    @Sendable func update(req: Request) async throws -> HouseholdDTO {
        let id = try req.idParameter()
        _ = try await HouseholdService(request: req).update(id, try req.content.decode(HouseholdInput.self))
        return try await HouseholdService(request: req).detail(id)
    }

    @Sendable func act(req: Request) async throws -> HouseholdDTO {
        let id = try req.idParameter()
        _ = try await HouseholdWorkflow(request: req).act(id, try req.content.decode(HouseholdAction.self))
        return try await HouseholdService(request: req).detail(id)
    }

    struct RevealDTO: Content { let idNumbers: [String: String] }

    @Sendable func reveal(req: Request) async throws -> RevealDTO {
        RevealDTO(idNumbers: try await HouseholdService(request: req).reveal(try req.idParameter()))
    }
}
