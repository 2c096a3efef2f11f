import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// `gonghui bench-rights [--scale city|beijing] [--postgres URL]`: what `scripts/bench/rights` runs.
///
/// On each engine, in a fresh database: the tree and the enterprise ledger of the scale (Beijing:
/// 343 streets, 56,000 unions, 344,000 enterprises), then `RightsSeeder` (contracts for 90.4% of
/// the unionised firms, congresses for 94.2%, 25,000 cases a year for five years). Times the city's
/// whole `rights-stats` report against the baseline of the same run, the naive
/// `SELECT union_status, COUNT(*) FROM enterprises GROUP BY union_status`, each the median of 5.
struct BenchRightsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "scale", help: "city or beijing (default beijing)") var scale: String?
        @Option(name: "postgres", help: "A PostgreSQL server URL whose user may create databases") var postgres: String?
        @Option(name: "dir", help: "Where to put the SQLite file (default a temporary folder)") var dir: String?
        init() {}
    }

    var help: String { "Times the city's rights statistics at a scale's size against a naive GROUP BY of the enterprise ledger." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let scale = Seeder.Scale(rawValue: signature.scale ?? "beijing"), scale != .demo else {
            throw CreateAdminCommand.Failure(description: "--scale: city or beijing")
        }
        let dir = signature.dir ?? (NSTemporaryDirectory() + "gonghui-rights-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = context.application.gonghui.dataKey ?? Array(repeating: 42, count: 32)
        let helper = BenchImportCommand()
        var engines: [(String, () async throws -> GonghuiConfig.DatabaseLocation)] = [("SQLite", { .sqliteFile(dir + "/rights.sqlite") })]
        if let admin = signature.postgres {
            engines.append(("PostgreSQL", {
                let name = "gh_bench_rights_\(UUID().uuidString.prefix(6).lowercased())"
                try await helper.recreate(database: name, admin: admin)
                return .postgres(helper.url(admin, name: name))
            }))
        }
        var report: [String] = []
        for (engine, make) in engines {
            let app = try await helper.makeApp(try await make(), key: key)
            do {
                try await app.autoMigrate()
                let console = context.console
                _ = try await Seeder(db: app.db, progress: { _ in }).seed(scale)
                _ = try await OutreachSeeder(db: app.db, progress: { _ in }).seed(scale)
                _ = try await RightsSeeder(db: app.db, progress: { console.info($0) })
                    .seed(casesPerYear: scale == .beijing ? 25_000 : 2_000, years: scale == .beijing ? 5 : 1)
                if app.db.isPostgres { try await (app.db as! any SQLDatabase).raw("ANALYZE").run() }
                let city = try await Organization.query(on: app.db).filter(\.$kind == .city).first()!
                let today = ShanghaiClock.today()
                let from = today.adding(years: -5)
                func median(_ body: () async throws -> Void) async throws -> Double {
                    var times: [Double] = []
                    for _ in 0..<5 {
                        let started = Date()
                        try await body()
                        times.append(Date().timeIntervalSince(started))
                    }
                    return times.sorted()[2]
                }
                let sql = app.db as! any SQLDatabase
                let baseline = try await median { _ = try await sql.raw("SELECT union_status, COUNT(*) AS n FROM enterprises GROUP BY union_status").all() }
                var last: RightsStatsDTO?
                let stats = try await median { last = try await RightsStats(db: app.db).report(root: city, from: from, to: today) }
                let firms = try await Enterprise.query(on: app.db).count()
                guard let r = last else { throw CreateAdminCommand.Failure(description: "no report") }
                report.append(String(format: "%@: %d enterprises, %d unionised, %d cases; naive GROUP BY %.1f ms; the city's rights-stats %.1f ms; stats/GROUP BY = %.2f (coverage %.1f%%, democratic %.1f%%)",
                                     engine, firms, r.contracts.unionisedEnterprises, r.legalAid.cases, baseline * 1000, stats * 1000, stats / baseline,
                                     r.contracts.coverageRate * 100, r.democracy.democraticRate * 100))
                console.info(report.last!)
                try await app.asyncShutdown()
            } catch {
                try? await app.asyncShutdown()
                throw error
            }
        }
        print("\n" + report.joined(separator: "\n"))
    }
}
