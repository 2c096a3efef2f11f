import Crypto
import Fluent
import FluentSQL
import Foundation

extension Database {
    /// Holds the lock `name` until the transaction ends, so transactions about the same thing (one
    /// idempotency key, one phone, one budget, one tally row) take turns instead of both acting on
    /// what they read before the other committed. PostgreSQL: an advisory transaction lock on a
    /// 64-bit hash of the name. SQLite: nothing more is needed, its write transactions already take
    /// turns (GatedSQLiteDatabase).
    func lock(_ name: String) async throws {
        guard isPostgres else { return }
        precondition(inTransaction, "lock(_:) holds until the end of a transaction; call it inside one")
        try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: Self.lockKey(name)))").run()
    }

    /// Takes the lock `name` if nobody holds it, for the rest of the transaction: true when taken.
    /// A scheduled job asks this so a second process skips the tick instead of running it again.
    /// SQLite: always true (one process, and its write transactions take turns).
    func tryLock(_ name: String) async throws -> Bool {
        guard isPostgres else { return true }
        precondition(inTransaction, "tryLock(_:) holds until the end of a transaction; call it inside one")
        let row = try await sql.raw("SELECT pg_try_advisory_xact_lock(\(bind: Self.lockKey(name))) AS taken").first()
        return try row?.decode(column: "taken", as: Bool.self) ?? false
    }

    /// Takes several locks in one order (sorted), so two transactions asking for the same ones
    /// never wait for each other in a circle.
    func lock(_ names: [String]) async throws {
        for name in Set(names).sorted() { try await lock(name) }
    }

    static func lockKey(_ name: String) -> Int64 {
        let digest = SHA256.hash(data: Data(name.utf8))
        return digest.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
    }
}
