import Fluent
import Foundation
import GonghuiCore
import Vapor

/// Creating and changing staff accounts, with the rules of who may grant what where.
struct StaffService {
    let request: Request
    var db: any Database { request.db }

    /// The accounts in scope, optionally only those bound to `orgId`.
    func list(orgID: Int?, paging: PageRequest) async throws -> (items: [StaffUser], total: Int) {
        let scope = try request.scope
        var query = scope.records(StaffUser.self, orgField: \.$orgID, on: db)
        if let orgID {
            _ = try await scope.org(orgID, on: db)
            query = query.filter(\.$orgID == orgID)
        }
        let total = try await query.count()
        let items = try await query.sort(\.$username).range(paging.offset..<(paging.offset + paging.per)).all()
        return (items, total)
    }

    func find(_ id: Int) async throws -> StaffUser {
        guard let staff = try await (try request.scope).records(StaffUser.self, orgField: \.$orgID, on: db)
            .filter(\.$id == id).first() else { throw AppError.notFound }
        return staff
    }

    func create(_ input: StaffInput) async throws -> StaffUser {
        let scope = try request.scope
        try scope.require(scope.role.managesAccounts)
        var v = Validator()
        var username: String?
        if let raw = input.username, !raw.isEmpty {
            do { username = try Credentials.username(raw) } catch {
                v.add("username", error == .length ? "length" : "format", "error.field.username")
            }
        } else { v.add("username", "required") }
        checkPassword(input.password, required: true, &v)
        let displayName = input.displayName.map { v.text($0, "displayName", required: true, max: 50) } ?? username
        let role = parseRole(input.role, &v)
        let org = try await resolveOrg(input.orgId, role: role, &v)
        try v.check()
        if try await StaffUser.query(on: db).filter(\.$username == username!).count() > 0 {
            throw AppError.conflict("error.staff.usernameTaken", fields: [FieldIssue("username", "taken", "error.field.username.taken")])
        }
        let hash = try await request.application.passwordWork.hash(input.password!)
        let staff = StaffUser(username: username!, displayName: displayName!, passwordHash: hash, role: role!, orgID: try org!.requireID())
        try await db.transaction { tx in
            try await staff.create(on: tx)
            try await request.audit.record("staff.create", targetType: "staff", targetID: staff.id, org: org,
                                           details: ["username": staff.username, "role": staff.role.rawValue], on: tx)
        }
        return staff
    }

    func update(_ id: Int, _ input: StaffInput) async throws -> StaffUser {
        let scope = try request.scope
        let staff = try await find(id)
        let isSelf = id == scope.staffID
        try scope.require(!isSelf && Self.manages(scope, staff)
            || isSelf && input.role == nil && input.orgId == nil && input.disabled == nil && input.unlock == nil)
        var v = Validator()
        if isSelf, let password = input.password, !password.isEmpty {
            // Changing one's own password asks for the current one: a session left open is not enough.
            if let current = input.currentPassword, !current.isEmpty {
                if try await !request.application.passwordWork.verify(current, created: staff.passwordHash) {
                    v.add("currentPassword", "wrong", "error.field.currentPassword.wrong")
                }
            } else {
                v.add("currentPassword", "required")
            }
        }
        var changed: [String] = []
        if let name = v.text(input.displayName, "displayName", required: false, max: 50), name != staff.displayName {
            staff.displayName = name
            changed.append("displayName")
        }
        var role = staff.role
        if input.role != nil, let parsed = parseRole(input.role, &v) {
            role = parsed
        }
        var org: Organization?
        if input.orgId != nil || role != staff.role {
            org = try await resolveOrg(input.orgId ?? staff.orgID, role: role, &v)
        }
        checkPassword(input.password, required: false, &v)
        try v.check()
        if role != staff.role { staff.role = role; changed.append("role") }
        if let org, org.id != staff.orgID { staff.orgID = try org.requireID(); changed.append("orgId") }
        var revoke = false
        if let password = input.password, !password.isEmpty {
            staff.passwordHash = try await request.application.passwordWork.hash(password)
            changed.append("password")
            revoke = true
        }
        if let disabled = input.disabled, disabled != (staff.disabledAt != nil) {
            staff.disabledAt = disabled ? Date() : nil
            changed.append(disabled ? "disabled" : "enabled")
            revoke = revoke || disabled
        }
        if input.unlock == true {
            // The sign-in back-off of the account's name, from every address (see `SignIn`).
            try await SignIn.unlock(staff.username, on: db)
            if staff.failedLogins > 0 || staff.lockedUntil != nil { changed.append("unlocked") }
            staff.failedLogins = 0
            staff.lockedUntil = nil
        }
        let target = try await Organization.find(staff.orgID, on: db)
        let (revokeTokens, changedFields) = (revoke, changed)
        try await db.transaction { tx in
            try await staff.save(on: tx)
            // Changing one's own password signs out every other device, not this one. The console's
            // sessions end by their password stamp (SessionAuthMiddleware); this one gets the new stamp.
            if revokeTokens { try await Tokens.revokeAll(staffID: id, except: id == scope.staffID ? request.apiTokenID : nil, on: tx) }
            if !changedFields.isEmpty {
                try await request.audit.record("staff.update", targetType: "staff", targetID: id, org: target,
                                               details: ["fields": changedFields.joined(separator: ",")], on: tx)
            }
        }
        if isSelf, changed.contains("password"), request.storage[HasSessionKey.self] == true {
            request.session.data[SessionAuthMiddleware.stampKey] = SessionAuthMiddleware.stamp(staff)
        }
        return staff
    }

    /// Another account may be changed (its password reset, disabled, moved) only from a higher
    /// rank, or from a node above its own: never by an equal bound to the same node.
    static func manages(_ scope: Scope, _ staff: StaffUser) -> Bool {
        scope.role.managesAccounts && scope.role.canGrant(staff.role)
            && (staff.role.rank < scope.role.rank || staff.orgID != scope.rootID)
    }

    // MARK: - checks

    private func checkPassword(_ password: String?, required: Bool, _ v: inout Validator) {
        guard let password, !password.isEmpty else {
            if required { v.add("password", "required") }
            return
        }
        do { try Credentials.checkPassword(password) } catch {
            v.add("password", error == .length ? "length" : "weak", "error.field.password")
        }
    }

    private func parseRole(_ raw: String?, _ v: inout Validator) -> StaffRole? {
        guard let raw, !raw.isEmpty else {
            v.add("role", "required")
            return nil
        }
        guard let role = StaffRole(rawValue: raw) else {
            v.add("role", "unknown", "error.field.oneOf", ["values": StaffRole.allCases.map(\.rawValue).joined(separator: ", ")])
            return nil
        }
        guard (try? request.scope.role.canGrant(role)) == true else {
            v.add("role", "notGrantable", "error.field.role.notGrantable")
            return nil
        }
        return role
    }

    private func resolveOrg(_ orgID: Int?, role: StaffRole?, _ v: inout Validator) async throws -> Organization? {
        guard let orgID else {
            v.add("orgId", "required")
            return nil
        }
        guard let org = try? await (try request.scope).org(orgID, on: db) else {
            v.add("orgId", "notFound")
            return nil
        }
        if let role, !role.fits(org.kind) {
            v.add("orgId", "roleMismatch", "error.field.role.kind",
                  ["role": request.t("role.\(role.rawValue)"), "kind": request.t("org.kind.\(org.kind.rawValue)")])
        }
        return org
    }
}
