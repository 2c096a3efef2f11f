import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import NIOPosix
// The SQLite that sqlite-nio vendors (symbols prefixed sqlite_nio_): the very engine the app's own
// connections use. sqlite-nio keeps its connection handle to itself and prepares a statement for
// every query, so bulk writes open their own handle to the same file, where one prepared INSERT
// can be bound and stepped per row.
import VaporCSQLite

/// Bulk writes of new members into SQLite on a connection of their own: one prepared INSERT,
/// bound and stepped per row (what `bench-import` times as the raw baseline), in one `BEGIN
/// IMMEDIATE` transaction per batch, with the batch's problems and the job's progress in the same
/// transaction. A row whose ID number is already registered is skipped by the database itself
/// (`ON CONFLICT (id_index) DO NOTHING`), so two imports of the same people cannot collide.
///
/// One batch at a time: callers wait for each `write` before the next (the roster import does).
/// The handle is closed when the writer is released.
final class SQLiteMemberWriter: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Problem: Sendable {
        let line: Int
        let column: String
        let code: String
        let message: String
    }

    /// What an import writes beside a batch: its problems, the job's counts before this batch, and
    /// how a row already registered is reported.
    struct Report: Sendable {
        let jobID: Int
        let problems: [Problem]
        let progress: ImportProgress
        /// The line of each row, for the rows found already registered.
        let lines: [Int]
        let duplicateColumn: String
        let duplicateMessage: String
        /// How many of the rows already registered are listed (`ImportLimits`); the rest are counted.
        var duplicateRoom = Int.max
    }

    private let handle: OpaquePointer
    private let source: String
    private let cardPrefix: String
    private var statements: [OpaquePointer] = []
    private lazy var insertMember = prepare("""
        INSERT INTO members (org_id, name, id_cipher, id_index, sex, birth_date, phone, employer_name, employer_credit_code,
          joined_on, status, card_number, card_state, source, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 'issued', ?, ?, ?) ON CONFLICT (id_index) DO NOTHING
        """)
    private lazy var insertProblem = prepare("INSERT INTO import_problems (job_id, line, column_name, code, message) VALUES (?, ?, ?, ?, ?)")
    private lazy var updateJob = prepare("""
        UPDATE import_jobs SET bytes_read = ?, rows_read = ?, imported = ?, duplicates = ?, failed = ?, heartbeat_at = ? WHERE id = ?
        """)
    private lazy var lastID = prepare("SELECT coalesce(max(id), 0) FROM members")
    private lazy var reserveCards = prepare("UPDATE card_serials SET next_value = next_value + ? WHERE name = 'member' RETURNING next_value")

    /// The thread every writer's calls block on: not the app's pool, where Fluent's own SQLite
    /// queries run (a batch holds it for a second or two), and one is enough, since SQLite lets one
    /// connection write at a time.
    private static let thread: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    /// A writer on the file behind `database`, or nil when it is not SQLite or has no file.
    static func open(for database: any Database, source: String, cardPrefix: String) async throws -> SQLiteMemberWriter? {
        guard !database.isPostgres else { return nil }
        let row = try await database.sql.raw("SELECT file FROM pragma_database_list WHERE name = 'main'").first()
        guard let path = try row?.decode(column: "file", as: String?.self), !path.isEmpty else { return nil }
        return try await thread.runIfActive { try SQLiteMemberWriter(path: path, source: source, cardPrefix: cardPrefix) }
    }

    private init(path: String, source: String, cardPrefix: String) throws {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        guard sqlite_nio_sqlite3_open_v2(path, &opened, flags, nil) == SQLITE_OK, let opened else {
            if let opened { sqlite_nio_sqlite3_close(opened) }
            throw Failure(description: "cannot open the SQLite database for writing")
        }
        (handle, self.source, self.cardPrefix) = (opened, source, cardPrefix)
        // Wait for the app's own writers rather than fail; they hold the lock for milliseconds.
        sqlite_nio_sqlite3_busy_timeout(handle, 60_000)
        // A bigger page cache: random-order inserts into the unique indexes are what cost. With WAL,
        // NORMAL syncs at checkpoints rather than at every commit; a power cut may lose the last
        // batches, which importing again restores. The WAL is checkpointed every 40 MiB, not 4.
        // As on the app's own connections (sqlite-kit turns it on): org_id and job_id are checked.
        try exec("PRAGMA foreign_keys = ON")
        try exec("PRAGMA cache_size = -\(MemberBulk.sqliteCacheKiB)")
        try exec("PRAGMA synchronous = NORMAL")
        try exec("PRAGMA temp_store = MEMORY")
        try exec("PRAGMA wal_autocheckpoint = \(MemberBulk.sqliteCheckpointPages)")
    }

    deinit {
        for statement in statements { sqlite_nio_sqlite3_finalize(statement) }
        sqlite_nio_sqlite3_close(handle)
    }

    /// Writes one batch in one transaction, on the writers' thread (the calls block), and
    /// answers how many rows were inserted; the rest were already registered and are reported
    /// as problems when a report is given.
    @discardableResult
    func write(_ rows: [MemberBulk.Row], report: Report? = nil) async throws -> Int {
        try await Self.thread.runIfActive { try self.writeNow(rows, report: report) }
    }

    private func writeNow(_ rows: [MemberBulk.Row], report: Report?) throws -> Int {
        try exec("BEGIN IMMEDIATE")
        do {
            var inserted = 0
            var all = report?.problems ?? []
            var room = report?.duplicateRoom ?? 0
            if !rows.isEmpty {
                // The search index for the whole batch in one statement after the rows (see TextSearch).
                let before = try int64(lastID.get())
                try exec(TextSearch.members.deferSQL)
                let first = try reserve(rows.count)
                let now = Date().timeIntervalSince1970
                let stmt = try insertMember.get()
                for (offset, row) in rows.enumerated() {
                    try bindMember(stmt, row, card: CardNumber(prefix: cardPrefix, serial: first + Int64(offset)).value, now: now)
                    try step(stmt)
                    if sqlite_nio_sqlite3_changes(handle) == 1 {
                        inserted += 1
                    } else if let report, offset < report.lines.count, room > 0 {
                        room -= 1
                        all.append(Problem(line: report.lines[offset], column: report.duplicateColumn, code: "duplicate",
                                           message: report.duplicateMessage))
                    }
                }
                try exec(TextSearch.members.bulkFill(after: before))
                try exec(TextSearch.members.undeferSQL)
            }
            if let report {
                let stmt = try insertProblem.get()
                for problem in all {
                    sqlite_nio_sqlite3_bind_int64(stmt, 1, Int64(report.jobID))
                    sqlite_nio_sqlite3_bind_int64(stmt, 2, Int64(problem.line))
                    bindText(stmt, 3, problem.column)
                    bindText(stmt, 4, problem.code)
                    bindText(stmt, 5, problem.message)
                    try step(stmt)
                }
                // The job's progress in the same transaction: a second connection writing meanwhile
                // would wait for the lock.
                let update = try updateJob.get()
                let p = report.progress
                for (position, value) in [p.bytesRead, p.rowsRead, p.imported + inserted, p.duplicates + rows.count - inserted,
                                          p.failed].enumerated() {
                    sqlite_nio_sqlite3_bind_int64(update, Int32(position + 1), Int64(value))
                }
                sqlite_nio_sqlite3_bind_double(update, 6, Date().timeIntervalSince1970)
                sqlite_nio_sqlite3_bind_int64(update, 7, Int64(report.jobID))
                try step(update)
            }
            try exec("COMMIT")
            return inserted
        } catch {
            _ = sqlite_nio_sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    private func int64(_ stmt: OpaquePointer) throws -> Int64 {
        defer { sqlite_nio_sqlite3_reset(stmt) }
        guard sqlite_nio_sqlite3_step(stmt) == SQLITE_ROW else { throw failure("query") }
        return sqlite_nio_sqlite3_column_int64(stmt, 0)
    }

    private func reserve(_ count: Int) throws -> Int64 {
        let stmt = try reserveCards.get()
        sqlite_nio_sqlite3_bind_int64(stmt, 1, Int64(count))
        defer { sqlite_nio_sqlite3_reset(stmt) }
        guard sqlite_nio_sqlite3_step(stmt) == SQLITE_ROW else { throw failure("card_serials") }
        let next = sqlite_nio_sqlite3_column_int64(stmt, 0)
        guard sqlite_nio_sqlite3_step(stmt) == SQLITE_DONE else { throw failure("card_serials") }
        return next - Int64(count)
    }

    private func bindMember(_ stmt: OpaquePointer, _ row: MemberBulk.Row, card: String, now: Double) throws {
        sqlite_nio_sqlite3_bind_int64(stmt, 1, Int64(row.orgID))
        bindText(stmt, 2, row.name)
        _ = row.sealed.withUnsafeBytes { sqlite_nio_sqlite3_bind_blob(stmt, 3, $0.baseAddress, Int32($0.count), Self.transient) }
        bindText(stmt, 4, row.index)
        bindText(stmt, 5, row.sex)
        bindText(stmt, 6, row.birth)
        bindText(stmt, 7, row.phone)
        bindText(stmt, 8, row.employer)
        bindText(stmt, 9, row.creditCode)
        bindText(stmt, 10, row.joined)
        bindText(stmt, 11, card)
        bindText(stmt, 12, source)
        sqlite_nio_sqlite3_bind_double(stmt, 13, now)
        sqlite_nio_sqlite3_bind_double(stmt, 14, now)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bindText(_ stmt: OpaquePointer, _ position: Int32, _ text: String?) {
        guard var text else {
            sqlite_nio_sqlite3_bind_null(stmt, position)
            return
        }
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite_nio_sqlite3_bind_text(stmt, position, $0.baseAddress, Int32($0.count), Self.transient)
            }
        }
    }

    /// Steps a statement that answers no rows, and resets it for the next binding.
    private func step(_ stmt: OpaquePointer) throws {
        defer { sqlite_nio_sqlite3_reset(stmt) }
        guard sqlite_nio_sqlite3_step(stmt) == SQLITE_DONE else { throw failure("step") }
    }

    private func prepare(_ sql: String) -> Result<OpaquePointer, Failure> {
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK,
              let statement else { return .failure(failure("prepare")) }
        statements.append(statement)
        return .success(statement)
    }

    private func exec(_ sql: String) throws {
        guard sqlite_nio_sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw failure(sql) }
    }

    /// SQLite's own message (a constraint or lock, never a value: values are bound, not in the text).
    private func failure(_ doing: String) -> Failure {
        Failure(description: "SQLite \(doing): " + String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }
}
