import Fluent
import FluentSQL
import Foundation

/// A fragment found anywhere in a name ("正泰" in 北京正泰超市2号有限公司), through an index made for
/// it: the one search every list uses (members, enterprises, appeals, sites).
///
/// How a fragment is looked up depends on its length, because trigram indexes need three characters:
/// - three or more: the trigram index (PostgreSQL `pg_trgm` GIN, SQLite FTS5 `trigram`);
/// - two (a Chinese name, a brand): on SQLite the same index, through its vocabulary: every indexed
///   text ends with `TextSearch.end`, so each two-character fragment begins at least one trigram, and
///   the trigrams that begin with it are a range of the vocabulary. On PostgreSQL `pg_trgm` cannot
///   extract a trigram from two characters (its GIN would read the whole index), so it is a `LIKE`
///   over the rows the other filters leave; `docs/benchmarks.md` measures both;
/// - one: by the beginning of the name, through the b-tree indexes, as before; one character of
///   Chinese anywhere in a name matches a large share of a city.
/// Letters match regardless of case on both engines.
struct TextSearch: Sendable {
    let table: String
    let columns: [String]

    static let members = TextSearch(table: "members", columns: ["name", "employer_name"])
    static let enterprises = TextSearch(table: "enterprises", columns: ["name"])
    static let appeals = TextSearch(table: "appeals", columns: ["employer_name"])
    static let sites = TextSearch(table: "sites", columns: ["name", "host_name"])
    static let all: [TextSearch] = [.members, .enterprises, .appeals, .sites]

    /// Appended to every text the SQLite index holds, so a fragment at the very end still begins a
    /// trigram. A control character: no name can hold one (`Validator.text` refuses them).
    static let end = "\u{3}"
    /// Past this many trigrams a two-character fragment is so common (北京, 公司) that reading the
    /// rows is as quick as reading the index.
    static let maxTerms = 400

    /// The SQLite FTS5 table (index only, kept by triggers) and its vocabulary.
    var ftsTable: String { table + "_search" }
    var termsTable: String { table + "_search_terms" }

    /// How `text` is looked up; `nil` when it holds nothing to look for.
    enum Plan: Equatable {
        case index(String)
        case terms(String)
        case prefix(String)
    }

    static func plan(_ text: String) -> Plan? {
        let kept = text.unicodeScalars.filter { $0.properties.generalCategory != .control }
        let cleaned = String(String.UnicodeScalarView(kept)).trimmingCharacters(in: .whitespaces)
        switch cleaned.unicodeScalars.count {
        case 0: return nil
        case 1: return .prefix(cleaned)
        case 2: return .terms(cleaned)
        default: return .index(cleaned)
        }
    }

    /// The condition "`text` appears in one of the columns", for `QueryBuilder.filter`.
    func filter(_ text: String, on db: any Database) async throws -> DatabaseQuery.Filter? {
        guard let plan = Self.plan(text) else { return nil }
        switch plan {
        case let .prefix(q):
            return .sql(embed: anyColumn { "(\($0) >= \(bind: q) AND \($0) < \(bind: q + "\u{10FFFF}"))" })
        case let .index(q), let .terms(q):
            if db.isPostgres {
                // `pg_trgm` answers LIKE and ILIKE alike; ILIKE folds case on every row it checks, so
                // it is used only for text that has case. Two characters give it no trigram: its GIN
                // would be read whole (slower than reading the rows, measured), so the columns are
                // wrapped to keep the planner to the rows the other conditions leave.
                if case .terms = plan { return like(q, caseFolded: q.lowercased() != q.uppercased(), wrapped: true) }
                return like(q, caseFolded: q.lowercased() != q.uppercased())
            }
            if case .index = plan { return indexed(Self.phrase(q)) }
            let folded = q.lowercased()
            let rows = try await db.sql.raw("""
                SELECT term FROM \(ident: termsTable) WHERE term >= \(bind: folded) AND term < \(bind: folded + "\u{10FFFF}") \
                LIMIT \(literal: Self.maxTerms + 1)
                """).all()
            let terms = try rows.map { try $0.decode(column: "term", as: String.self) }
            if terms.isEmpty { return .sql(embed: "1 = 0") }
            if terms.count > Self.maxTerms { return like(q, caseFolded: false) }
            return indexed(terms.map(Self.phrase).joined(separator: " OR "))
        }
    }

