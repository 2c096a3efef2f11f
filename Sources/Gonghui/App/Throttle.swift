import Fluent
import FluentSQL
import Foundation
import Vapor

/// Counters and back-offs kept in the database, so every process of the server counts the same
/// requests (several processes will share one PostgreSQL). A row per bucket: a fixed window of
/// hits for rate limits, and a run of failures with the time the next try is allowed.
struct Throttle {
    let db: any Database

    static func now() -> Int { Int(Date().timeIntervalSince1970) }

    /// One more request in `bucket`: nil while within `limit` per `window` seconds, else the seconds to wait.
    func hit(_ bucket: String, limit: Int, window: Int = 60, now: Int = Throttle.now()) async throws -> Int? {
        let bucket = Self.clip(bucket)
        let row = try await db.sql.raw("""
            INSERT INTO throttles (bucket, window_start, hits, failures, blocked_until, updated_at)
            VALUES (\(bind: bucket), \(bind: now), 1, 0, 0, \(bind: now))
            ON CONFLICT (bucket) DO UPDATE SET
              hits = CASE WHEN throttles.window_start <= \(bind: now - window) THEN 1 ELSE throttles.hits + 1 END,
              window_start = CASE WHEN throttles.window_start <= \(bind: now - window) THEN \(bind: now) ELSE throttles.window_start END,
              updated_at = \(bind: now)
            RETURNING hits, window_start
            """).first()
        if Int.random(in: 0..<500) == 0 { try await sweep(now: now) }
        guard let row else { return nil }
        let hits = try row.decode(column: "hits", as: Int.self)
        let start = try row.decode(column: "window_start", as: Int.self)
        return hits > limit ? max(1, start + window - now) : nil
    }

    /// Seconds until the first of `buckets` that is backing off allows a try; nil when none is.
    func blocked(_ buckets: [String], now: Int = Throttle.now()) async throws -> Int? {
        let until = try await db.sql.raw("""
            SELECT MAX(blocked_until) AS until FROM throttles WHERE bucket IN (\(binds: buckets.map(Self.clip)))
            """).first()?.decode(column: "until", as: Int?.self) ?? nil
        guard let until, until > now else { return nil }
        return until - now
    }

    /// One more failure in `bucket`. The first `free` cost nothing; the next makes the next try wait
    /// 30 s, each after twice as long as the last, up to `maxDelay` seconds. A quiet `forgetAfter` starts over.
    /// Answers the failures counted and when the next try is allowed.
    @discardableResult
    func fail(_ bucket: String, free: Int, maxDelay: Int = 900, forgetAfter: Int = 3600,
              now: Int = Throttle.now()) async throws -> (failures: Int, blockedUntil: Int) {
        let bucket = Self.clip(bucket)
        let row = try await db.sql.raw("""
            INSERT INTO throttles (bucket, window_start, hits, failures, blocked_until, updated_at)
            VALUES (\(bind: bucket), \(bind: now), 0, 1, 0, \(bind: now))
            ON CONFLICT (bucket) DO UPDATE SET
              failures = CASE WHEN throttles.updated_at <= \(bind: now - forgetAfter) THEN 1 ELSE throttles.failures + 1 END,
              updated_at = \(bind: now)
            RETURNING failures
            """).first()
        let failures = try row?.decode(column: "failures", as: Int.self) ?? 1
        guard failures > free else { return (failures, 0) }
        let until = now + min(maxDelay, 15 << min(20, failures - free))
        try await db.sql.raw("UPDATE throttles SET blocked_until = \(bind: until) WHERE bucket = \(bind: bucket)").run()
        return (failures, until)
    }

    /// Forgets `buckets` (a sign-in that succeeded, an account unlocked).
    func clear(_ buckets: [String]) async throws {
        try await db.sql.raw("DELETE FROM throttles WHERE bucket IN (\(binds: buckets.map(Self.clip)))").run()
    }

    /// Forgets every bucket starting with `prefix`.
    func clear(prefix: String) async throws {
        let pattern = prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        try await db.sql.raw("DELETE FROM throttles WHERE bucket LIKE \(bind: pattern) ESCAPE '\\'").run()
    }

    /// Rows quiet for a day and not backing off go.
    func sweep(now: Int = Throttle.now()) async throws {
        try await db.sql.raw("DELETE FROM throttles WHERE updated_at < \(bind: now - 86_400) AND blocked_until < \(bind: now)").run()
    }

    /// Buckets are built from input (a username, a phone): bounded, so a long one is not stored whole.
    static func clip(_ bucket: String) -> String { String(bucket.prefix(160)) }
}

struct CreateThrottles: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("throttles")
            .field("bucket", .string, .identifier(auto: false))
            .field("window_start", .int64, .required)
            .field("hits", .int64, .required)
            .field("failures", .int64, .required)
            .field("blocked_until", .int64, .required)
            .field("updated_at", .int64, .required)
            .create()
        try await database.createIndex("ix_throttles_updated", on: "throttles", ["updated_at"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("throttles").delete()
    }
}

extension Request {
    var throttle: Throttle { Throttle(db: db) }
}
