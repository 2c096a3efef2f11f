import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `gonghui demo`: a small realistic Beijing in gonghui-demo.sqlite, an account for each role,
/// the sign-ins printed, then the server on http://127.0.0.1:8080.
enum Demo {
    static let password = "gonghui2024"
    static let databaseFile = "gonghui-demo.sqlite"

    struct Account {
        let username: String
        let name: String
        let role: StaffRole
        let place: Place
    }

    /// Where an account sits, found by what the seeder makes: the city, a node by kind and name, or
    /// the first grassroots union of a kind below a street (enterprise unions carry no place name).
    enum Place {
        case city
        case named(OrgKind, String)
        case firstUnder(street: String, OrgKind)
    }

    /// A demo account whose node the data does not hold: the demo stops instead of printing it.
    struct MissingNode: Error, CustomStringConvertible {
        let username: String
        var description: String { "gonghui demo: no organisation for the account \(username); the demo data is incomplete" }
    }

    static let accounts: [Account] = [
        Account(username: "admin", name: "市总工会管理员", role: .cityAdmin, place: .city),
        Account(username: "chaoyang", name: "朝阳区总工会 王芳", role: .districtStaff, place: .named(.district, "朝阳区总工会")),
        Account(username: "haidian", name: "海淀区总工会 李强", role: .districtStaff, place: .named(.district, "海淀区总工会")),
        Account(username: "jianwai", name: "建外街道总工会 张伟", role: .streetStaff, place: .named(.street, "建外街道总工会")),
        Account(username: "union", name: "基层工会主席 刘洋", role: .unionAdmin, place: .firstUnder(street: "建外", .enterprise)),
        Account(username: "hotline", name: "12351 坐席 陈静", role: .hotlineAgent, place: .city),
        Account(username: "station", name: "驿站管理员 赵磊", role: .stationKeeper, place: .named(.community, "建外")),
    ]

