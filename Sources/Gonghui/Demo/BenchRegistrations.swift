import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `gonghui bench-registrations`: prepares `scripts/bench/registrations` (a city-wide contest, the
/// members and one sign-in token each, written for wrk), and with `--verify` reads back what the
/// run left: the contest's kept count and the registrations themselves.
struct BenchRegistrationsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "members", help: "How many members register (default 50,000)") var members: Int?
        @Option(name: "capacity", help: "The contest's capacity (default 40,000)") var capacity: Int?
        @Option(name: "tokens", help: "Where to write one member token per line") var tokens: String?
        @Option(name: "verify", help: "A contest id: print its registrations and kept count") var verify: Int?
        init() {}
    }

    var help: String { "Prepares (or checks) the contest-registration benchmark." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let console = context.console
        try await app.autoMigrate()
        let db = app.db
        if let id = signature.verify {
            let rows = try await ContestRegistration.query(on: db).filter(\.$contestID == id).count()
            let kept = try await Contest.find(id, on: db)?.registered ?? -1
            let capacity = try await Contest.find(id, on: db)?.capacity ?? -1
            let dupes = try await db.sql.raw("""
                SELECT COUNT(*) AS n FROM (SELECT member_id FROM contest_registrations WHERE contest_id = \(bind: id) GROUP BY member_id HAVING COUNT(*) > 1) d
                """).first()?.decode(column: "n", as: Int.self) ?? -1
            console.print("verify: contest \(id) capacity \(capacity), registrations \(rows), kept count \(kept), members registered twice \(dupes)")
            if rows > capacity || rows != kept || dupes != 0 { throw CreateAdminCommand.Failure(description: "the contest's registrations do not hold") }
            return
        }
        let count = signature.members ?? 50_000
        guard let path = signature.tokens else { throw CreateAdminCommand.Failure(description: "--tokens FILE") }
        let started = Date()
        if try await Organization.query(on: db).filter(\.$kind == .street).count() == 0 {
            _ = try await Seeder(db: db, progress: { console.info($0) }).seed(.demo)
        }
        let have = try await Member.query(on: db).count()
        if have < count {
            try await MemberSeeder(db: db, cipher: app.fieldCipher, cardPrefix: CardSerials.prefix(app), progress: { console.info($0) }).seed(count: count - have)
        }
        guard let city = try await Organization.query(on: db).filter(\.$kind == .city).first() else { return }
        let c = Contest()
        c.orgID = try city.requireID()
        c.name = "北京市焊工职业技能竞赛（压测）"
        c.trade = "焊工"
        c.level = "city"
        c.capacity = signature.capacity ?? 40_000
        c.registered = 0
        c.registrationClosesAt = Date().addingTimeInterval(86_400)
        c.stages = String(decoding: try JSONEncoder().encode(Contests.defaultStages), as: UTF8.self)
        c.state = .open
        c.prizes = "[0,0,0]"
        c.promoteTop = 10
        c.passMark = 60
        try await c.create(on: db)
        // one live token per member, written in bulk (the hash is what the table keeps)
        let ids = try await db.sql.raw("SELECT id FROM members WHERE status = 'active' ORDER BY id LIMIT \(unsafeRaw: String(count))").all()
            .map { try $0.decode(column: "id", as: Int.self) }
        let lines = ids.map { "ghm_bench\($0)_" + UUID().uuidString.replacingOccurrences(of: "-", with: "") }
        let expires = Date().addingTimeInterval(86_400)
        try await db.transaction { tx in
            var batch = (tx as! any SQLDatabase).insert(into: MemberToken.schema).columns("token_hash", "member_id", "expires_at", "created_at")
            var n = 0
            for (id, token) in zip(ids, lines) {
                batch = batch.values(SQLBind(Tokens.hash(token)), SQLBind(id), SQLBind(expires), SQLBind(Date()))
                n += 1
                if n == 500 {
                    try await batch.run()
                    batch = (tx as! any SQLDatabase).insert(into: MemberToken.schema).columns("token_hash", "member_id", "expires_at", "created_at")
                    n = 0
                }
            }
            if n > 0 { try await batch.run() }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        console.print("contest \(try c.requireID()) capacity \(c.capacity), \(ids.count) member tokens in \(path) (\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
    }
}
