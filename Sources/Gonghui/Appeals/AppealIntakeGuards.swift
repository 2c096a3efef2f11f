import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// The serial of each day's tracking numbers, taken from a row that every intake increments in its
/// own transaction: two appeals filed at once can never get the same number (a count read before
/// the insert could). A day has room for 9,999 appeals, about eighteen times Beijing's daily volume.
enum AppealSerials {
    static let schema = "appeal_serials"

    static func next(day: CalendarDate, on db: any Database) async throws -> Int {
        let row = try await db.sql.raw("""
            INSERT INTO appeal_serials (day, last) VALUES (\(bind: day.description), 1)
            ON CONFLICT (day) DO UPDATE SET last = appeal_serials.last + 1 RETURNING last
            """).first()
        guard let serial = try row?.decode(column: "last", as: Int.self), serial <= 9_999 else {
            throw AppError(.serviceUnavailable, "error.tryAgain", args: ["seconds": "1"])
        }
        return serial
    }
}

/// The intake's guards in the database: one appeal per idempotency key, the day serials, and one
/// open joining application per ID number. A database that already holds duplicates keeps the
/// first of each; the later copies lose their key, or are closed as repeats.
struct AddIntakeGuards: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database.sql
        try await sql.raw("""
            UPDATE appeals SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND id NOT IN
              (SELECT MIN(id) FROM appeals WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key)
            """).run()
        try await sql.drop(index: "ix_appeals_idempotency").run()
        try await sql.create(index: "uq_appeals_idempotency").unique().on(Appeal.schema).column("idempotency_key").run()

        try await database.schema(AppealSerials.schema)
            .field("day", .string, .identifier(auto: false))
            .field("last", .int64, .required)
            .create()
        try await sql.raw("""
            INSERT INTO appeal_serials (day, last)
            SELECT received_on, MAX(CAST(SUBSTR(tracking_number, 7, 4) AS INTEGER)) FROM appeals GROUP BY received_on
            """).run()

        try await sql.raw("""
            UPDATE member_applications SET status = 'rejected', reason = 'duplicate'
            WHERE status IN ('pending', 'needsInfo') AND id NOT IN
              (SELECT MIN(id) FROM member_applications WHERE status IN ('pending', 'needsInfo') GROUP BY id_index)
            """).run()
        try await sql.raw("""
            CREATE UNIQUE INDEX uq_applications_open_id ON member_applications (id_index)
            WHERE status IN ('pending', 'needsInfo')
            """).run()
    }

    func revert(on database: any Database) async throws {
        let sql = database.sql
        try await sql.drop(index: "uq_applications_open_id").run()
        try await database.schema(AppealSerials.schema).delete()
        try await sql.drop(index: "uq_appeals_idempotency").run()
        try await database.createIndex("ix_appeals_idempotency", on: Appeal.schema, ["idempotency_key"])
    }
}
