import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `gonghui bench-relief --lines N [--postgres URL]`: what `scripts/bench/relief` runs.
///
/// On each engine, in a fresh database with N active households under one street (deep and
/// relative, the district's 低保 kept) and a 生活救助 programme budgeted down to the street:
/// 1. the baseline: the same N lines and N reserve entries, already computed, inserted raw
///    (multi-row INSERTs of 1,000, one transaction, one budget UPDATE);
/// 2. the batch: the N households through `ReliefLines.add`, as staff add them: every check
///    (active, once per programme, category rule, relative one kind, the yearly cap, the amount
///    from the rule), the reservation on the locked budget row and an entry per line, 1,000 lines
///    a transaction.
/// Prints lines per second for each and the ratio; then recounts the budget from the ledger.
struct BenchReliefCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "lines", help: "Lines in the batch (default 50,000)") var lines: Int?
        @Option(name: "postgres", help: "A PostgreSQL server URL whose user may create databases") var postgres: String?
        @Option(name: "dir", help: "Where to put the SQLite files (default a temporary folder)") var dir: String?
        init() {}
    }

    var help: String { "Measures a relief batch of N lines against a raw insert of the same rows on SQLite and PostgreSQL." }

    struct Setup {
        let program: ReliefProgram
        let street: Organization
        let households: [(id: Int, category: HouseholdCategory, name: String)]
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let count = signature.lines ?? 50_000
        let dir = signature.dir ?? (NSTemporaryDirectory() + "gonghui-relief-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = context.application.gonghui.dataKey ?? Array(repeating: 42, count: 32)
        let helper = BenchImportCommand()
        var report: [String] = []
        var engines: [(String, () async throws -> GonghuiConfig.DatabaseLocation)] = [
            ("SQLite", {
                let path = dir + "/relief-\(UUID().uuidString.prefix(6)).sqlite"
                return .sqliteFile(path)
            }),
        ]
        if let admin = signature.postgres {
            engines.append(("PostgreSQL", {
                let name = "gh_bench_relief_\(UUID().uuidString.prefix(6).lowercased())"
                try await helper.recreate(database: name, admin: admin)
                return .postgres(helper.url(admin, name: name))
            }))
        }
        for (engine, make) in engines {
            let raw = try await measure(try await make(), key: key, count: count, raw: true, console: context.console)
            let batch = try await measure(try await make(), key: key, count: count, raw: false, console: context.console)
            let rawRate = Double(count) / raw, batchRate = Double(count) / batch
            report.append(String(format: "%@: raw insert of %d lines and %d entries %.0f lines/s (%.2f s); batch through every check %.0f lines/s (%.2f s); batch/raw = %.2f",
                                 engine, count, count, rawRate, raw, batchRate, batch, batchRate / rawRate))
            context.console.info(report.last!)
        }
        print("\n" + report.joined(separator: "\n"))
    }

    /// Seconds for the raw insert or the batch, in a freshly migrated database.
    func measure(_ database: GonghuiConfig.DatabaseLocation, key: [UInt8], count: Int, raw: Bool, console: any Console) async throws -> Double {
        let app = try await BenchImportCommand().makeApp(database, key: key)
        do {
            try await app.autoMigrate()
            let setup = try await seed(app, count: count)
            let started = Date()
            if raw {
                try await rawInsert(app, setup)
            } else {
                let inputs = setup.households.map { ReliefLines.Input(householdID: $0.id) }
                let batch = ReliefBatch()
                batch.programID = try setup.program.requireID()
                batch.orgID = try setup.street.requireID()
                batch.state = .draft
                batch.lineCount = 0
                batch.totalFen = 0
                try await batch.create(on: app.db)
                let out = try await ReliefLines.add(inputs, to: batch, program: setup.program, staffID: nil, cipher: app.fieldCipher, on: app.db)
                let refused = out.filter { $0.refusal != nil }.count
                guard refused == 0 else { throw CreateAdminCommand.Failure(description: "\(refused) lines refused") }
            }
            let seconds = Date().timeIntervalSince(started)
            let lines = try await ReliefLine.query(on: app.db).count()
            let entries = try await FundEntry.query(on: app.db).filter(\.$kind == .reserve).count()
            guard lines == count, entries == count else { throw CreateAdminCommand.Failure(description: "expected \(count) lines, found \(lines) and \(entries) entries") }
            if !raw {
                let mismatches = try await FundsAudit.verify(on: app.db)
                guard mismatches.isEmpty else { throw CreateAdminCommand.Failure(description: "ledger: \(mismatches)") }
            }
            try await app.asyncShutdown()
            return seconds
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }

    func seed(_ app: Application, count: Int) async throws -> Setup {
        let db = app.db
        let city = try await Organization.query(on: db).filter(\.$kind == .city).first()!
        let district = try await Organization.query(on: db).filter(\.$kind == .district).sort(\.$id).first()!
        let street = Organization(kind: .street, name: "基准街道总工会", parentID: district.id)
        try await OrgTree.insert(street, under: district, on: db)
        let union = Organization(kind: .enterprise, name: "基准单位工会", parentID: street.id)
        try await OrgTree.insert(union, under: street, on: db)
        let dibao = DibaoStandard()
        dibao.orgID = try district.requireID()
        dibao.year = 2026
        dibao.monthlyFen = 124_500
        try await dibao.create(on: db)
        let program = try await ReliefProgramController.make(.init(kind: "living", year: 2026, name: "2026年生活救助", householdYearCapYuan: 20_000),
                                                             orgID: try city.requireID(), on: db)
        let fund = try await Fund.find(program.fundID, on: db)!
        let total = Int64(count) * 1_245_000
        try await FundsLedger.allocate(fund, to: city, from: nil, fen: total, .init(), on: db)
        try await FundsLedger.allocate(fund, to: district, from: city, fen: total, .init(), on: db)
        try await FundsLedger.allocate(fund, to: street, from: district, fen: total, .init(), on: db)
        let sql = db as! any SQLDatabase
        let now = Date()
        try await db.transaction { tx in
            let sql = tx as! any SQLDatabase
            for start in stride(from: 0, to: count, by: 1000) {
                let insert = sql.insert(into: HardshipHousehold.schema)
                    .columns("org_id", "file_number", "subject_name", "subject_sex", "state", "category", "causes", "household_size",
                             "annual_income_fen", "changed_on", "created_at")
                for n in start..<min(start + 1000, count) {
                    let p = MemberSeeder.person(n)
                    insert.values([SQLBind(try union.requireID()), SQLBind("B2026-\(n)"), SQLBind(p.name), SQLBind(n % 2 == 0 ? "M" : "F"),
                                   SQLBind("active"), SQLBind(n % 3 == 0 ? "relative" : "deep"), SQLBind("illness"), SQLBind(3),
                                   SQLBind(Int64(1_500_000)), SQLBind("2026-01-10"), SQLBind(now)])
                }
                try await insert.run()
            }
        }
        var households: [(Int, HouseholdCategory, String)] = []
        for row in try await sql.raw("SELECT id, category, subject_name FROM hardship_households ORDER BY id").all() {
            households.append((try row.decode(column: "id", as: Int.self),
                               HouseholdCategory(rawValue: try row.decode(column: "category", as: String.self))!,
                               try row.decode(column: "subject_name", as: String.self)))
        }
        return Setup(program: program, street: street, households: households)
    }

    /// The same rows with nothing checked: lines, then an entry each, then the budget.
    func rawInsert(_ app: Application, _ s: Setup) async throws {
        let programID = try s.program.requireID()
        let streetID = try s.street.requireID()
        let batch = ReliefBatch()
        batch.programID = programID
        batch.orgID = streetID
        batch.state = .draft
        batch.lineCount = s.households.count
        batch.totalFen = 0
        try await batch.create(on: app.db)
        let batchID = try batch.requireID()
        let now = Date()
        let total = s.households.reduce(Int64(0)) { $0 + ($1.category == .deep ? 1_245_000 : 996_000) }
        try await app.db.transaction { tx in
            let sql = tx as! any SQLDatabase
            for start in stride(from: 0, to: s.households.count, by: 1000) {
                let part = s.households[start..<min(start + 1000, s.households.count)]
                let lines = sql.insert(into: ReliefLine.schema)
                    .columns("batch_id", "program_id", "year", "kind", "household_id", "recipient_name", "beneficiary", "amount_fen", "state", "at")
                for h in part {
                    let fen: Int64 = h.category == .deep ? 1_245_000 : 996_000
                    lines.values([SQLBind(batchID), SQLBind(programID), SQLBind(2026), SQLBind("living"), SQLBind(h.id), SQLBind(h.name),
                                  SQLBind("h:\(h.id)"), SQLBind(fen), SQLBind("reserved"), SQLBind(now)])
                }
                let ids = try await lines.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }.sorted()
                let entries = sql.insert(into: FundEntry.schema)
                    .columns("fund_id", "org_id", "kind", "amount_fen", "household_id", "batch_id", "ref", "at")
                for (h, id) in zip(part, ids) {
                    let fen: Int64 = h.category == .deep ? 1_245_000 : 996_000
                    entries.values([SQLBind(s.program.fundID), SQLBind(streetID), SQLBind("reserve"), SQLBind(fen), SQLBind(h.id),
                                    SQLBind(batchID), SQLBind("relief-line:\(id)"), SQLBind(now)])
                }
                try await entries.run()
            }
            try await sql.raw("UPDATE fund_budgets SET reserved_fen = reserved_fen + \(bind: total) WHERE fund_id = \(bind: s.program.fundID) AND org_id = \(bind: streetID)").run()
        }
    }
}
