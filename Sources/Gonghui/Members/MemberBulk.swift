import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Many new members in one statement per 1,000, their card numbers from one reserved block.
/// The roster import and the seeder insert through here on PostgreSQL; on SQLite they use
/// `SQLiteMemberWriter` (one prepared INSERT per row on a connection of its own).
enum MemberBulk {
    struct Row: Sendable {
        let orgID: Int
        let name: String
        let sealed: Data
        let index: String
        let sex: String
        let birth: String
        let phone: String
        let employer: String?
        let creditCode: String?
        let joined: String

        init(orgID: Int, name: String, sealed: Data, index: String, sex: String, birth: String, phone: String,
             employer: String?, creditCode: String?, joined: String) {
            (self.orgID, self.name, self.sealed, self.index, self.sex, self.birth) = (orgID, name, sealed, index, sex, birth)
            (self.phone, self.employer, self.creditCode, self.joined) = (phone, employer, creditCode, joined)
        }
    }

    static let perStatement = 1000

    /// SQLite page cache for bulk writes, in KiB (PRAGMA cache_size = -N): 256 MiB.
    static let sqliteCacheKiB = 262_144
    /// Checkpoint the WAL every 10,000 pages (40 MiB) rather than every 1,000 during bulk writes.
    static let sqliteCheckpointPages = 10_000

    /// Answers the blind indexes actually inserted; a row whose ID number is already registered is skipped.
    @discardableResult
    static func insert(_ rows: [Row], source: String, cardPrefix: String, on db: any Database) async throws -> Set<String> {
        guard !rows.isEmpty else { return [] }
        var inserted = Set<String>()
        let first = try await CardSerials.reserve(rows.count, on: db)
        let now = Date()
        for start in stride(from: 0, to: rows.count, by: perStatement) {
            var insert = db.sql.insert(into: Member.schema).columns(
                "org_id", "name", "id_cipher", "id_index", "sex", "birth_date", "phone", "employer_name",
                "employer_credit_code", "joined_on", "status", "card_number", "card_state", "source", "created_at", "updated_at")
            for offset in start..<min(start + perStatement, rows.count) {
                let row = rows[offset]
                let card = CardNumber(prefix: cardPrefix, serial: first + Int64(offset)).value
                insert = insert.values(SQLBind(row.orgID), SQLBind(row.name), SQLBind(row.sealed), SQLBind(row.index), SQLBind(row.sex),
                                       SQLBind(row.birth), SQLBind(row.phone), SQLBind(row.employer), SQLBind(row.creditCode),
                                       SQLBind(row.joined), SQLBind("active"), SQLBind(card), SQLBind("issued"), SQLBind(source),
                                       SQLBind(now), SQLBind(now))
            }
            for row in try await insert.ignoringConflicts(with: "id_index").returning("id_index").all() {
                inserted.insert(try row.decode(column: "id_index", as: String.self))
            }
        }
        return inserted
    }
}

extension Database {
    /// Runs `body` on one connection of the pool, so per-connection settings hold for all of it.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        try await withConnection { (db: any Database) -> EventLoopFuture<T> in
            db.eventLoop.makeFutureWithTask { try await body(db) }
        }.get()
    }
}
