import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// The city's statistics kept as data: for each day received, subject and district, the counts
/// the statistics show. City-wide views read these (a year is tens of thousands of rows, not the
/// 200,000 appeals behind them); a district and below read the appeals themselves. Each row is
/// recomputed from the appeals whenever one of its appeals changes, so it cannot drift.
enum AppealTallies {
    static let schema = "appeal_tallies"

    /// The district an organisation lies in (the city itself for the city's own units).
    static func district(of path: String) -> Int {
        let ids = TreePath(path).ids
        return ids.count > 1 ? ids[1] : (ids.first ?? 0)
    }

    /// Recomputes the rows of these (day, subject, district) keys from the appeals, in the caller's
    /// transaction (or one of its own), each under a lock on its key: two transactions recomputing
    /// one row take turns, and the second counts what the first committed.
    static func refresh(_ keys: Set<Key>, on db: any Database) async throws {
        guard db.inTransaction else {
            try await db.transaction { tx in try await refresh(keys, on: tx) }
            return
        }
        let sql = db as! any SQLDatabase
        try await db.lock(keys.map { "appeal.tally:\($0.day):\($0.subject):\($0.district)" })
        for key in keys {
            guard let district = try await Organization.find(key.district, on: db) else { continue }
            let scope: SQLQueryString = district.parentID == nil
                ? "org_id IN (SELECT id FROM organizations WHERE path = \(bind: district.path))"
                : "org_id IN (SELECT id FROM organizations WHERE path >= \(bind: district.path) AND path < \(bind: district.treePath.upperBound))"
            try await sql.raw("DELETE FROM appeal_tallies WHERE day = \(bind: key.day) AND subject_code = \(bind: key.subject) AND district_id = \(bind: key.district)").run()
            try await sql.raw("""
                INSERT INTO appeal_tallies (day, subject_code, district_id, received, resolved, on_time, rated, satisfied, recovered_fen)
                SELECT \(bind: key.day), \(bind: key.subject), \(bind: key.district), COUNT(*),
                  CAST(SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN on_time = \(bind: true) THEN 1 ELSE 0 END) AS BIGINT),
                  CAST(SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) AS BIGINT),
                  CAST(SUM(recovered_fen) AS BIGINT)
                FROM appeals WHERE received_on = \(bind: key.day) AND subject_code = \(bind: key.subject) AND \(scope)
                HAVING COUNT(*) > 0
                """).run()
        }
    }

    struct Key: Hashable, Sendable {
        let day: String
        let subject: String
        let district: Int
    }

    static func key(_ a: Appeal, orgPath: String) -> Key { Key(day: a.receivedOn, subject: a.subjectCode, district: district(of: orgPath)) }

    /// Rebuilds every row from the appeals (after a bulk load).
    static func rebuild(on db: any Database) async throws {
        let sql = db as! any SQLDatabase
        try await sql.raw("DELETE FROM appeal_tallies").run()
        struct Row: Decodable {
            let day: String
            let subject: String
            let path: String
            let received: Int
            let resolved: Int
            let ontime: Int
            let rated: Int
            let satisfied: Int
            let recovered: Int
        }
        let rows = try await sql.raw("""
            SELECT g.day, g.subject, o.path, g.received, g.resolved, g.ontime, g.rated, g.satisfied, g.recovered FROM (
              SELECT received_on AS day, subject_code AS subject, org_id, COUNT(*) AS received,
                CAST(SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS resolved,
                CAST(SUM(CASE WHEN on_time = \(bind: true) THEN 1 ELSE 0 END) AS BIGINT) AS ontime,
                CAST(SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS rated,
                CAST(SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) AS BIGINT) AS satisfied,
                CAST(SUM(recovered_fen) AS BIGINT) AS recovered
              FROM appeals GROUP BY received_on, subject_code, org_id) g JOIN organizations o ON o.id = g.org_id
            """).all(decoding: Row.self)
        var sums: [Key: [Int]] = [:]
        for r in rows {
            let k = Key(day: r.day, subject: r.subject, district: district(of: r.path))
            let v = sums[k] ?? [0, 0, 0, 0, 0, 0]
            sums[k] = [v[0] + r.received, v[1] + r.resolved, v[2] + r.ontime, v[3] + r.rated, v[4] + r.satisfied, v[5] + r.recovered]
        }
        let all = Array(sums)
        for start in stride(from: 0, to: all.count, by: 500) {
            var insert = sql.insert(into: schema).columns("day", "subject_code", "district_id", "received", "resolved", "on_time", "rated", "satisfied", "recovered_fen")
            for (k, v) in all[start..<min(start + 500, all.count)] {
                insert = insert.values(SQLBind(k.day), SQLBind(k.subject), SQLBind(k.district), SQLBind(v[0]), SQLBind(v[1]), SQLBind(v[2]), SQLBind(v[3]), SQLBind(v[4]), SQLBind(v[5]))
            }
            try await insert.run()
        }
    }
}

struct CreateAppealTallies: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AppealTallies.schema)
            .field("day", .string, .required)
            .field("subject_code", .string, .required)
            .field("district_id", .int64, .required)
            .field("received", .int64, .required)
            .field("resolved", .int64, .required)
            .field("on_time", .int64, .required)
            .field("rated", .int64, .required)
            .field("satisfied", .int64, .required)
            .field("recovered_fen", .int64, .required)
            .unique(on: "day", "subject_code", "district_id", name: "uq_appeal_tallies")
            .create()
        // Covering: a year's rows are read from the index alone, not from rows scattered over the table.
        try await database.createIndex("ix_appeal_tallies_cover", on: AppealTallies.schema,
                                       ["day", "subject_code", "district_id", "received", "resolved", "on_time", "rated", "satisfied", "recovered_fen"])
        // A database that already holds appeals starts with its tallies whole.
        try await AppealTallies.rebuild(on: database)
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AppealTallies.schema).delete()
    }
}
