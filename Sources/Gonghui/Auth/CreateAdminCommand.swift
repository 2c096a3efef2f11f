import Fluent
import GonghuiCore
import Vapor

/// `gonghui create-admin --username U --password P [--org ID] [--role ROLE] [--name NAME]`:
/// makes an account without a prompt, for the first city admin and for scripts.
struct CreateAdminCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "username", help: "Sign-in name: 3-32 of a-z 0-9 . _ -") var username: String?
        @Option(name: "password", help: "At least 8 characters with letters and digits") var password: String?
        @Option(name: "org", help: "The organisation id the account is bound to (default: the city federation)") var org: Int?
        @Option(name: "role", help: "cityAdmin (default), districtStaff, streetStaff, unionAdmin, hotlineAgent, stationKeeper") var role: String?
        @Option(name: "name", help: "Display name (default: the username)") var name: String?
        init() {}
    }

    var help: String { "Creates a staff account (the first city admin) without prompting." }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.autoMigrate()
        let made = try await Self.create(
            username: signature.username ?? "", password: signature.password ?? "", orgID: signature.org,
            role: signature.role ?? StaffRole.cityAdmin.rawValue, name: signature.name, on: app)
        context.console.info("Created \(made.role.rawValue) \(made.username) (id \(made.id ?? 0)) at organisation \(made.orgID).")
    }

    static func create(username rawUsername: String, password: String, orgID: Int?, role rawRole: String,
                       name: String?, on app: Application) async throws -> StaffUser {
        let db = app.db
        let username: String
        do { username = try Credentials.username(rawUsername) } catch {
            throw Failure(description: "--username: 3 to 32 characters of a-z, 0-9, '.', '_' or '-'")
        }
        do { try Credentials.checkPassword(password) } catch {
            throw Failure(description: "--password: 8 to 72 characters with both letters and digits")
        }
        guard let role = StaffRole(rawValue: rawRole) else {
            throw Failure(description: "--role: one of \(StaffRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let org: Organization?
        if let orgID { org = try await Organization.find(orgID, on: db) } else {
            org = try await Organization.query(on: db).filter(\.$parentID == nil).sort(\.$id).first()
        }
        guard let org else { throw Failure(description: "--org: no organisation with id \(orgID ?? 0)") }
        guard role.fits(org.kind) else {
            throw Failure(description: "--role: a \(role.rawValue) cannot be bound to a \(org.kind.rawValue) node")
        }
        if try await StaffUser.query(on: db).filter(\.$username == username).count() > 0 {
            throw Failure(description: "--username: \(username) already exists")
        }
        let hash = try await app.password.async.hash(password)
        let staff = StaffUser(username: username, displayName: name ?? username, passwordHash: hash,
                              role: role, orgID: try org.requireID())
        try await db.transaction { tx in
            try await staff.create(on: tx)
            try await Audit.write("staff.create", targetType: "staff", targetID: staff.id, org: org, actor: nil,
                                  ip: nil, requestID: nil, details: ["username": username, "role": role.rawValue, "via": "cli"], on: tx)
        }
        return staff
    }
}
