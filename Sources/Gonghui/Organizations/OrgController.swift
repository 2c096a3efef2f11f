import Fluent
import GonghuiCore
import Vapor

/// `/api/v1/orgs`: the federation tree, scoped to the caller's subtree.
struct OrgController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let orgs = routes.grouped("orgs")
        orgs.get(use: list)
        orgs.post(use: create)
        orgs.get(":id", use: show)
        orgs.patch(":id", use: update)
        orgs.delete(":id", use: delete)
    }

    /// Lists the children of `parentId`, or without it every node in scope; `kind` and `q` filter.
    @Sendable func list(req: Request) async throws -> Paged<OrgDTO> {
        let scope = try req.scope
        var v = Validator()
        let parentID = req.optionalID("parentId", &v)
        var kind: OrgKind?
        if let raw = req.query[String.self, at: "kind"], !raw.isEmpty {
            kind = OrgKind(rawValue: raw)
            if kind == nil { v.add("kind", "unknown", "error.field.oneOf", ["values": OrgKind.allCases.map(\.rawValue).joined(separator: ", ")]) }
        }
        let q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 100)
        let paging = PageRequest(from: req, &v)
        try v.check()
        var query = scope.orgs(on: req.db)
        if let parentID {
            _ = try await scope.org(parentID, on: req.db)
            query = query.filter(\.$parentID == parentID)
        }
        if let kind { query = query.filter(\.$kind == kind) }
        if let q { query = query.filter(\.$name ~~ q) }
        let total = try await query.count()
        let items = try await query.sort(\.$path).range(paging.offset..<(paging.offset + paging.per)).all()
        return Paged(items: items.map { OrgDTO($0, on: req) }, page: paging.page, per: paging.per, total: total)
    }

    /// One organisation with its counts.
    @Sendable func show(req: Request) async throws -> OrgDTO {
        let org = try await req.scope.org(try req.idParameter(), on: req.db)
        let counts = try await OrgCounts.of(org, on: req.db, dependents: req.application.orgDependents.all)
        return OrgDTO(org, on: req, counts: counts)
    }

    /// Creates a node under `parentId`, which must be in scope and accept the kind.
    @Sendable func create(req: Request) async throws -> Response {
        let org = try await OrgService(request: req).create(try req.content.decode(OrgInput.self))
        return try await OrgDTO(org, on: req).encodeResponse(status: .created, for: req)
    }

    /// Changes details; a new `parentId` moves the whole subtree.
    @Sendable func update(req: Request) async throws -> OrgDTO {
        let org = try await OrgService(request: req).update(try req.idParameter(), try req.content.decode(OrgInput.self))
        return OrgDTO(org, on: req)
    }

    /// Deletes a node that holds no children, accounts or members.
    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        try await OrgService(request: req).delete(try req.idParameter())
        return .noContent
    }
}