    static func run(env: Environment, config baseConfig: GonghuiConfig) async throws {
        var config = baseConfig
        config.database = .sqliteFile(databaseFile)
        if config.dataKey == nil {
            config.dataKey = try loadOrMakeKey()
        }
        var env = env
        env.arguments = [env.arguments.first ?? "gonghui", "serve"]
        let app = try await Application.make(env)
        do {
            try await configure(app, config)
            try await migrate(app)
            let phase = phaseLog(app.logger)
            let seeded = try await Seeder(db: app.db, progress: phase).seed(.demo)
            if seeded {
                let members = MemberSeeder(db: app.db, cipher: app.fieldCipher, cardPrefix: CardSerials.prefix(app), progress: phase)
                try await members.seed(count: Seeder.Scale.demo.members)
            }
            let outreach = OutreachSeeder(db: app.db, progress: phase)
            if try await outreach.seed(.demo),
               let street = try await Organization.query(on: app.db).filter(\.$kind == .street).filter(\.$name ~~ "建外").first() {
                // Today's weekly meeting at 建外, with four workers who have just applied at its booth.
                let meeting = try await outreach.todaysMeeting(at: street)
                let waiting = try await MemberApplication.query(on: app.db).filter(\.$orgID == street.id!).filter(\.$status == .pending).all()
                if waiting.isEmpty {
                    try await MemberSeeder(db: app.db, cipher: app.fieldCipher, cardPrefix: CardSerials.prefix(app), progress: { _ in })
                        .pendingApplications(at: street, count: 4, meetingID: meeting.id)
                } else {
                    for application in waiting {
                        application.meetingID = meeting.id
                        try await application.save(on: app.db)
                    }
                }
            }
            let sites = SiteSeeder(db: app.db, progress: phase)
            if try await sites.seed(.demo) { try await sites.seedJianwai() }
            let jianwai = try await Organization.query(on: app.db).filter(\.$kind == .street).filter(\.$name ~~ "建外").first()
            _ = try await AppealSeeder(db: app.db, progress: phase).seed(count: 240, days: 90, focus: jianwai?.id)
            _ = try await AssistanceSeeder(db: app.db, cipher: app.fieldCipher, progress: phase).seed(count: 60, focus: jianwai?.id)
            _ = try await ReliefSeeder(db: app.db, cipher: app.fieldCipher, progress: phase).seed(years: 1)
            _ = try await MutualAidSeeder(db: app.db, cipher: app.fieldCipher, localizer: app.localizer, progress: phase).seed(members: 400)
            _ = try await RightsSeeder(db: app.db, progress: phase).seed(casesPerYear: 60, years: 1)
            _ = try await DevelopmentSeeder(db: app.db, progress: phase).seed(.demo)
            try await ensureAccounts(app)
            printSignIns(config, fresh: seeded)
            try await app.execute()
            try await app.asyncShutdown()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }

    /// Migrations without a line each (they log at debug), one line for the phase.
    static func migrate(_ app: Application) async throws {
        app.fluent.migrationLogLevel = .debug
        try await app.migrator.setupIfNeeded().get()
        let pending = try await app.migrator.previewPrepareBatch().get().count
        try await app.autoMigrate()
        app.logger.info(pending == 0 ? "database: up to date" : "database: \(pending) migrations applied")
    }

    /// The seeders' progress as one line per phase (their closing "seeded …" line); every line at debug.
    static func phaseLog(_ logger: Logger) -> @Sendable (String) -> Void {
        { line in
            if logger.logLevel <= .debug || line.hasPrefix("seeded") { logger.info("\(line)") }
        }
    }

    /// The demo's data key lives beside its database, so reruns can read what earlier runs wrote.
    static func loadOrMakeKey() throws -> [UInt8] {
        let path = "gonghui-demo.key"
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
           let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 {
            return Array(data)
        }
        let key = [UInt8].random(count: 32)
        try Data(key).base64EncodedString().write(toFile: path, atomically: true, encoding: .utf8)
        print("Made a demo data key in \(path) (GONGHUI_DATA_KEY). Keep it beside \(databaseFile).")
        return key
    }

    /// Makes every account the demo prints; a node it cannot find stops the demo, naming the account.
    static func ensureAccounts(_ app: Application) async throws {
        for account in accounts where try await StaffUser.query(on: app.db).filter(\.$username == account.username).count() == 0 {
            guard let org = try await node(account.place, on: app.db), account.role.fits(org.kind) else {
                throw MissingNode(username: account.username)
            }
            _ = try await CreateAdminCommand.create(username: account.username, password: password, orgID: org.id,
                                                    role: account.role.rawValue, name: account.name, on: app)
        }
    }

    static func node(_ place: Place, on db: any Database) async throws -> Organization? {
        switch place {
        case .city:
            return try await Organization.query(on: db).filter(\.$parentID == nil).sort(\.$id).first()
        case let .named(kind, name):
            return try await Organization.query(on: db).filter(\.$kind == kind).filter(\.$name ~~ name).sort(\.$id).first()
        case let .firstUnder(street, kind):
            guard let parent = try await Organization.query(on: db).filter(\.$kind == .street).filter(\.$name ~~ street)
                .sort(\.$id).first() else { return nil }
            return try await Organization.query(on: db).inSubtree(parent.treePath).filter(\.$kind == kind).sort(\.$id).first()
        }
    }

    static func printSignIns(_ config: GonghuiConfig, fresh: Bool) {
        var lines = ["", "Gonghui demo 工会服务平台演示 — \(fresh ? "new" : "reused") \(databaseFile)",
                     "Console: http://\(config.host):\(config.port)/login   (password for every account: \(password))", ""]
        for account in accounts {
            lines.append("  " + account.username.padding(toLength: 10, withPad: " ", startingAt: 0)
                         + account.role.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0) + account.name)
        }
        lines.append("")
        print(lines.joined(separator: "\n"))
    }
}
