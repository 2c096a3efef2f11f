import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `gonghui bench-search --members N [--postgres URL]`: what `scripts/bench/search` runs.
///
/// On each engine, into a fresh database: Beijing's tree (56,000 unions), N members (names and
/// employers as the seeder makes them) and the 344,000 enterprises of the ledger, through the real
/// tables with their search indexes. Then, at city scope as the lists ask (the join on the tree,
/// the count and the first page of 50), each fragment three ways in the same run: through
/// `TextSearch` (the index), as the naive `LIKE '%…%'` scan (the baseline; the columns wrapped so no
/// index can answer it), and by the beginning of the name, as the lists searched before.
struct BenchSearchCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "members", help: "Members to seed (default 1,000,000)") var members: Int?
        @Option(name: "postgres", help: "A PostgreSQL server URL whose user may create databases") var postgres: String?
        @Option(name: "file", help: "The SQLite file to use (default: a temporary one)") var file: String?
        @Option(name: "repeat", help: "Timings per fragment and way; the median is shown (default 5)") var repeats: Int?
        init() {}
    }

    var help: String { "Times infix search through the trigram indexes against a LIKE scan." }

    /// Fragments the seeded names hold, of every length the search treats differently.
    static let memberFragments = ["王秀英", "建国", "张伟", "恒达物流", "中科软件", "科技有限", "达物", "物流", "王"]
    static let enterpriseFragments = ["正泰", "泰达物流", "盛泰", "达物流", "有限公司", "北京正泰", "正"]

    func run(using context: CommandContext, signature: Signature) async throws {
        let console = context.console
        let count = signature.members ?? 1_000_000
        let repeats = max(1, signature.repeats ?? 5)
        let key = context.application.gonghui.dataKey ?? Array(repeating: 42, count: 32)
        let bench = BenchImportCommand()
        var report: [String] = []

        let file = signature.file ?? (NSTemporaryDirectory() + "gonghui-search-\(UUID().uuidString.prefix(8)).sqlite")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) }
        report += try await measure("SQLite", .sqliteFile(file), key: key, members: count, repeats: repeats, console: console)
        if signature.file == nil { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) } }

        if let admin = signature.postgres {
            try await bench.recreate(database: "gh_bench_search", admin: admin)
            report += try await measure("PostgreSQL", .postgres(bench.url(admin, name: "gh_bench_search")), key: key,
                                        members: count, repeats: repeats, console: console)
        }
        print("\n" + report.joined(separator: "\n"))
    }

    func measure(_ engine: String, _ database: GonghuiConfig.DatabaseLocation, key: [UInt8], members: Int, repeats: Int,
                 console: any Console) async throws -> [String] {
        let app = try await BenchImportCommand().makeApp(database, key: key)
        do {
            let lines = try await measure(engine, app, members: members, repeats: repeats, console: console)
            try await app.asyncShutdown()
            return lines
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }

    func measure(_ engine: String, _ app: Application, members: Int, repeats: Int, console: any Console) async throws -> [String] {
        let db = app.db
        try await app.autoMigrate()
        var started = Date()
        _ = try await Seeder(db: db, progress: { _ in }).seed(.beijing)
        try await MemberSeeder(db: db, cipher: app.fieldCipher, cardPrefix: "1101", progress: { console.info("\(engine): \($0)") })
            .seed(count: members)
        let memberSeconds = Date().timeIntervalSince(started)
        started = Date()
        _ = try await OutreachSeeder(db: db, progress: { _ in }).seed(.beijing)
        let firmSeconds = Date().timeIntervalSince(started)
        if db.isPostgres { try await db.sql.raw("ANALYZE").run() }
        let city = try await Organization.query(on: db).filter(\.$kind == .city).first()!
        let firms = try await Enterprise.query(on: db).count()

        var lines = [String(format: "== %@: %d members seeded in %.0f s (%.0f rows/s, search index kept as they are written); %d enterprises in %.0f s",
                            engine, members, memberSeconds, Double(members) / max(memberSeconds, 0.001), firms, firmSeconds)]
        lines.append(try await indexSizes(db))
        lines.append("table      fragment     chars  found (index)  index ms  LIKE scan ms  scan/index  bare scan ms  bare/index  by-beginning found, ms (before)")
        for q in Self.memberFragments {
            lines.append(try await row("members", q, repeats: repeats, db: db, city: city, make: { Self.members($0, city) },
                                       naive: { Self.scan(q, .members) }, search: .members))
            console.info(lines.last!)
        }
        for q in Self.enterpriseFragments {
            lines.append(try await row("enterprises", q, repeats: repeats, db: db, city: city, make: { Self.firms($0, city) },
                                       naive: { Self.scan(q, .enterprises) }, search: .enterprises))
            console.info(lines.last!)
        }
        return lines
    }

    static func members(_ db: any Database, _ city: Organization) -> QueryBuilder<Member> {
        Member.query(on: db).join(Organization.self, on: \Member.$orgID == \Organization.$id)
            .filter(Organization.self, \.$path >= city.path).filter(Organization.self, \.$path < city.treePath.upperBound)
    }

    static func firms(_ db: any Database, _ city: Organization) -> QueryBuilder<Enterprise> {
        Enterprise.query(on: db).join(Organization.self, on: \Enterprise.$orgID == \Organization.$id)
            .filter(Organization.self, \.$path >= city.path).filter(Organization.self, \.$path < city.treePath.upperBound)
    }

    /// The baseline: every row of the scope read and matched; `|| ''` keeps any index out of it.
    static func scan(_ q: String, _ search: TextSearch) -> DatabaseQuery.Filter {
        let pattern = TextSearch.likePattern(q)
        var sql: SQLQueryString = "("
        for (i, column) in search.columns.enumerated() {
            if i > 0 { sql += " OR " }
            sql += "(coalesce(\(ident: search.table).\(ident: column), '') || '') LIKE \(bind: pattern) ESCAPE '\\'"
        }
        return .sql(embed: sql + ")")
    }

    /// As the lists searched before this index: by the beginning of each column, through the b-trees.
    static func prefix(_ q: String, _ search: TextSearch) -> DatabaseQuery.Filter {
        var sql: SQLQueryString = "("
        for (i, column) in search.columns.enumerated() {
            if i > 0 { sql += " OR " }
            sql += "(\(ident: search.table).\(ident: column) >= \(bind: q) AND \(ident: search.table).\(ident: column) < \(bind: q + "\u{10FFFF}"))"
        }
        return .sql(embed: sql + ")")
    }

    func row<M: Model>(_ table: String, _ q: String, repeats: Int, db: any Database, city: Organization,
                       make: (any Database) -> QueryBuilder<M>, naive: () -> DatabaseQuery.Filter,
                       search: TextSearch) async throws -> String {
        /// The list's work: the count and the first page, newest first.
        func time(_ build: () async throws -> QueryBuilder<M>) async throws -> (Int, Double) {
            var times: [Double] = []
            var found = 0
            for _ in 0..<repeats {
                let t = DispatchTime.now().uptimeNanoseconds
                let query = try await build()
                found = try await query.copy().count()
                _ = try await query.sort(FieldKey.id, .descending).limit(50).all()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
            return (found, times.sorted()[times.count / 2])
        }
        let (found, indexed) = try await time { try await make(db).matching(q, search) }
        let (scanned, scan) = try await time { make(db).filter(naive()) }
        let (began, prefix) = try await time { make(db).filter(Self.prefix(q, search)) }
        // The least a scan can cost: the count alone over the bare table (the city is all of it), no join.
        var bareTimes: [Double] = []
        for _ in 0..<repeats {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try await M.query(on: db).filter(naive()).count()
            bareTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        let bare = bareTimes.sorted()[bareTimes.count / 2]
        let agree = found == scanned || q.unicodeScalars.count == 1 ? "" : "  (the scan found \(scanned)!)"
        return String(format: "%@ %@ %d %@ %@ %@ %@ %@ %@ %@%@",
                      table.padding(toLength: 10, withPad: " ", startingAt: 0), q.padding(toLength: 8, withPad: "　", startingAt: 0),
                      q.unicodeScalars.count, String(found).leftPad(14), String(format: "%.1f", indexed).leftPad(9),
                      String(format: "%.1f", scan).leftPad(13), String(format: "%.1f", scan / max(indexed, 0.001)).leftPad(11),
                      String(format: "%.1f", bare).leftPad(13), String(format: "%.1f", bare / max(indexed, 0.001)).leftPad(11),
                      "\(began), \(String(format: "%.1f", prefix))".leftPad(12), agree)
    }

    func indexSizes(_ db: any Database) async throws -> String {
        if db.isPostgres {
            let row = try await db.sql.raw("""
                SELECT (SELECT CAST(coalesce(sum(pg_relation_size(indexrelid)), 0) AS BIGINT) FROM pg_index JOIN pg_class c ON c.oid = indexrelid
                        WHERE c.relname LIKE '%\\_trgm') AS index_bytes, pg_relation_size('members') + pg_relation_size('enterprises') AS tables
                """).first()
            let index = try row?.decode(column: "index_bytes", as: Int.self) ?? 0
            let tables = try row?.decode(column: "tables", as: Int.self) ?? 0
            return "pg_trgm GIN indexes: \(index / 1_048_576) MiB (members and enterprises tables: \(tables / 1_048_576) MiB)"
        }
        let row = try await db.sql.raw("""
            SELECT (SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%\\_search\\_%' ESCAPE '\\') AS index_bytes,
                   (SELECT sum(pgsize) FROM dbstat WHERE name IN ('members', 'enterprises')) AS tables
            """).first()
        let index = try row?.decode(column: "index_bytes", as: Int?.self) ?? 0
        let tables = try row?.decode(column: "tables", as: Int?.self) ?? 0
        return "FTS5 trigram tables: \(index / 1_048_576) MiB (members and enterprises tables: \(tables / 1_048_576) MiB)"
    }
}

private extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
