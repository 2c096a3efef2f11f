import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Fills a database with a realistic federation tree at one of three sizes.
/// Bulk paths: batched multi-row INSERTs inside transactions, then one UPDATE per level that
/// writes every new node's path from its parent's.
struct Seeder {
    enum Scale: String, CaseIterable, Sendable {
        case demo, city, beijing

        /// Streets in the whole city, grassroots unions in the whole city.
        var size: (streets: Int, unions: Int) {
            switch self {
            case .demo: (0, 400) // 0: the real street list only
            case .city: (150, 10_000)
            case .beijing: (343, 56_000)
            }
        }
    }

    let db: any Database
    let progress: @Sendable (String) -> Void

    /// Seeds when the tree has no streets yet; answers false when there was nothing to do.
    func seed(_ scale: Scale) async throws -> Bool {
        if try await Organization.query(on: db).filter(\.$kind == .street).count() > 0 { return false }
        let districts = try await Organization.query(on: db).filter(\.$kind == .district).sort(\.$id).all()
        guard !districts.isEmpty else { return false }
        let started = Date()

        // Streets: the real names, then invented ones, spread evenly over the districts.
        var streetRows: [(parent: Int, name: String, code: String?)] = []
        let perDistrict = scale.size.streets == 0 ? 0 : scale.size.streets / districts.count
        let extra = scale.size.streets == 0 ? 0 : scale.size.streets % districts.count
        for (index, district) in districts.enumerated() {
            let code = district.divisionCode ?? ""
            let count = scale == .demo ? (BeijingNames.streets[code]?.count ?? 2) : perDistrict + (index < extra ? 1 : 0)
            for n in 0..<count {
                let streetCode = code.isEmpty ? nil : code + String(format: "%03d", n + 1)
                streetRows.append((district.id!, BeijingNames.street(district: code, n), streetCode))
            }
        }
        try await insert(kind: .street, depth: 2, rows: streetRows.map { ($0.parent, $0.name, $0.code, nil) }, label: "streets")

        // Grassroots unions, round-robin over the streets, in the seeds' mix of kinds.
        let streets = try await Organization.query(on: db).filter(\.$kind == .street).sort(\.$id).all()
        let mix: [OrgKind] = [.enterprise, .enterprise, .enterprise, .enterprise, .enterprise, .enterprise,
                              .community, .community, .building, .industry, .other, .enterprise]
        var unionRows: [(Int, String, String?, String?)] = []
        unionRows.reserveCapacity(scale.size.unions)
        var kinds: [OrgKind] = []
        for n in 0..<scale.size.unions {
            let street = streets[n % streets.count]
            let kind = mix[(n / streets.count + n) % mix.count]
            let ordinal = n / streets.count
            let name = BeijingNames.union(kind.rawValue, street: street.name, ordinal)
            let credit = kind == .enterprise || kind == .building ? Self.creditCode(n) : nil
            unionRows.append((street.id!, name, nil, credit))
            kinds.append(kind)
        }
        try await insert(kinds: kinds, depth: 3, rows: unionRows, label: "unions")
        progress(String(format: "seeded %d streets and %d unions in %.1f s", streetRows.count, unionRows.count, Date().timeIntervalSince(started)))
        return true
    }

    private func insert(kind: OrgKind, depth: Int, rows: [(Int, String, String?, String?)], label: String) async throws {
        try await insert(kinds: Array(repeating: kind, count: rows.count), depth: depth, rows: rows, label: label)
    }