    /// `LIKE '%text%'` over the rows the other conditions leave (SQLite's LIKE folds ASCII case itself).
    private func like(_ q: String, caseFolded: Bool, wrapped: Bool = false) -> DatabaseQuery.Filter {
        let op: SQLQueryString = caseFolded ? "ILIKE" : "LIKE"
        let pattern = Self.likePattern(q)
        return .sql(embed: anyColumn { wrapped ? "(\($0) || '') \(op) \(bind: pattern) ESCAPE '\\'" : "\($0) \(op) \(bind: pattern) ESCAPE '\\'" })
    }

    private func indexed(_ match: String) -> DatabaseQuery.Filter {
        .sql(embed: "\(ident: table).\(ident: "id") IN (SELECT rowid FROM \(ident: ftsTable) WHERE \(ident: ftsTable) MATCH \(bind: match))")
    }

    /// `(a OR b …)` over the columns, each qualified by the table (the lists join organizations).
    private func anyColumn(_ condition: (SQLQueryString) -> SQLQueryString) -> SQLQueryString {
        var sql: SQLQueryString = "("
        for (i, column) in columns.enumerated() {
            if i > 0 { sql += " OR " }
            sql += condition("\(ident: table).\(ident: column)")
        }
        sql += ")"
        return sql
    }

    /// An FTS5 phrase: the text in double quotes, its own quotes doubled; the trigram tokenizer makes
    /// a phrase match any run of characters.
    static func phrase(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    static func likePattern(_ text: String) -> String {
        var escaped = ""
        for c in text {
            if c == "\\" || c == "%" || c == "_" { escaped.append("\\") }
            escaped.append(c)
        }
        return "%" + escaped + "%"
    }
}

extension TextSearch {
    /// SQLite: a row here for a table tells its insert trigger to leave the search index to the
    /// writer, which fills it for the whole batch with one statement (`bulkFill`). FTS5 writes its
    /// pending terms to disk at every statement's savepoint, so a trigger per row of a bulk import
    /// cost 26 µs a row, three times the import's own work. Rows added inside the writer's
    /// transaction only: no other connection writes meanwhile, and a rollback takes the row back.
    static let deferredTable = "search_deferred"

    var deferSQL: String { "INSERT INTO \(Self.deferredTable) (tbl) VALUES ('\(table)')" }
    var undeferSQL: String { "DELETE FROM \(Self.deferredTable) WHERE tbl = '\(table)'" }

    /// The texts the SQLite index holds for a row of `table` (alias `row`), each with the end mark.
    func indexedValues(_ row: String) -> String {
        columns.map { "coalesce(\(row).\($0), '') || char(3)" }.joined(separator: ", ")
    }

    /// Indexes the rows of `source` (the table itself, or a copy with its rows) whose id is above `id`.
    func bulkFill(after id: Int64, from source: String? = nil) -> String {
        let from = source ?? table
        return "INSERT INTO \(ftsTable) (rowid, \(columns.joined(separator: ", "))) SELECT id, \(indexedValues(from)) FROM \(from) WHERE id > \(id)"
    }
}

extension QueryBuilder {
    /// Rows where `text` appears anywhere in one of the search's columns (see `TextSearch`).
    func matching(_ text: String, _ search: TextSearch) async throws -> QueryBuilder<Model> {
        guard let condition = try await search.filter(text, on: database) else { return self }
        return filter(condition)
    }
}
