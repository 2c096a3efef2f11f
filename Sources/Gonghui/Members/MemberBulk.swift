import Fluent
import FluentSQL
import FluentSQLiteDriver
import Foundation
import GonghuiCore
import NIOConcurrencyHelpers
import Vapor

/// Many new members in one statement per 1,000, their card numbers from one reserved block.
/// The roster import and the seeder both insert through here.
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
        /// The first ten values as SQLiteData, when the rows go to SQLite (see `prebind`).
        var sqlite: [SQLiteData]? = nil

        init(orgID: Int, name: String, sealed: Data, index: String, sex: String, birth: String, phone: String,
             employer: String?, creditCode: String?, joined: String) {
            (self.orgID, self.name, self.sealed, self.index, self.sex, self.birth) = (orgID, name, sealed, index, sex, birth)
            (self.phone, self.employer, self.creditCode, self.joined) = (phone, employer, creditCode, joined)
        }

        mutating func prebind() {
            sqlite = [.integer(orgID), .text(name), .blob(ByteBuffer(bytes: sealed)), .text(index), .text(sex), .text(birth),
                      .text(phone), employer.map(SQLiteData.text) ?? .null, creditCode.map(SQLiteData.text) ?? .null, .text(joined)]
        }
    }

    static let perStatement = 1000
    private static let statements = NIOLockedValueBox<[String: String]>([:])

    /// `INSERT … VALUES (…), (…) ON CONFLICT (id_index) DO NOTHING RETURNING id_index` for `rows` rows.
    static func sqliteInsert(rows: Int, source: String) -> String {
        // Only the full-size statement is kept (one per source); a batch's remainder is made each time.
        guard rows == perStatement else { return makeSQLiteInsert(rows: rows, source: source) }
        let key = source
        if let made = statements.withLockedValue({ $0[key] }) { return made }
        let text = makeSQLiteInsert(rows: rows, source: source)
        statements.withLockedValue { $0[key] = text }
        return text
    }

    private static func makeSQLiteInsert(rows: Int, source: String) -> String {
        let tuple = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 'issued', '\(source)', ?, ?)"
        return """
            INSERT INTO members (org_id, name, id_cipher, id_index, sex, birth_date, phone, employer_name, employer_credit_code,
              joined_on, status, card_number, card_state, source, created_at, updated_at) VALUES
            """ + Array(repeating: tuple, count: rows).joined(separator: ",") + " ON CONFLICT (id_index) DO NOTHING RETURNING id_index"
    }
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
        if let sqlite = db as? any SQLiteDatabase {
            // SQLite: the values go straight in as SQLiteData, skipping SQLKit's per-value encoding.
            let stamp = SQLiteData.float(now.timeIntervalSince1970)
            let found = NIOLockedValueBox<Set<String>>([])
            for start in stride(from: 0, to: rows.count, by: perStatement) {
                let end = min(start + perStatement, rows.count)
                var binds: [SQLiteData] = []
                binds.reserveCapacity((end - start) * 13)
                for offset in start..<end {
                    let row = rows[offset]
                    if let prebound = row.sqlite {
                        binds.append(contentsOf: prebound)
                        binds.append(.text(CardNumber(prefix: cardPrefix, serial: first + Int64(offset)).value))
                        binds.append(stamp)
                        binds.append(stamp)
                        continue
                    }
                    binds.append(.integer(row.orgID))
                    binds.append(.text(row.name))
                    binds.append(.blob(ByteBuffer(bytes: row.sealed)))
                    binds.append(.text(row.index))
                    binds.append(.text(row.sex))
                    binds.append(.text(row.birth))
                    binds.append(.text(row.phone))
                    binds.append(row.employer.map(SQLiteData.text) ?? .null)
                    binds.append(row.creditCode.map(SQLiteData.text) ?? .null)
                    binds.append(.text(row.joined))
                    binds.append(.text(CardNumber(prefix: cardPrefix, serial: first + Int64(offset)).value))
                    binds.append(stamp)
                    binds.append(stamp)
                }
                try await sqlite.query(sqliteInsert(rows: end - start, source: source), binds) { row in
                    if case let .text(index)? = row.column("id_index") { found.withLockedValue { _ = $0.insert(index) } }
                }
            }
            return found.withLockedValue { $0 }
        }
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
