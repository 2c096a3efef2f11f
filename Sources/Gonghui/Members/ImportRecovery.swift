import Fluent
import FluentSQL
import Foundation
import Vapor

/// An import whose process died (kill -9, a crash, a power cut) stays `running` in the table with
/// nobody running it. Each batch writes the job's heartbeat; a job whose heartbeat is older than
/// `staleAfter` is marked `interrupted` with a message that says what to do: upload the same file
/// again, and the rows already in are recognised by their ID numbers and skipped, so none comes in twice.
enum ImportRecovery {
    static let staleAfter: TimeInterval = 120

    /// Marks stale running jobs interrupted; returns how many. On SQLite, at start-up, every running
    /// job is stale (one process, and it is only starting); on PostgreSQL another process may be
    /// running one, so only jobs without a heartbeat for two minutes count.
    @discardableResult
    static func markInterrupted(on db: any Database, localizer: Localizer, now: Date = Date(), everyRunning: Bool) async throws -> Int {
        let cutoff = everyRunning ? now.addingTimeInterval(1) : now.addingTimeInterval(-staleAfter)
        let message = localizer.text("error.import.interrupted", .zhHans) + " / " + localizer.text("error.import.interrupted", .en)
        let rows = try await (db as! any SQLDatabase).raw("""
            UPDATE import_jobs SET state = 'interrupted', message = \(bind: message), finished_at = \(bind: now)
            WHERE state = 'running' AND COALESCE(heartbeat_at, created_at) < \(bind: cutoff) RETURNING id
            """).all()
        return rows.count
    }
}

/// The heartbeat column.
struct AddImportHeartbeat: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ImportJob.schema).field("heartbeat_at", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ImportJob.schema).deleteField("heartbeat_at").update()
    }
}

/// At start-up of a server or a command, interrupted imports are marked so (see `ImportRecovery`).
struct ImportRecoveryOnBoot: LifecycleHandler {
    func didBootAsync(_ application: Application) async throws {
        let command = application.environment.arguments.dropFirst().first
        guard application.environment != .testing, command == nil || command == "serve" || command!.hasPrefix("-") else { return }
        do {
            let count = try await ImportRecovery.markInterrupted(on: application.db, localizer: application.localizer,
                                                                 everyRunning: !application.db.isPostgres)
            if count > 0 { application.logger.notice("\(count) import(s) interrupted by an earlier stop are marked interrupted") }
        } catch {
            application.logger.warning("could not check for interrupted imports: \(String(describing: type(of: error)))")
        }
    }
}
