import Fluent
import FluentPostgresDriver
import FluentSQL
import FluentSQLiteDriver
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The database gone, locked, unmigrated or opened with the wrong key; two sweeps at once; an
/// import whose process died. None of it answers 500, none of it acts twice.
@Suite struct FaultTests {
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port)) // nobody listens once the socket is closed
    }

    @Test func aDatabaseThatCannotBeReachedAnswers503WithRetryAfterAndReadyzSaysNotReady() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            // From here on every request goes to a PostgreSQL that is not there.
            app.databases.use(try .postgres(url: "postgres://gonghui@127.0.0.1:\(try Self.closedPort())/gonghui", connectionPoolTimeout: .seconds(2)),
                              as: .init(string: "down"), isDefault: true)
            let appeal = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            #expect(appeal.status == .serviceUnavailable, "\(appeal.body.string)")
            #expect(appeal.headers.first(name: .retryAfter) == "5")
            #expect(appeal.headers.contentType?.subType == "problem+json")
            #expect(appeal.json["title"] as? String == "请稍后再试")
            let page = try await app.testing().sendRequest(.GET, "/sites", headers: ["Accept": "text/html"])
            #expect(page.status == .serviceUnavailable)
            let ready = try await app.testing().sendRequest(.GET, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["status"] as? String == "database unreachable")
        }
    }

    @Test func aWriteBehindAnOutsideLockWaitsItsBusyTimeoutThenAnswers503() async throws {
        guard !onPostgres else { return } // SQLite's own lock; PostgreSQL has row locks
        try await withApp(configured: { $0.sqliteBusyMillis = 50 }) { app in
            let f = try await Fixture.make(app)
            guard case let .sqliteFile(path) = app.gonghui.database else { return }
            // Another program (sqlite3, a backup) holds the write lock.
            app.databases.use(.sqlite(.file(path)), as: .init(string: "outside"), isDefault: false)
            let outside = app.db(.init(string: "outside")) as! any SQLDatabase
            try await outside.withSession { conn in
                try await conn.raw("BEGIN IMMEDIATE").run()
                let blocked = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
                #expect(blocked.status == .serviceUnavailable, "\(blocked.body.string)")
                #expect(blocked.headers.first(name: .retryAfter) != nil)
                try await conn.raw("COMMIT").run()
            }
            let after = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            #expect(after.status == .created)
            #expect(try await Appeal.query(on: app.db).count() == 1)
        }
    }

    @Test func readyzIsNotReadyUntilEveryMigrationIsApplied() async throws {
        try await withApp { app in
            // The verdicts with time to spare (a loaded test machine); the endpoint's own limit is a second.
            #expect(await Readiness.check(app, on: app.eventLoopGroup.any(), within: .seconds(30)) == "ok")
            try await (app.db as! any SQLDatabase).raw("DELETE FROM _fluent_migrations WHERE name = \(bind: AddImportHeartbeat().name)").run()
            #expect(await Readiness.check(app, on: app.eventLoopGroup.any(), within: .seconds(30)).contains("not migrated"))
            let ready = try await app.testing().sendRequest(.GET, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers.first(name: .retryAfter) != nil)
        }
    }

    @Test func readyzIsNotReadyOnAReadOnlyDatabase() async throws {
        try await withApp { app in try await Self.readOnly(app) }
    }

    static func readOnly(_ app: Application) async throws {
        do {
            #expect(await Readiness.check(app, on: app.eventLoopGroup.any(), within: .seconds(30)) == "ok")
            if app.db.isPostgres {
                // A standby, or a database set read-only: a server started on it is not ready.
                try await app.db.sql.raw("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$").run()
                let again = try await Application.make(.testing)
                try await configure(again, app.gonghui)
                let verdict = await Readiness.check(again, on: again.eventLoopGroup.any(), within: .seconds(30))
                try await again.asyncShutdown()
                // A connection the pool opens from now on starts read-only: the reset runs in a transaction made read-write first.
                try await app.db.transaction { tx in
                    try await tx.sql.raw("SET TRANSACTION READ WRITE").run()
                    try await tx.sql.raw("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET default_transaction_read_only', current_database()); END $$").run()
                }
                #expect(verdict == "database is read-only")
            } else {
                try await SQLiteTuning.onEveryConnection(app, "PRAGMA query_only = 1")
                #expect(await Readiness.check(app, on: app.eventLoopGroup.any(), within: .seconds(30)) == "database is read-only")
                try await SQLiteTuning.onEveryConnection(app, "PRAGMA query_only = 0")
            }
        }
    }

    @Test func anotherDataKeyOnAnExistingDatabaseRefusesToStartAndAMissingKeyLeavesNoFile() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            _ = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(11), orgId: f.jianwaiUnion.id!))
            for key: UInt8 in [7, 8] {
                let again = try await Application.make(.testing)
                var config = app.gonghui
                config.dataKey = Array(repeating: key, count: 32)
                do {
                    try await configure(again, config)
                    #expect(key == 7, "the original key starts")
                } catch let problem as GonghuiConfig.Problem {
                    #expect(key == 8)
                    #expect(problem.variable == "GONGHUI_DATA_KEY")
                    #expect(problem.message.contains("not the key this database was created with"))
                }
                try await again.asyncShutdown()
            }
        }
        let path = testDatabaseFolder + "/gh-nokey-\(UUID().uuidString).sqlite"
        let app = try await Application.make(.testing)
        var config = GonghuiConfig()
        config.database = .sqliteFile(path)
        await #expect(throws: GonghuiConfig.Problem.self) { try await configure(app, config) }
        try await app.asyncShutdown()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aDatabaseFromBeforeTheCheckIsVerifiedByOpeningAStoredIDNumber() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let filed = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(12), orgId: f.jianwaiUnion.id!))
            let id = try #require(filed.json["id"] as? Int)
            let approved = try await app.send(.POST, "/api/v1/member-applications/\(id)/approve", try await app.token("jianwai"),
                                              json: "{\"orgId\":\(f.jianwaiUnion.id!)}")
            #expect(approved.status == .ok, "\(approved.body.string)")
            #expect(try await Member.query(on: app.db).count() == 1)
            try await app.db.sql.raw("DELETE FROM gonghui_key_check").run()
            await #expect(throws: GonghuiConfig.Problem.self) {
                try await KeyCheck.verify(app.db.sql, cipher: FieldCipher(dataKey: Array(repeating: 9, count: 32)))
            }
            try await KeyCheck.verify(app.db.sql, cipher: app.fieldCipher)
        }
    }

    @Test func twoSweepsAtOnceEscalateEachOverdueAppealOnceAndWriteTheAuditLog() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            for n in 0..<30 {
                let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "1391111\(String(format: "%04d", n))", orgId: f.jianwai.id!,
                                                                                              description: "第 \(n) 件"))
                #expect(created.status == .created)
            }
            try await app.db.sql.raw("UPDATE appeals SET due_at = \(bind: Date().addingTimeInterval(-86_400))").run()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await AppealService.sweep(on: app.db, now: Date(), throttle: false) } }
                try await group.waitForAll()
            }
            #expect(try await AppealEvent.query(on: app.db).filter(\.$kind == "escalate").count() == 30)
            #expect(try await Appeal.query(on: app.db).filter(\.$supervisorOrgID == f.chaoyang.id!).count() == 30)
            #expect(try await app.auditCount("appeal.sweep") >= 1)
            // A later sweep finds nothing left to do and writes nothing.
            try await AppealService.sweep(on: app.db, now: Date(), throttle: false)
            #expect(try await AppealEvent.query(on: app.db).filter(\.$kind == "escalate").count() == 30)
        }
    }

    @Test func anImportWhoseProcessDiedIsMarkedInterruptedAndTheSameFileAgainAddsOnlyTheRest() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let job = try await RosterImports.makeJob(union: f.jianwaiUnion, staffID: nil, fileName: "名册.csv", totalBytes: 100, on: app.db)
            // A live job (a heartbeat just now) on another process is left alone…
            try await app.db.sql.raw("UPDATE import_jobs SET heartbeat_at = \(bind: Date()) WHERE id = \(bind: job.id!)").run()
            #expect(try await ImportRecovery.markInterrupted(on: app.db, localizer: app.localizer, everyRunning: false) == 0)
            // …a silent one is not, and a server starting alone marks every running job.
            let later = Date().addingTimeInterval(ImportRecovery.staleAfter + 5)
            #expect(try await ImportRecovery.markInterrupted(on: app.db, localizer: app.localizer, now: later, everyRunning: false) == 1)
            let marked = try #require(try await ImportJob.find(job.id, on: app.db))
            #expect(marked.state == "interrupted")
            #expect(marked.message?.contains("重新上传同一文件") == true)
            let other = try await RosterImports.makeJob(union: f.jianwaiUnion, staffID: nil, fileName: "b.csv", totalBytes: 1, on: app.db)
            #expect(try await ImportRecovery.markInterrupted(on: app.db, localizer: app.localizer, everyRunning: true) == 1)
            #expect(try await ImportJob.find(other.id, on: app.db)?.state == "interrupted")
            #expect(app.localizer.text("import.state.interrupted", .zhHans) == "已中断")
        }
    }
}
