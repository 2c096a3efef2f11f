import Crypto
import Fluent
import Foundation
import GonghuiCore
import Vapor

/// Checks a username and password, keeps the lock-out count, and audits every attempt.
/// Shared by the API's token login and the console's session login.
enum SignIn {
    static func attempt(username rawUsername: String, password: String, on request: Request) async throws -> StaffUser {
        let username = (try? Credentials.username(rawUsername)) ?? ""
        let now = Date()
        guard let staff = try await StaffUser.query(on: request.db).filter(\.$username == username).first() else {
            _ = try? await request.password.async.verify(password, created: request.application.decoyPasswordHash)
            try await request.audit.record("auth.login.failed", details: ["username": String(username.prefix(32)), "reason": "unknownUser"])
            throw AppError(.unauthorized, "error.login.invalid")
        }
        let actor = (id: try staff.requireID(), username: staff.username)
        let org = try await Organization.find(staff.orgID, on: request.db)
        if staff.lockState.isLocked(at: now.timeIntervalSince1970) {
            try await request.audit.record("auth.login.failed", targetType: "staff", targetID: actor.id, org: org, actor: actor, details: ["reason": "locked"])
            throw lockedError(staff, on: request)
        }
        let valid = (try? await request.password.async.verify(password, created: staff.passwordHash)) ?? false
        guard valid, staff.disabledAt == nil else {
            if valid {
                try await request.audit.record("auth.login.failed", targetType: "staff", targetID: actor.id, org: org, actor: actor, details: ["reason": "disabled"])
                throw AppError(.unauthorized, "error.login.invalid")
            }
            staff.lockState = staff.lockState.failing(at: now.timeIntervalSince1970)
            try await staff.save(on: request.db)
            let locked = staff.lockState.isLocked(at: now.timeIntervalSince1970)
            try await request.audit.record("auth.login.failed", targetType: "staff", targetID: actor.id, org: org, actor: actor,
                                           details: ["reason": locked ? "lockedNow" : "password"])
            throw locked ? lockedError(staff, on: request) : AppError(.unauthorized, "error.login.invalid")
        }
        staff.failedLogins = 0
        staff.lockedUntil = nil
        staff.lastLoginAt = now
        try await staff.save(on: request.db)
        return staff
    }

    static func lockedError(_ staff: StaffUser, on request: Request) -> AppError {
        let minutes = max(1, Int(((staff.lockedUntil ?? Date()).timeIntervalSinceNow / 60).rounded(.up)))
        return AppError(.locked, "error.login.locked", args: ["minutes": String(minutes)])
    }

    /// The scope of a signed-in account; nil when it is disabled or its node is gone.
    static func scope(for staff: StaffUser, on db: any Database) async throws -> Scope? {
        guard staff.disabledAt == nil, let org = try await Organization.find(staff.orgID, on: db) else { return nil }
        return Scope(staffID: try staff.requireID(), username: staff.username, displayName: staff.displayName,
                     role: staff.role, rootID: try org.requireID(), root: org.treePath, rootName: org.name)
    }
}

/// API bearer tokens: random, shown once, stored as SHA-256.
enum Tokens {
    static let lifetime: TimeInterval = 12 * 3600

    static func issue(for staff: StaffUser, on request: Request) async throws -> (token: String, record: ApiToken) {
        let raw = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64URLEncoded()
        let record = ApiToken(tokenHash: hash(raw), staffID: try staff.requireID(),
                              expiresAt: Date().addingTimeInterval(lifetime), ip: request.clientAddress)
        try await record.create(on: request.db)
        return ("ghs_" + raw, record)
    }

    static func hash(_ token: String) -> String {
        let raw = token.hasPrefix("ghs_") ? String(token.dropFirst(4)) : token
        return SHA256.hash(data: Data(raw.utf8)).hex
    }

    /// Revokes every live token of an account (disabled, password changed).
    static func revokeAll(staffID: Int, except keep: Int? = nil, on db: any Database) async throws {
        var query = ApiToken.query(on: db).filter(\.$staffID == staffID).filter(\.$revokedAt == nil)
        if let keep { query = query.filter(\.$id != keep) }
        try await query.set(\.$revokedAt, to: Date()).update()
    }
}

extension Data {
    func base64URLEncoded() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension Digest {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension Application {
    private struct DecoyKey: StorageKey { typealias Value = String }

    /// A hash of a password nobody has, at the configured cost, verified when the username is
    /// unknown so an attacker cannot tell unknown names from wrong passwords by the time it takes.
    var decoyPasswordHash: String {
        get { storage[DecoyKey.self] ?? "" }
        set { storage[DecoyKey.self] = newValue }
    }
}
