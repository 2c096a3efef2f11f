import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `gonghui bench-appeals --count N`: seeds Beijing's tree and N appeals (200,000 a year, so
/// 1,000,000 is five years) into the configured empty database, for `scripts/bench/appeals`.
struct BenchAppealsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "count", help: "Appeals to seed (default 1,000,000)") var count: Int?
        init() {}
    }

    var help: String { "Seeds the tree and N appeals for the appeals benchmark." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.autoMigrate()
        if try await Organization.query(on: app.db).filter(\.$kind == .street).count() == 0 {
            _ = try await Seeder(db: app.db, progress: { context.console.info($0) }).seed(.beijing)
        }
        let count = signature.count ?? 1_000_000
        let days = max(30, count * 365 / 200_000)
        let started = Date()
        _ = try await AppealSeeder(db: app.db, progress: { line in if line.hasSuffix("0000 / \(count)") || line.hasPrefix("seeded") { context.console.info(line) } })
            .seed(count: count, days: days)
        context.console.info(String(format: "%d appeals over %d days in %.0f s", count, days, Date().timeIntervalSince(started)))
    }
}