    private func insert(kinds: [OrgKind], depth: Int, rows: [(Int, String, String?, String?)], label: String) async throws {
        let batch = 500
        let now = Date()
        var lastShown = -1
        for start in stride(from: 0, to: rows.count, by: batch * 20) {
            let end = min(start + batch * 20, rows.count)
            try await db.transaction { tx in
                for chunkStart in stride(from: start, to: end, by: batch) {
                    var insert = tx.sql.insert(into: Organization.schema)
                        .columns("kind", "name", "parent_id", "path", "depth", "division_code", "credit_code", "created_at", "updated_at")
                    for i in chunkStart..<min(chunkStart + batch, rows.count) {
                        let row = rows[i]
                        insert = insert.values(SQLBind(kinds[i].rawValue), SQLBind(row.1), SQLBind(row.0), SQLBind(""),
                                               SQLBind(depth), SQLBind(row.2), SQLBind(row.3), SQLBind(now), SQLBind(now))
                    }
                    try await insert.run()
                }
            }
            let done = end
            let percent = done * 100 / max(rows.count, 1)
            if percent / 10 != lastShown / 10 || done == rows.count {
                lastShown = percent
                progress("\(label): \(done) / \(rows.count) (\(percent)%)")
            }
        }
        try await db.sql.raw("""
            UPDATE organizations
            SET path = (SELECT p.path FROM organizations p WHERE p.id = organizations.parent_id) || organizations.id || '/'
            WHERE path = ''
            """).run()
    }

    /// A valid unified social credit code, distinct for each n.
    static func creditCode(_ n: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        var digits = ""
        var value = n
        for _ in 0..<8 { digits = String(alphabet[value % 31]) + digits; value /= 31 }
        let prefix = "91110105" + digits + "X"
        return prefix + String(CreditCode.checkCharacter(for: prefix)!)
    }
}

/// `gonghui seed --scale demo|city|beijing`.
struct SeedCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "scale", help: "demo (~400 unions, 3,000 members), city (10,000 unions, 200,000 members) or beijing (343 streets, 56,000 unions, 6.21 million members)") var scale: String?
        @Option(name: "members", help: "How many members instead of the scale's number") var members: Int?
        init() {}
    }

    var help: String { "Fills the database with a federation tree of the given size." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let scale = Seeder.Scale(rawValue: signature.scale ?? "demo") else {
            throw CreateAdminCommand.Failure(description: "--scale: one of demo, city, beijing")
        }
        let app = context.application
        try await app.autoMigrate()
        let console = context.console
        let seeded = try await Seeder(db: app.db, progress: { console.info($0) }).seed(scale)
        if !seeded { console.warning("The tree already has streets; nothing was added. Seed an empty database.") ; return }
        try await MemberSeeder(db: app.db, cipher: app.fieldCipher, cardPrefix: CardSerials.prefix(app), progress: { console.info($0) })
            .seed(count: signature.members ?? scale.members)
        _ = try await OutreachSeeder(db: app.db, progress: { console.info($0) }).seed(scale)
        _ = try await SiteSeeder(db: app.db, progress: { console.info($0) }).seed(scale)
        _ = try await AppealSeeder(db: app.db, progress: { console.info($0) })
            .seed(count: [.demo: 240, .city: 20_000, .beijing: 200_000][scale] ?? 240, days: scale == .demo ? 90 : 365)
        _ = try await AssistanceSeeder(db: app.db, cipher: app.fieldCipher, progress: { console.info($0) })
            .seed(count: [.demo: 60, .city: 1_000, .beijing: 8_000][scale] ?? 60)
        _ = try await ReliefSeeder(db: app.db, cipher: app.fieldCipher, progress: { console.info($0) }).seed(years: scale == .beijing ? 5 : 1)
        _ = try await MutualAidSeeder(db: app.db, cipher: app.fieldCipher, localizer: app.localizer, progress: { console.info($0) })
            .seed(members: [.demo: 400, .city: 20_000, .beijing: 200_000][scale] ?? 400)
        _ = try await RightsSeeder(db: app.db, progress: { console.info($0) })
            .seed(casesPerYear: [.demo: 60, .city: 2_000, .beijing: 25_000][scale] ?? 60, years: scale == .beijing ? 5 : 1)
        _ = try await DevelopmentSeeder(db: app.db, progress: { console.info($0) })
            .seed([.demo: .demo, .city: .city, .beijing: .beijing][scale] ?? .demo)
    }
}
