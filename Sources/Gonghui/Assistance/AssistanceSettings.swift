import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// What the city sets for assistance: how many working days a household's (and a batch's) public
/// notice stands (default 5, 0 to 15). `GET/PUT /api/v1/assistance-settings`.
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

struct AssistanceSettingsDTO: Content {
    let noticeWorkingDays: Int
}

struct AssistanceSettingsController: RouteCollection {
    struct Input: Content { var noticeWorkingDays: Int? }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("assistance-settings", use: read)
        routes.put("assistance-settings", use: write)
    }

    @Sendable func read(req: Request) async throws -> AssistanceSettingsDTO {
        let scope = try req.scope
        try scope.require(scope.role.managesOrgs || scope.role == .unionAdmin)
        return AssistanceSettingsDTO(noticeWorkingDays: try await AssistanceSettings.noticeWorkingDays(on: req.db))
    }

    @Sendable func write(req: Request) async throws -> AssistanceSettingsDTO {
        let scope = try req.scope
        try scope.require(scope.role == .cityAdmin)
        let input = try req.content.decode(Input.self)
        var v = Validator()
        if let days = input.noticeWorkingDays {
            if !AssistanceSettings.noticeRange.contains(days) { v.add("noticeWorkingDays", "range", nil, ["min": "0", "max": "15"]) }
        } else { v.add("noticeWorkingDays", "required") }
        try v.check()
        try await AssistanceSettings.setNoticeWorkingDays(input.noticeWorkingDays!, on: req.db)
        try await req.audit.record("assistance.settings", details: ["noticeWorkingDays": String(input.noticeWorkingDays!)])
        return AssistanceSettingsDTO(noticeWorkingDays: input.noticeWorkingDays!)
    }
}
