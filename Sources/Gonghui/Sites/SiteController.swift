import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/api/v1/sites…`, `/api/v1/site-types`, `/api/v1/amenities`: the finder for anyone, the
/// registry for staff.
struct SiteController: RouteCollection {
    /// Open to anyone: the finder, a site, the catalogues, ratings and uses.
    func boot(routes: any RoutesBuilder) throws {
        routes.get("sites", "nearby", use: nearby)
        routes.get("sites", ":id", use: show)
        routes.post("sites", ":id", "ratings", use: rate)
        routes.post("sites", ":id", "uses", use: use)
        routes.get("site-types", use: types)
        routes.get("amenities", use: amenities)
    }

    /// Staff only.
    func bootProtected(routes: any RoutesBuilder) {
        routes.get("sites", use: list)
        routes.post("sites", use: create)
        routes.patch("sites", ":id", use: update)
        routes.post("sites", ":id", "retire", use: retire)
        routes.post("sites", ":id", "verify", use: verify)
        routes.post("sites", ":id", "exceptions", use: addException)
        routes.delete("sites", ":id", "exceptions", ":exceptionId", use: removeException)
        routes.get("sites", ":id", "activity", use: activity)
        routes.get("site-coverage", use: coverage)
        routes.post("site-types", use: addType)
        routes.post("amenities", use: addAmenity)
        let imports = routes.grouped("site-imports")
        imports.on(.POST, body: .collect(maxSize: RosterFiles.maxUpload), use: SiteFiles.upload)
        imports.get("template", use: SiteFiles.template)
        imports.get(":id", use: SiteFiles.show)
        imports.get(":id", "problems", use: SiteFiles.problems)
        routes.get("sites", "export", use: SiteFiles.export)
    }

    /// The nearest sites to a point, nearest first, answered in the coordinate system asked for.
    @Sendable func nearby(req: Request) async throws -> Response {
        let snap = try await req.application.siteFinder.snapshot(req.application)
        var v = Validator()
        let parsed = NearbyRequest.parse(req, snap, &v)
        try v.check()
        var headers = HTTPHeaders()
        headers.contentType = .json
        return Response(status: .ok, headers: headers, body: .init(buffer: parsed.json(snap)))
    }

    static func coord(_ req: Request) throws -> CoordinateSystem {
        guard let raw = req.query[String.self, at: "coord"], !raw.isEmpty else { return .wgs84 }
        guard let c = CoordinateSystem(rawValue: raw.lowercased()) else {
            throw AppError.invalid([FieldIssue("coord", "unknown", "error.field.oneOf", ["values": "wgs84, gcj02"])])
        }
        return c
    }

    @Sendable func show(req: Request) async throws -> SiteDTO {
        let service = SiteService(request: req)
        let coord = try Self.coord(req)
        return try await service.detail(try await service.findPublic(try req.idParameter()), coord: coord)
    }

    @Sendable func rate(req: Request) async throws -> Response {
        let site = try await SiteService(request: req).findPublic(try req.idParameter())
        let feedback = SiteFeedback(request: req)
        try await feedback.rate(site, try req.content.decode(RatingInput.self))
        return try await feedback.counts(try site.requireID()).encodeResponse(status: .created, for: req)
    }

    @Sendable func use(req: Request) async throws -> Response {
        let site = try await SiteService(request: req).findPublic(try req.idParameter())
        let feedback = SiteFeedback(request: req)
        let counted = try await feedback.use(site)
        return try await feedback.counts(try site.requireID()).encodeResponse(status: counted ? .created : .ok, for: req)
    }

    @Sendable func types(req: Request) async throws -> CatalogDTO {
        CatalogDTO(items: try await SiteType.query(on: req.db).sort(\.$sortOrder).all()
            .map { $0.row.dto(req.lang) })
    }

    @Sendable func amenities(req: Request) async throws -> CatalogDTO {
        CatalogDTO(items: try await Amenity.query(on: req.db).sort(\.$sortOrder).all()
            .map { $0.row.dto(req.lang) })
    }

    // MARK: staff

    @Sendable func list(req: Request) async throws -> Paged<SiteDTO> {
        var v = Validator()
        let filter = SiteService.filter(from: req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await SiteService(request: req).page(filter, paging)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let service = SiteService(request: req)
        let site = try await service.create(try req.content.decode(SiteInput.self))
        let coord = (try? Self.coord(req)) ?? .wgs84
        let response = try await service.detail(site, coord: coord).encodeResponse(status: .created, for: req)
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/sites/\(site.id ?? 0)")
        return response
    }

    @Sendable func update(req: Request) async throws -> SiteDTO {
        let service = SiteService(request: req)
        let site = try await service.update(try req.idParameter(), try req.content.decode(SiteInput.self))
        return try await service.detail(site, coord: (try? Self.coord(req)) ?? .wgs84)
    }

    struct RetireInput: Content {
        var reason: String?
    }

    @Sendable func retire(req: Request) async throws -> SiteDTO {
        let service = SiteService(request: req)
        let input = (try? req.content.decode(RetireInput.self)) ?? RetireInput()
        return try await service.detail(try await service.retire(try req.idParameter(), reason: input.reason))
    }

    @Sendable func verify(req: Request) async throws -> SiteDTO {
        let service = SiteService(request: req)
        return try await service.detail(try await service.verify(try req.idParameter()))
    }

    @Sendable func addException(req: Request) async throws -> Response {
        let service = SiteService(request: req)
        let id = try req.idParameter()
        _ = try await service.addException(id, try req.content.decode(SiteExceptionInput.self))
        return try await service.detail(try await service.find(id)).encodeResponse(status: .created, for: req)
    }

    @Sendable func removeException(req: Request) async throws -> HTTPStatus {
        guard let exceptionID = req.parameters.get("exceptionId", as: Int.self) else { throw AppError.notFound }
        try await SiteService(request: req).removeException(try req.idParameter(), exceptionID)
        return .noContent
    }

    @Sendable func activity(req: Request) async throws -> SiteActivityDTO {
        var v = Validator()
        let months = PageRequest.int(req, "months", default: 12, range: 1...60, &v)
        try v.check()
        return try await SiteFeedback(request: req).activity(try await SiteService(request: req).find(try req.idParameter()), months: months)
    }

    @Sendable func coverage(req: Request) async throws -> SiteCoverageDTO {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        try v.check()
        return try await SiteCoverage(request: req).report(orgID: orgID)
    }

    @Sendable func addType(req: Request) async throws -> Response {
        let row = try await SiteCatalog(request: req).add(.type, try req.content.decode(SiteTypeInput.self))
        return try await row.dto(req.lang).encodeResponse(status: .created, for: req)
    }

    @Sendable func addAmenity(req: Request) async throws -> Response {
        let row = try await SiteCatalog(request: req).add(.amenity, try req.content.decode(SiteTypeInput.self))
        return try await row.dto(req.lang).encodeResponse(status: .created, for: req)
    }
}

/// The catalogues of site types and amenities: city staff add to them.
struct SiteCatalog {
    let request: Request

    enum Kind { case type, amenity }

    func add(_ kind: Kind, _ input: SiteTypeInput) async throws -> SiteType.Row {
        let scope = try request.scope
        try scope.require(scope.role == .cityAdmin)
        var v = Validator()
        let code = input.code.map(Normalize.singleLine) ?? ""
        if code.isEmpty { v.add("code", "required", "error.site.codeRequired") } else if !SiteRules.isCode(code) { v.add("code", "format", "error.site.code") }
        let zh = v.text(input.nameZh, "nameZh", required: true, max: 30)
        let en = v.text(input.nameEn, "nameEn", required: true, max: 60)
        let icon = v.text(input.icon, "icon", required: false, max: 4) ?? "•"
        try v.check()
        let db = request.db
        let taken = switch kind {
        case .type: try await SiteType.find(code, on: db) != nil
        case .amenity: try await Amenity.find(code, on: db) != nil
        }
        if taken { throw AppError.conflict("error.site.codeTaken", fields: [FieldIssue("code", "taken", "error.site.codeTaken")]) }
        try await db.transaction { tx in
            switch kind {
            case .type:
                let next = (try await SiteType.query(on: tx).max(\.$sortOrder) ?? 0) + 1
                try await SiteType(code, zh!, en!, icon, next).create(on: tx)
            case .amenity:
                let next = (try await Amenity.query(on: tx).max(\.$sortOrder) ?? 0) + 1
                try await Amenity(code, zh!, en!, icon, next).create(on: tx)
            }
            try await request.audit.record(kind == .type ? "site.type.add" : "site.amenity.add", details: ["code": code, "name": zh!], on: tx)
        }
        request.application.siteFinder.invalidate()
        return SiteType.Row(code, zh!, en!, icon)
    }
}
