import Crypto
import Fluent
import Foundation
import GonghuiCore
import Vapor

/// Checks a username and password, and audits every attempt. Shared by the API's token login and
/// the console's session login.
///
/// Guessing is slowed, never turned into a lock anyone can set: each address has
/// `GONGHUI_RATE_LIMIT` attempts a minute (429), and failures back off per username from one
/// address (after 5) and per username from everywhere (after 20), each failure doubling the wait
/// up to 15 minutes. While a name backs off, an attempt is answered exactly as a wrong password,
/// whether the name exists or not, and nothing is hashed. The state is in the database (`Throttle`).
enum SignIn {
    static let freePerAddress = 5
    static let freePerName = 20

    static func attempt(username rawUsername: String, password: String, on request: Request) async throws -> StaffUser {
        let username = (try? Credentials.username(rawUsername)) ?? ""
        let name = username.isEmpty ? "?" + String(rawUsername.lowercased().prefix(64)) : username
        let address = request.clientAddress ?? "unknown"
        let throttle = request.throttle
        let limit = request.application.gonghui.rateLimit
        if limit > 0, let wait = try await throttle.hit("login:addr:\(address)", limit: limit) {
            throw AppError.tooMany(retryAfter: wait, "error.login.tooMany")
        }
        let buckets = buckets(name, address: address)
        if try await throttle.blocked(buckets) != nil {
            try await request.audit.record("auth.login.failed", details: ["username": String(name.prefix(32)), "reason": "backingOff"])
            throw AppError(.unauthorized, "error.login.invalid")
        }
        let work = request.application.passwordWork
        guard let staff = try await StaffUser.query(on: request.db).filter(\.$username == username).first() else {
            _ = try await work.verify(password, created: request.application.decoyPasswordHash)
            try await failed(name, address: address, staff: nil, on: request)
            try await request.audit.record("auth.login.failed", details: ["username": String(name.prefix(32)), "reason": "unknownUser"])
            throw AppError(.unauthorized, "error.login.invalid")
        }
        let actor = (id: try staff.requireID(), username: staff.username)
        let org = try await Organization.find(staff.orgID, on: request.db)
        let valid = try await work.verify(password, created: staff.passwordHash)
        guard valid, staff.disabledAt == nil else {
            if valid {
                try await request.audit.record("auth.login.failed", targetType: "staff", targetID: actor.id, org: org, actor: actor, details: ["reason": "disabled"])
                throw AppError(.unauthorized, "error.login.invalid")
            }
            try await failed(name, address: address, staff: staff, on: request)
            try await request.audit.record("auth.login.failed", targetType: "staff", targetID: actor.id, org: org, actor: actor,
                                           details: ["reason": "password"])
            throw AppError(.unauthorized, "error.login.invalid")
        }
        try await throttle.clear(buckets)
        staff.failedLogins = 0
        staff.lockedUntil = nil
        staff.lastLoginAt = Date()
        try await staff.save(on: request.db)
        return staff
    }

    static func buckets(_ name: String, address: String) -> [String] {
        ["login:name:\(name)", "login:pair:\(name)|\(address)"]
    }

    /// Counts a failure for the name from this address and from everywhere; an account shows the
    /// name's back-off as `locked` (its `locked_until`), which an administrator can lift.
    private static func failed(_ name: String, address: String, staff: StaffUser?, on request: Request) async throws {
        let throttle = request.throttle
        try await throttle.fail("login:pair:\(name)|\(address)", free: freePerAddress)
        let everywhere = try await throttle.fail("login:name:\(name)", free: freePerName)
        guard let staff else { return }
        staff.failedLogins = everywhere.failures
        staff.lockedUntil = everywhere.blockedUntil > 0 ? Date(timeIntervalSince1970: Double(everywhere.blockedUntil)) : nil
        try await staff.save(on: request.db)
    }

    /// Lifts every back-off of an account's name (an administrator's unlock).
    static func unlock(_ username: String, on db: any Database) async throws {
        let throttle = Throttle(db: db)
        try await throttle.clear(["login:name:\(username)"])
        try await throttle.clear(prefix: "login:pair:\(username)|")
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
