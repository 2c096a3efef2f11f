import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// `gonghui bench-claims --rows N --members M [--postgres URL]`: what `scripts/bench/claims` runs.
///
/// On each engine, in a fresh database with the demo tree, M members (all in units that remitted
/// their funds) and this year's inpatient and outpatient plans:
/// 1. the baseline: the N claims, already computed, inserted raw (multi-row INSERTs of 500, one transaction);
/// 2. the import: a settlement file of the same N rows through `SettlementImporter` as the console runs
///    it: the file read and checked, each row matched by blind index, placed in its plan, the usage
///    rows locked and read, the benefit decided, and the claims, usage, tallies and counts written,
///    500 rows a transaction.
/// Prints rows per second for each and the ratio, then the reconciliation: members above a cap (0 expected)
/// and the usage rows that disagree with the sum of their claims (0 expected).
struct BenchClaimsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "rows", help: "Settlement rows (default 1,000,000)") var rows: Int?
        @Option(name: "members", help: "Covered members (default 1,000,000)") var members: Int?
        @Option(name: "postgres", help: "A PostgreSQL server URL whose user may create databases") var postgres: String?
        @Option(name: "dir", help: "Where to put the SQLite files and the settlement file (default a temporary folder)") var dir: String?
        init() {}
    }

    var help: String { "Measures a settlement import of N rows against a raw insert of the same claims on SQLite and PostgreSQL." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let count = signature.rows ?? 1_000_000
        let members = signature.members ?? 1_000_000
        let dir = signature.dir ?? (NSTemporaryDirectory() + "gonghui-claims-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = context.application.gonghui.dataKey ?? Array(repeating: 42, count: 32)
        let helper = BenchImportCommand()
        var engines: [(String, () async throws -> GonghuiConfig.DatabaseLocation)] = [
            ("SQLite", { .sqliteFile(dir + "/claims-\(UUID().uuidString.prefix(6)).sqlite") }),
        ]
        if let admin = signature.postgres {
            engines.append(("PostgreSQL", {
                let name = "gh_bench_claims_\(UUID().uuidString.prefix(6).lowercased())"
                try await helper.recreate(database: name, admin: admin)
                return .postgres(helper.url(admin, name: name))
            }))
        }
        let file = dir + "/settlements.csv"
        try writeFile(file, rows: count, members: members)
        var report: [String] = []
        for (engine, make) in engines {
            let raw = try await measure(try await make(), key: key, file: file, count: count, members: members, raw: true, console: context.console)
            let run = try await measure(try await make(), key: key, file: file, count: count, members: members, raw: false, console: context.console)
            let rawRate = Double(count) / raw.seconds, runRate = Double(count) / run.seconds
            report.append(String(format: "%@: raw insert of %d claims %.0f rows/s (%.2f s); import through every rule %.0f rows/s (%.2f s); import/raw = %.2f; %@",
                                 engine, count, rawRate, raw.seconds, runRate, run.seconds, runRate / rawRate, run.check))
            context.console.info(report.last!)
        }
        print("\n" + report.joined(separator: "\n"))
    }

    /// The n-th row: member n mod M, a distinct settlement number, amounts that reach the caps for some.
    func writeFile(_ path: String, rows: Int, members: Int) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let year = ShanghaiClock.today().year
        let today = ShanghaiClock.today()
        var text = "身份证号,结算单号,就诊类型,就诊日期,医疗总费用,统筹支付,个人自付\n"
        for n in 0..<rows {
            let person = MemberSeeder.person(n % members)
            let day = (try! CalendarDate(year: year, month: 1, day: 1)).adding(days: n % max(1, today.dayNumber - (try! CalendarDate(year: year, month: 1, day: 1)).dayNumber))
            let selfPaid = 500 + (n &* 7_919) % 60_000
            text += "\(person.id),B\(n),\(n % 3 == 0 ? "门诊" : "住院"),\(day),\(selfPaid * 3).00,\(selfPaid).00,\(selfPaid).00\n"
            if text.utf8.count > 1 << 20 {
                handle.write(Data(text.utf8))
                text = ""
            }
        }
        handle.write(Data(text.utf8))
    }

    func measure(_ database: GonghuiConfig.DatabaseLocation, key: [UInt8], file: String, count: Int, members: Int, raw: Bool,
                 console: any Console) async throws -> (seconds: Double, check: String) {
        let app = try await BenchImportCommand().makeApp(database, key: key)
        do {
            try await app.autoMigrate()
            _ = try await Seeder(db: app.db, progress: { _ in }).seed(.demo)
            try await MemberSeeder(db: app.db, cipher: app.fieldCipher, cardPrefix: CardSerials.prefix(app), progress: { _ in }).seed(count: members)
            let city = try await Organization.query(on: app.db).filter(\.$kind == .city).first()!
            let year = ShanghaiClock.today().year
            for kind in ["inpatient", "outpatient"] {
                _ = try await AidPlanController.make(.init(kind: kind, year: year, name: kind, coverFrom: "\(year)-01-01", coverTo: "\(year)-12-31",
                                                           deductibleYuan: 1_300, ratio: 0.5, yearlyCapYuan: 100_000, totalCapYuan: 200_000),
                                                     orgID: city.requireID(), on: app.db)
            }
            for id in try await Organization.query(on: app.db).filter(\.$kind ~~ OrgKind.grassrootsKinds).all(\.$id) {
                try await AidPlanController.setRemitted(org: id, year: year, remitted: true, staffID: nil, on: app.db)
            }
            let job = try await SettlementImports.makeJob(root: city, staffID: nil, fileName: "bench.csv", totalBytes: 1, on: app.db)
            let started = Date()
            if raw {
                try await rawInsert(app, count: count, members: members, orgID: city.requireID(), jobID: job.requireID())
            } else {
                let reader = try Spreadsheet.open(path: file, limits: ImportLimits.spreadsheet)
                let importer = SettlementImporter(db: app.db, cipher: app.fieldCipher, localizer: app.localizer, lang: .zhHans, jobID: try job.requireID(),
                                                  orgID: try city.requireID())
                let outcome = try await importer.run(reader: reader) { _, _, _ in }
                guard outcome.imported == count else { throw CreateAdminCommand.Failure(description: "imported \(outcome.imported) of \(count)") }
            }
            let seconds = Date().timeIntervalSince(started)
            var check = ""
            if !raw {
                let sql = app.db as! any SQLDatabase
                let over = try await sql.raw("""
                    SELECT COUNT(*) AS n FROM mutual_aid_usage u JOIN mutual_aid_plans p ON p.id = u.plan_id WHERE u.used_fen > p.yearly_cap_fen
                    """).first()!.decode(column: "n", as: Int.self)
                let overTotal = try await sql.raw("SELECT COUNT(*) AS n FROM mutual_aid_totals WHERE used_fen > 20000000").first()!.decode(column: "n", as: Int.self)
                let mismatched = try await sql.raw("""
                    SELECT COUNT(*) AS n FROM mutual_aid_usage u WHERE u.used_fen <> (SELECT COALESCE(SUM(c.benefit_fen), 0) FROM mutual_aid_claims c
                      WHERE c.plan_id = u.plan_id AND c.member_id = u.member_id)
                    """).first()!.decode(column: "n", as: Int.self)
                let paid = try await sql.raw("SELECT COUNT(*) AS n FROM mutual_aid_claims WHERE outcome = 'paid'").first()!.decode(column: "n", as: Int.self)
                check = "reconciliation: \(paid) paid, \(over) members above a yearly cap, \(overTotal) above the total cap, \(mismatched) usage rows unlike their claims"
            }
            try await app.asyncShutdown()
            return (seconds, check)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }

    /// The same claims as the import writes, computed beforehand (benefit from the rule, no caps), in one transaction.
    func rawInsert(_ app: Application, count: Int, members: Int, orgID: Int, jobID: Int) async throws {
        let ids = try await Member.query(on: app.db).sort(\.$id).limit(members).all(\.$id)
        let plans = try await AidPlan.query(on: app.db).sort(\.$id).all()
        let now = Date()
        try await app.db.transaction { tx in
            for start in stride(from: 0, to: count, by: 500) {
                var claims: [AidClaim] = []
                for n in start..<min(start + 500, count) {
                    let selfPaid = Int64(500 + (n &* 7_919) % 60_000) * 100
                    let c = AidClaim()
                    c.planID = plans[n % 3 == 0 ? 1 : 0].id
                    c.memberID = ids[n % ids.count]
                    c.orgID = orgID
                    c.source = "settlement"
                    c.settlementNumber = "B\(n)"
                    c.visitType = n % 3 == 0 ? "outpatient" : "inpatient"
                    c.visitDate = "2026-01-01"
                    c.totalFen = selfPaid * 3
                    c.insuranceFen = selfPaid
                    c.selfPaidFen = selfPaid
                    c.benefitFen = max(0, (selfPaid - 130_000) / 2)
                    c.outcome = "paid"
                    c.state = "approved"
                    c.jobID = jobID
                    c.line = n + 2
                    c.month = "2026-01"
                    c.createdAt = now
                    claims.append(c)
                }
                try await AidClaims.insert(claims, on: tx)
            }
        }
    }
}

/// `gonghui sample-settlements FILE`: writes the demo's sample settlement file (`Resources/Demo/settlements-sample.csv`):
/// rows for the demo's generated members in every outcome, none of them among the claims the demo seeds.
struct SampleSettlementsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "file", help: "Where to write the CSV") var file: String
        init() {}
    }

    var help: String { "Writes a settlement file for the demo's members to import by hand." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let year = ShanghaiClock.today().year
        let last = (try? CalendarDate(year: year, month: 11, day: 30)) ?? ShanghaiClock.today()
        let rows = MutualAidSeeder.settlementRows(prefix: "BJYB", members: 400..<700, year: year, lastDay: min(last, ShanghaiClock.today()))
        try MutualAidSeeder.csv(rows).write(toFile: signature.file, atomically: true, encoding: .utf8)
        context.console.info("\(rows.count) rows written to \(signature.file)")
    }
}
