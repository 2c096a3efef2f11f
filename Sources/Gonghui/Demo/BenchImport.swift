import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Logging
import PostgresNIO
import Vapor
// The SQLite that sqlite-nio vendors (symbols prefixed sqlite_nio_), so the raw baseline runs on
// exactly the engine the app uses. It is an internal target of sqlite-nio: bench-only.
import VaporCSQLite

/// `gonghui bench-import --rows N [--postgres URL]`: what `scripts/bench/import` runs.
///
/// Generates N valid roster rows as a CSV file, then on each engine, each into a fresh database:
/// 1. the baseline: the same rows, already encrypted and indexed, inserted raw (SQLite: one prepared
///    INSERT in one transaction; PostgreSQL: COPY);
/// 2. the import: the CSV through `RosterImporter` (parsing, checking, encryption, blind index,
///    duplicate checks, batched transactions), as staff run it;
/// 3. on SQLite, the ceiling: the same rows into the table with no index, every index built after.
/// Prints rows per second for each and the ratios.
struct BenchImportCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "rows", help: "Rows to generate (default 1,000,000)") var rows: Int?
        @Option(name: "postgres", help: "A PostgreSQL server URL whose user may create databases") var postgres: String?
        @Option(name: "dir", help: "Where to put the files (default a temporary folder)") var dir: String?
        init() {}
    }

    var help: String { "Measures the roster import against a raw insert on SQLite and PostgreSQL." }

    struct Prepared {
        let csvPath: String
        let rows: [MemberBulk.Row]
        let cards: [String]
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let count = signature.rows ?? 1_000_000
        let dir = signature.dir ?? (NSTemporaryDirectory() + "gonghui-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = context.application.gonghui.dataKey ?? Array(repeating: 42, count: 32)
        let cipher = FieldCipher(dataKey: key)
        let console = context.console

        console.info("generating \(count) rows …")
        let prepared = try prepare(count: count, dir: dir, cipher: cipher)
        let size = (try? FileManager.default.attributesOfItem(atPath: prepared.csvPath)[.size] as? Int) ?? 0
        console.info("roster: \(prepared.csvPath) (\(size / 1_048_576) MiB)")

        var report: [String] = []
        // SQLite
        let rawFile = dir + "/raw.sqlite", importFile = dir + "/import.sqlite"
        try await migrateFresh(.sqliteFile(rawFile), key: key, console: console)
        let rawSQLite = try rawSQLiteInsert(path: rawFile, prepared: prepared).total
        try await migrateFresh(.sqliteFile(importFile), key: key, console: console)
        let importSQLite = try await runImport(.sqliteFile(importFile), key: key, csv: prepared.csvPath, count: count, console: console)
        report.append(line("SQLite", count: count, raw: rawSQLite, imported: importSQLite, baseline: "one prepared INSERT, one transaction"))
        console.info(report.last!)
        // What no import could beat here: writing the rows with every index built afterwards.
        let ceilingFile = dir + "/ceiling.sqlite"
        try await migrateFresh(.sqliteFile(ceilingFile), key: key, console: console)
        let phases = try rawSQLiteInsert(path: ceilingFile, prepared: prepared, indexesAfter: true)
        let ceiling = phases.total
        report.append(String(format: "SQLite ceiling: the same rows into the table with no index, its six indexes and the search index built after, one transaction: %.0f rows/s (%.1f s: rows %.1f s, indexes %.1f s, commit %.1f s); import/ceiling = %.2f",
                             Double(count) / ceiling, ceiling, phases.rows, phases.indexes, phases.commit, ceiling / importSQLite))
        console.info(report.last!)

        if let admin = signature.postgres {
            let rawDB = "gh_bench_raw", importDB = "gh_bench_import"
            for name in [rawDB, importDB] { try await recreate(database: name, admin: admin) }
            try await migrateFresh(.postgres(url(admin, name: rawDB)), key: key, console: console)
            let rawPG = try await copyInsert(url: url(admin, name: rawDB), prepared: prepared)
            try await migrateFresh(.postgres(url(admin, name: importDB)), key: key, console: console)
            let importPG = try await runImport(.postgres(url(admin, name: importDB)), key: key, csv: prepared.csvPath, count: count, console: console)
            report.append(line("PostgreSQL", count: count, raw: rawPG, imported: importPG, baseline: "COPY"))
            console.info(report.last!)
        }
        print("\n" + report.joined(separator: "\n"))
    }

    func line(_ engine: String, count: Int, raw: Double, imported: Double, baseline: String) -> String {
        let rawRate = Double(count) / raw, importRate = Double(count) / imported
        return String(format: "%@: raw insert (%@) %.0f rows/s (%.1f s); import %.0f rows/s (%.1f s); import/raw = %.2f",
                      engine, baseline, rawRate, raw, importRate, imported, importRate / rawRate)
    }

    /// The roster file and, for the baselines, the rows exactly as the import would store them.
    func prepare(count: Int, dir: String, cipher: FieldCipher) throws -> Prepared {
        let path = dir + "/roster.csv"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var buffer = Data("姓名,身份证号码,手机号码,工作单位,统一社会信用代码,入会时间\n".utf8)
        var rows: [MemberBulk.Row] = []
        var cards: [String] = []
        rows.reserveCapacity(count)
        cards.reserveCapacity(count)
        for n in 0..<count {
            let p = MemberSeeder.person(n)
            let employer = "北京\(BeijingNames.companyStems[n % BeijingNames.companyStems.count])\(BeijingNames.trades[n % BeijingNames.trades.count])有限公司"
            let joined = String(format: "%04d-%02d-%02d", 2010 + n % 15, 1 + n % 12, 1 + n % 28)
            buffer.append(Data("\(p.name),\(p.id),\(p.phone),\(employer),,\(joined)\n".utf8))
            if buffer.count > 1 << 20 { handle.write(buffer); buffer.removeAll(keepingCapacity: true) }
            let birth = String(p.id.dropFirst(6).prefix(8))
            rows.append(MemberBulk.Row(orgID: 0, name: p.name, sealed: try cipher.seal(p.id), index: cipher.blindIndex(p.id),
                                       sex: Int(String(p.id.dropFirst(16).prefix(1)))! % 2 == 1 ? "M" : "F",
                                       birth: "\(birth.prefix(4))-\(birth.dropFirst(4).prefix(2))-\(birth.suffix(2))",
                                       phone: p.phone, employer: employer, creditCode: nil, joined: joined))
            cards.append(CardNumber(prefix: "1100", serial: Int64(n + 1)).value)
        }
        handle.write(buffer)
        return Prepared(csvPath: path, rows: rows, cards: cards)
    }

    func makeApp(_ database: GonghuiConfig.DatabaseLocation, key: [UInt8]) async throws -> Application {
        let app = try await Application.make(.production)
        var config = GonghuiConfig()
        config.database = database
        config.dataKey = key
        config.logLevel = .warning
        try await configure(app, config)
        return app
    }

    func migrateFresh(_ database: GonghuiConfig.DatabaseLocation, key: [UInt8], console: any Console) async throws {
        if case let .sqliteFile(path) = database {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let app = try await makeApp(database, key: key)
        do {
            try await app.autoMigrate()
            // the union the rows go to
            let city = try await Organization.query(on: app.db).filter(\.$kind == .city).first()!
            let district = try await Organization.query(on: app.db).filter(\.$kind == .district).first()!
            let street = Organization(kind: .street, name: "基准街道总工会", parentID: district.id)
            try await OrgTree.insert(street, under: district, on: app.db)
            let union = Organization(kind: .enterprise, name: "基准单位工会", parentID: street.id)
            try await OrgTree.insert(union, under: street, on: app.db)
            _ = city
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    func unionID(_ app: Application) async throws -> Organization {
        try await Organization.query(on: app.db).filter(\.$name == "基准单位工会").first()!
    }

    func runImport(_ database: GonghuiConfig.DatabaseLocation, key: [UInt8], csv: String, count: Int, console: any Console) async throws -> Double {
        let app = try await makeApp(database, key: key)
        do {
            let union = try await unionID(app)
            let size = (try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int) ?? 0
            let job = try await RosterImports.makeJob(union: union, staffID: nil, fileName: "bench.csv", totalBytes: size, on: app.db)
            let started = Date()
            let done = await RosterImports.execute(job: job, path: csv, union: union, app: app, lang: .en, actor: nil, ip: nil, removeFile: false)
            let seconds = Date().timeIntervalSince(started)
            guard done.state == "done", done.imported == count else {
                throw CreateAdminCommand.Failure(description: "import did not finish cleanly: \(done.state) \(done.message ?? "") imported \(done.imported) failed \(done.failed) duplicates \(done.duplicates)")
            }
            let stored = try await Member.query(on: app.db).count()
            guard stored == count else { throw CreateAdminCommand.Failure(description: "expected \(count) members, found \(stored)") }
            try await app.asyncShutdown()
            return seconds
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }

    /// One prepared INSERT, bound and stepped per row, inside one transaction.
    /// One prepared INSERT, bound and stepped per row, inside one transaction, the search index
    /// filled after the rows as the import fills it. With `indexesAfter`, the ceiling for writing
    /// these rows into SQLite at all: the same rows into a copy of the table with no index or
    /// constraint, then its six indexes and the search index built from the loaded rows (sorted,
    /// with the sorter allowed a thread per core), all in the one transaction.
    func rawSQLiteInsert(path: String, prepared: Prepared, indexesAfter: Bool = false) throws -> RawTiming {
        var handle: OpaquePointer?
        guard sqlite_nio_sqlite3_open(path, &handle) == SQLITE_OK, let db = handle else { throw CreateAdminCommand.Failure(description: "open \(path)") }
        defer { sqlite_nio_sqlite3_close(db) }
        func exec(_ sql: String) throws {
            guard sqlite_nio_sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw CreateAdminCommand.Failure(description: String(cString: sqlite_nio_sqlite3_errmsg(db)))
            }
        }
        let unionRow = try rawQueryInt(db, "SELECT id FROM organizations WHERE name = '基准单位工会'")
        var table = "members"
        var buildIndexes: [String] = []
        if indexesAfter {
            // members_bare: the table's own definition without its two UNIQUE constraints (they
            // are indexes SQLite cannot drop); every index made again on it after the load.
            table = "members_bare"
            let create = try rawQueryText(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'members'")
            let bare = create.replacingOccurrences(of: #", CONSTRAINT "[a-z_]+" UNIQUE \("[a-z_]+"\)"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"CREATE TABLE "members""#, with: #"CREATE TABLE "members_bare""#)
            guard !bare.contains("UNIQUE"), bare.contains("members_bare") else {
                throw CreateAdminCommand.Failure(description: "cannot make a bare copy of: \(create)")
            }
            try exec(bare)
            buildIndexes = [#"CREATE UNIQUE INDEX bare_id_index ON members_bare (id_index)"#,
                            #"CREATE UNIQUE INDEX bare_card_number ON members_bare (card_number)"#]
            for index in try rawQueryTexts(db, "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' AND sql IS NOT NULL") {
                buildIndexes.append(index.replacingOccurrences(of: #"INDEX ""#, with: #"INDEX "bare_"#)
                    .replacingOccurrences(of: #"ON "members""#, with: #"ON "members_bare""#))
            }
            guard buildIndexes.count == 6 else { throw CreateAdminCommand.Failure(description: "expected six indexes: \(buildIndexes)") }
            // and the search index (issue 14), from the loaded rows in one statement
            buildIndexes.append(TextSearch.members.bulkFill(after: 0, from: "members_bare"))
            try exec("PRAGMA threads = \(ProcessInfo.processInfo.activeProcessorCount)")
        }
        let sql = """
            INSERT INTO \(table) (org_id, name, id_cipher, id_index, sex, birth_date, phone, employer_name, employer_credit_code,
              joined_on, status, card_number, card_state, source, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 'issued', 'import', ?, ?)
            """
        // The same page cache the import sets on its connection.
        try exec("PRAGMA cache_size = -\(MemberBulk.sqliteCacheKiB)")
        try exec("PRAGMA synchronous = NORMAL")
        try exec("PRAGMA temp_store = MEMORY")
        try exec("PRAGMA wal_autocheckpoint = \(MemberBulk.sqliteCheckpointPages)")
        let started = Date()
        try exec("BEGIN")
        // As the import writes: the search index for all the rows in one statement after them.
        if !indexesAfter { try exec(TextSearch.members.deferSQL) }
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let stmt = statement else {
            throw CreateAdminCommand.Failure(description: String(cString: sqlite_nio_sqlite3_errmsg(db)))
        }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let now = Date().timeIntervalSince1970
        for (index, row) in prepared.rows.enumerated() {
            sqlite_nio_sqlite3_bind_int64(stmt, 1, Int64(unionRow))
            sqlite_nio_sqlite3_bind_text(stmt, 2, row.name, -1, transient)
            _ = row.sealed.withUnsafeBytes { sqlite_nio_sqlite3_bind_blob(stmt, 3, $0.baseAddress, Int32($0.count), transient) }
            sqlite_nio_sqlite3_bind_text(stmt, 4, row.index, -1, transient)
            sqlite_nio_sqlite3_bind_text(stmt, 5, row.sex, -1, transient)
            sqlite_nio_sqlite3_bind_text(stmt, 6, row.birth, -1, transient)
            sqlite_nio_sqlite3_bind_text(stmt, 7, row.phone, -1, transient)
            sqlite_nio_sqlite3_bind_text(stmt, 8, row.employer ?? "", -1, transient)
            sqlite_nio_sqlite3_bind_null(stmt, 9)
            sqlite_nio_sqlite3_bind_text(stmt, 10, row.joined, -1, transient)
            sqlite_nio_sqlite3_bind_text(stmt, 11, prepared.cards[index], -1, transient)
            sqlite_nio_sqlite3_bind_double(stmt, 12, now)
            sqlite_nio_sqlite3_bind_double(stmt, 13, now)
            guard sqlite_nio_sqlite3_step(stmt) == SQLITE_DONE else {
                throw CreateAdminCommand.Failure(description: String(cString: sqlite_nio_sqlite3_errmsg(db)))
            }
            sqlite_nio_sqlite3_reset(stmt)
        }
        sqlite_nio_sqlite3_finalize(stmt)
        if !indexesAfter {
            try exec(TextSearch.members.bulkFill(after: 0))
            try exec(TextSearch.members.undeferSQL)
        }
        let rowsDone = Date()
        for index in buildIndexes { try exec(index) }
        let indexesDone = Date()
        try exec("COMMIT")
        let done = Date()
        return RawTiming(total: done.timeIntervalSince(started), rows: rowsDone.timeIntervalSince(started),
                         indexes: indexesDone.timeIntervalSince(rowsDone), commit: done.timeIntervalSince(indexesDone))
    }

    /// Seconds in all and in each phase of a raw insert.
    struct RawTiming {
        let total: Double
        let rows: Double
        let indexes: Double
        let commit: Double
    }

    func rawQueryTexts(_ db: OpaquePointer, _ sql: String) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let stmt = statement else {
            throw CreateAdminCommand.Failure(description: "query \(sql)")
        }
        defer { sqlite_nio_sqlite3_finalize(stmt) }
        var texts: [String] = []
        while sqlite_nio_sqlite3_step(stmt) == SQLITE_ROW, let text = sqlite_nio_sqlite3_column_text(stmt, 0) {
            texts.append(String(cString: text))
        }
        return texts
    }

    func rawQueryText(_ db: OpaquePointer, _ sql: String) throws -> String {
        guard let first = try rawQueryTexts(db, sql).first else { throw CreateAdminCommand.Failure(description: "no row: \(sql)") }
        return first
    }

    func rawQueryInt(_ db: OpaquePointer, _ sql: String) throws -> Int {
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let stmt = statement,
              sqlite_nio_sqlite3_step(stmt) == SQLITE_ROW else { throw CreateAdminCommand.Failure(description: "query \(sql)") }
        defer { sqlite_nio_sqlite3_finalize(stmt) }
        return Int(sqlite_nio_sqlite3_column_int64(stmt, 0))
    }

    func url(_ admin: String, name: String) -> String {
        var components = URLComponents(string: admin)!
        components.path = "/" + name
        return components.string!
    }

    func recreate(database name: String, admin: String) async throws {
        let app = try await Application.make(.production)
        do {
            app.databases.use(try .postgres(url: admin), as: .psql)
            try await app.db.sql.raw("DROP DATABASE IF EXISTS \(ident: name)").run()
            try await app.db.sql.raw("CREATE DATABASE \(ident: name)").run()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    /// COPY … FROM STDIN (text format) on a plain connection.
    func copyInsert(url: String, prepared: Prepared) async throws -> Double {
        let components = URLComponents(string: url)!
        let config = PostgresConnection.Configuration(host: components.host ?? "127.0.0.1", port: components.port ?? 5432,
                                                      username: components.user ?? "postgres", password: components.password,
                                                      database: String(components.path.dropFirst()), tls: .disable)
        let logger = Logger(label: "bench")
        let connection = try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query("SELECT id FROM organizations WHERE name = '基准单位工会'", logger: logger)
        var unionID = 0
        for try await (id) in rows.decode(Int.self) { unionID = id }
        // The COPY text is made before the clock starts: the baseline times the engine, not hex formatting.
        let now = ISO8601DateFormatter().string(from: Date())
        let hexDigits = Array("0123456789abcdef".utf8)
        var chunks: [ByteBuffer] = []
        var buffer = ByteBuffer()
        for (index, row) in prepared.rows.enumerated() {
            buffer.writeString("\(unionID)\t\(row.name)\t\\\\x")
            for byte in row.sealed { buffer.writeInteger(hexDigits[Int(byte >> 4)]); buffer.writeInteger(hexDigits[Int(byte & 0x0F)]) }
            buffer.writeString("\t\(row.index)\t\(row.sex)\t\(row.birth)\t\(row.phone)\t\(row.employer ?? "")\t\(row.joined)\tactive\t\(prepared.cards[index])\tissued\timport\t\(now)\t\(now)\n")
            if buffer.readableBytes > 1 << 20 { chunks.append(buffer); buffer = ByteBuffer() }
        }
        if buffer.readableBytes > 0 { chunks.append(buffer) }
        let ready = chunks
        let started = Date()
        try await connection.copyFrom(table: "members", columns: ["org_id", "name", "id_cipher", "id_index", "sex", "birth_date", "phone",
                                                                  "employer_name", "joined_on", "status", "card_number", "card_state",
                                                                  "source", "created_at", "updated_at"], logger: logger) { writer in
            for chunk in ready { try await writer.write(chunk) }
        }
        return Date().timeIntervalSince(started)
    }
}
