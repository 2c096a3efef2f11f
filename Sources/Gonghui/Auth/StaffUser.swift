import Fluent
import Foundation
import GonghuiCore

/// A staff account, bound to one node of the tree; it sees and changes that node's subtree only.
///
/// `@unchecked Sendable`: see `Organization`.
final class StaffUser: Model, @unchecked Sendable {
    static let schema = "staff_users"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "username") var username: String
    @Field(key: "display_name") var displayName: String
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "role") var role: StaffRole
    @Field(key: "org_id") var orgID: Int
    @Field(key: "failed_logins") var failedLogins: Int
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @OptionalField(key: "disabled_at") var disabledAt: Date?
    @OptionalField(key: "last_login_at") var lastLoginAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(username: String, displayName: String, passwordHash: String, role: StaffRole, orgID: Int) {
        self.username = username
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.role = role
        self.orgID = orgID
        self.failedLogins = 0
    }

    var lockState: Credentials.LockState {
        get { .init(failedAttempts: failedLogins, lockedUntil: lockedUntil?.timeIntervalSince1970) }
        set {
            failedLogins = newValue.failedAttempts
            lockedUntil = newValue.lockedUntil.map { Date(timeIntervalSince1970: $0) }
        }
    }

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }
}

/// An API bearer token. Only its SHA-256 is stored, so a copy of the database signs nobody in.
final class ApiToken: Model, @unchecked Sendable {
    static let schema = "api_tokens"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "staff_id") var staffID: Int
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @OptionalField(key: "ip") var ip: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(tokenHash: String, staffID: Int, expiresAt: Date, ip: String?) {
        self.tokenHash = tokenHash
        self.staffID = staffID
        self.expiresAt = expiresAt
        self.ip = ip
    }
}

struct CreateStaffUsers: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(StaffUser.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("username", .string, .required)
            .field("display_name", .string, .required)
            .field("password_hash", .string, .required)
            .field("role", .string, .required)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("failed_logins", .int, .required)
            .field("locked_until", .datetime)
            .field("disabled_at", .datetime)
            .field("last_login_at", .datetime)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "username")
            .create()
        try await database.createIndex("staff_users_org", on: StaffUser.schema, ["org_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(StaffUser.schema).delete()
    }
}

struct CreateApiTokens: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ApiToken.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("token_hash", .string, .required)
            .field("staff_id", .int64, .required, .references(StaffUser.schema, "id"))
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("ip", .string)
            .field("created_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await database.createIndex("api_tokens_staff", on: ApiToken.schema, ["staff_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ApiToken.schema).delete()
    }
}
