import Fluent
import FluentSQL
import Foundation

/// What the city sets for assistance: how many working days a household's (and a batch's) public
/// notice stands (default 5, 0 to 15). The lead's `GET/PUT /api/v1/assistance-settings` writes it;
/// relief batches only read it.
enum AssistanceSettings {
    static let defaultNoticeWorkingDays = 5
    static let noticeRange = 0...15

    static func noticeWorkingDays(on db: any Database) async throws -> Int {
        let rows = try await db.sql.raw("SELECT value FROM assistance_settings WHERE key = 'noticeWorkingDays'").all()
        guard let row = rows.first, let days = Int(try row.decode(column: "value", as: String.self)) else { return defaultNoticeWorkingDays }
        return days
    }

    static func setNoticeWorkingDays(_ days: Int, on db: any Database) async throws {
        try await db.sql.raw("DELETE FROM assistance_settings WHERE key = 'noticeWorkingDays'").run()
        try await db.sql.raw("INSERT INTO assistance_settings (key, value) VALUES ('noticeWorkingDays', \(bind: String(days)))").run()
    }
}

struct CreateAssistanceSettings: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.sql.raw("CREATE TABLE assistance_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.sql.raw("DROP TABLE assistance_settings").run()
    }
}
