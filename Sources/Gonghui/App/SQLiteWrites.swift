import FluentKit
import FluentSQL
import Foundation
import NIOCore
import SQLKit
import Vapor

/// One writer at a time on SQLite, so concurrent clients never see "database is locked".
///
/// SQLite lets one connection write at a time. Fluent starts a transaction with a deferred BEGIN:
/// the transaction reads first and asks for the write lock at its first write, and if another
/// connection committed in between, SQLite answers SQLITE_BUSY at once (waiting cannot help: the
/// transaction's snapshot is stale). Two requests writing at once then fail with a 500 after one of
/// them may already have stored its row, which is how concurrent appeal intake lost its idempotency.
///
/// This wrapper around the SQLite driver's databases makes every `transaction` of the app
///   1. wait its turn behind the app's other write transactions (an in-process gate: SQLite is the
///      one-process configuration), and
///   2. take SQLite's write lock with its first statement, before it reads anything, so a writer
///      outside the gate (an autocommit save, the roster writer's connection, another program) is
///      waited for by the busy timeout instead of breaking the transaction half-way.
/// Nested transactions run inside the outer one, as Fluent's own do.
struct GatedSQLiteConfiguration: DatabaseConfiguration {
    var base: any DatabaseConfiguration
    let gate: WriteGate

    var middleware: [any AnyModelMiddleware] {
        get { base.middleware }
        set { base.middleware = newValue }
    }

    func makeDriver(for databases: Databases) -> any DatabaseDriver {
        GatedSQLiteDriver(base: base.makeDriver(for: databases), gate: gate)
    }
}

struct GatedSQLiteDriver: DatabaseDriver {
    let base: any DatabaseDriver
    let gate: WriteGate

    func makeDatabase(with context: DatabaseContext) -> any Database {
        GatedSQLiteDatabase(base: base.makeDatabase(with: context), gate: gate)
    }

    func shutdown() { base.shutdown() }
    func shutdownAsync() async { await base.shutdownAsync() }
}

struct GatedSQLiteDatabase: Database, SQLDatabase {
    let base: any Database
    let gate: WriteGate

    private var sqlBase: any SQLDatabase { base as! any SQLDatabase }

    /// The statement a write transaction starts with: it deletes nothing, but a DELETE takes the
    /// write lock when it starts, and as the transaction's first statement it is retried under the
    /// busy timeout rather than failed.
    static let takeWriteLock = "DELETE FROM _fluent_migrations WHERE 0 = 1"

    // Database

    var context: DatabaseContext { base.context }
    var inTransaction: Bool { base.inTransaction }

    func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
        base.execute(query: query, onOutput: onOutput)
    }

    func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> { base.execute(schema: schema) }
    func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> { base.execute(enum: `enum`) }

    func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        if inTransaction { return closure(self) }
        let (base, gate) = (self.base, self.gate)
        let promise = base.eventLoop.makePromise(of: UncheckedBox<T>.self)
        promise.completeWithTask {
            try await gate.withTurn {
                try await base.transaction { tx in
                    let gated = GatedSQLiteDatabase(base: tx, gate: gate)
                    return gated.sqlBase.raw(SQLQueryString(Self.takeWriteLock)).run()
                        .flatMap { closure(gated) }
                        .map { UncheckedBox(value: $0) }
                }.get()
            }
        }
        return promise.futureResult.map(\.value)
    }

    func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        let gate = self.gate
        return base.withConnection { closure(GatedSQLiteDatabase(base: $0, gate: gate)) }
    }

    // SQLDatabase

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { sqlBase.version }
    var dialect: any SQLDialect { sqlBase.dialect }
    var queryLogLevel: Logger.Level? { sqlBase.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        sqlBase.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await sqlBase.execute(sql: query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await sqlBase.withSession(closure)
    }
}

/// Carries a transaction's result across the gate; Fluent's transaction API does not ask for
/// Sendable results, and the value is handed from one task to the next, never shared.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
}

/// A first-come, first-served turn for the app's SQLite write transactions.
actor WriteGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func withTurn<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}

enum SQLiteTuning {
    /// How long a statement waits for another connection's write lock before giving up (then the
    /// request answers 503 with Retry-After). sqlite-nio's own busy handler retries at once and
    /// forever, spinning a core while an outside program holds the lock. `GONGHUI_SQLITE_BUSY_MS`.
    /// Sets the busy timeout on the connection of every event loop (the pool keeps one per loop).
    static func apply(_ app: Application, busyTimeoutMilliseconds: Int) async throws {
        try await onEveryConnection(app, "PRAGMA busy_timeout = \(unsafeRaw: String(busyTimeoutMilliseconds))")
    }

    /// Runs one statement on the connection of every event loop (the pool keeps one per loop).
    static func onEveryConnection(_ app: Application, _ statement: SQLQueryString) async throws {
        for loop in app.eventLoopGroup.makeIterator() {
            guard let db = app.databases.database(logger: app.logger, on: loop) else { continue }
            try await db.withConnection { conn in
                try await conn.sql.raw(statement).run()
            }
        }
    }
}
