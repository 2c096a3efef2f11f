import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/api/v1/auth/*`, `/api/v1/me` and `/api/v1/staff`.
struct AuthController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("auth", "login", use: login)
    }

    func bootProtected(routes: any RoutesBuilder) {
        routes.post("auth", "logout", use: logout)
        routes.get("me", use: me)
        let staff = routes.grouped("staff")
        staff.get(use: listStaff)
        staff.post(use: createStaff)
        staff.get(":id", use: showStaff)
        staff.patch(":id", use: updateStaff)
    }

    /// Exchanges a username and password for a bearer token.
    @Sendable func login(req: Request) async throws -> LoginDTO {
        let input = try req.content.decode(LoginInput.self)
        var v = Validator()
        if (input.username ?? "").isEmpty { v.add("username", "required") }
        if (input.password ?? "").isEmpty { v.add("password", "required") }
        try v.check()
        let staff = try await SignIn.attempt(username: input.username!, password: input.password!, on: req)
        let (token, record) = try await Tokens.issue(for: staff, on: req)
        let org = try await Organization.find(staff.orgID, on: req.db)
        try await req.audit.record("auth.login", targetType: "staff", targetID: staff.id, org: org,
                                   actor: (try staff.requireID(), staff.username), details: ["via": "api"])
        return LoginDTO(token: token, expiresAt: record.expiresAt, user: StaffDTO(staff))
    }

    /// Revokes the token the request came with.
    @Sendable func logout(req: Request) async throws -> HTTPStatus {
        if let id = req.apiTokenID {
            try await ApiToken.query(on: req.db).filter(\.$id == id).set(\.$revokedAt, to: Date()).update()
            try await req.audit.record("auth.logout", targetType: "staff", targetID: try req.scope.staffID)
        }
        return .noContent
    }

    /// Who is signed in, where in the tree, and what they may do.
    @Sendable func me(req: Request) async throws -> MeDTO {
        let scope = try req.scope
        guard let staff = try await StaffUser.find(scope.staffID, on: req.db) else { throw AppError.unauthorized }
        let org = try await scope.org(scope.rootID, on: req.db)
        return MeDTO(user: StaffDTO(staff), org: OrgDTO(org, on: req), permissions: .init(
            manageOrgs: scope.role.managesOrgs, manageAccounts: scope.role.managesAccounts,
            readAudit: scope.role.readsAudit, grantableRoles: StaffRole.allCases.filter(scope.role.canGrant)))
    }

    @Sendable func listStaff(req: Request) async throws -> Paged<StaffDTO> {
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let (items, total) = try await StaffService(request: req).list(orgID: orgID, paging: paging)
        return Paged(items: items.map(StaffDTO.init), page: paging.page, per: paging.per, total: total)
    }

    @Sendable func showStaff(req: Request) async throws -> StaffDTO {
        StaffDTO(try await StaffService(request: req).find(try req.idParameter()))
    }

    @Sendable func createStaff(req: Request) async throws -> Response {
        let staff = try await StaffService(request: req).create(try req.content.decode(StaffInput.self))
        return try await StaffDTO(staff).encodeResponse(status: .created, for: req)
    }

    @Sendable func updateStaff(req: Request) async throws -> StaffDTO {
        StaffDTO(try await StaffService(request: req).update(try req.idParameter(), try req.content.decode(StaffInput.self)))
    }
}
