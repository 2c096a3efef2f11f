import Foundation
import GonghuiCore
import Vapor

struct StaffDTO: Content {
    let id: Int
    let username: String
    let displayName: String
    let role: StaffRole
    let orgId: Int
    let locked: Bool
    let disabled: Bool
    let lastLoginAt: Date?
    let createdAt: Date?

    init(_ staff: StaffUser) {
        id = staff.id ?? 0
        username = staff.username
        displayName = staff.displayName
        role = staff.role
        orgId = staff.orgID
        locked = staff.lockState.isLocked(at: Date().timeIntervalSince1970)
        disabled = staff.disabledAt != nil
        lastLoginAt = staff.lastLoginAt
        createdAt = staff.createdAt
    }
}

/// The body of `POST /api/v1/staff` and `PATCH /api/v1/staff/{id}`.
struct StaffInput: Decodable, Sendable {
    var username: String?
    var password: String?
    /// Needed to change one's own password.
    var currentPassword: String?
    var displayName: String?
    var role: String?
    var orgId: Int?
    var disabled: Bool?
    /// Clears a lock-out before its time.
    var unlock: Bool?
}

struct LoginInput: Decodable, Sendable {
    var username: String?
    var password: String?
}

struct LoginDTO: Content {
    let token: String
    let expiresAt: Date
    let user: StaffDTO
}

struct MeDTO: Content {
    struct Permissions: Content {
        let manageOrgs: Bool
        let manageAccounts: Bool
        let readAudit: Bool
        let grantableRoles: [StaffRole]
    }

    let user: StaffDTO
    let org: OrgDTO
    let permissions: Permissions
}
