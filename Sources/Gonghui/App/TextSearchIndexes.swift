import Fluent
import FluentSQL

/// The indexes `TextSearch` reads: on PostgreSQL a `pg_trgm` GIN index per searched column; on SQLite
/// an FTS5 `trigram` table per searched table, holding only the index (contentless, with deletes), kept
/// by triggers, and its vocabulary. The SQLite index holds each text with `TextSearch.end` appended
/// (see there), which is why it is not an external-content table: FTS5 would read the table's own
/// values back on a rebuild and lose the end marks.
struct AddTextSearch: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database.sql
        if database.isPostgres {
            try await sql.raw("CREATE EXTENSION IF NOT EXISTS pg_trgm").run()
            for search in TextSearch.all {
                for column in search.columns {
                    try await sql.raw("""
                        CREATE INDEX \(ident: Self.trigramIndex(search, column)) ON \(ident: search.table) USING gin (\(ident: column) gin_trgm_ops)
                        """).run()
                }
            }
            return
        }
        try await sql.raw("CREATE TABLE \(ident: TextSearch.deferredTable) (tbl TEXT PRIMARY KEY)").run()
        for search in TextSearch.all {
            let table = search.ftsTable
            try await sql.raw("""
                CREATE VIRTUAL TABLE \(ident: table) USING fts5(\(unsafeRaw: search.columns.joined(separator: ", ")), \
                content='', contentless_delete=1, tokenize='trigram')
                """).run()
            try await sql.raw("CREATE VIRTUAL TABLE \(ident: search.termsTable) USING fts5vocab(\(ident: table), 'row')").run()
            let columns = search.columns.map { "\(ident: $0)" as SQLQueryString }.joined(separator: ", ")
            func values(_ row: String) -> SQLQueryString { "\(unsafeRaw: search.indexedValues(row))" }
            try await sql.raw("""
                CREATE TRIGGER \(ident: table + "_insert") AFTER INSERT ON \(ident: search.table)
                WHEN NOT EXISTS (SELECT 1 FROM \(ident: TextSearch.deferredTable) WHERE tbl = \(literal: search.table)) BEGIN
                  INSERT INTO \(ident: table) (rowid, \(columns)) VALUES (new.id, \(values("new")));
                END
                """).run()
            try await sql.raw("""
                CREATE TRIGGER \(ident: table + "_delete") AFTER DELETE ON \(ident: search.table) BEGIN
                  DELETE FROM \(ident: table) WHERE rowid = old.id;
                END
                """).run()
            try await sql.raw("""
                CREATE TRIGGER \(ident: table + "_update") AFTER UPDATE OF \(columns) ON \(ident: search.table) BEGIN
                  DELETE FROM \(ident: table) WHERE rowid = old.id;
                  INSERT INTO \(ident: table) (rowid, \(columns)) VALUES (new.id, \(values("new")));
                END
                """).run()
            try await sql.raw("""
                INSERT INTO \(ident: table) (rowid, \(columns)) SELECT id, \(values(search.table)) FROM \(ident: search.table)
                """).run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = database.sql
        for search in TextSearch.all {
            if database.isPostgres {
                for column in search.columns { try await sql.raw("DROP INDEX IF EXISTS \(ident: Self.trigramIndex(search, column))").run() }
                continue
            }
            for suffix in ["_insert", "_delete", "_update"] {
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: search.ftsTable + suffix)").run()
            }
            try await sql.raw("DROP TABLE IF EXISTS \(ident: search.termsTable)").run()
            try await sql.raw("DROP TABLE IF EXISTS \(ident: search.ftsTable)").run()
        }
        if !database.isPostgres { try await sql.raw("DROP TABLE IF EXISTS \(ident: TextSearch.deferredTable)").run() }
    }

    static func trigramIndex(_ search: TextSearch, _ column: String) -> String { "ix_\(search.table)_\(column)_trgm" }
}
