import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet

/// 医疗互助 for the demo and `seed`: this year's (and last year's) plans, the units that remitted
/// their funds, a budget, and settlement claims in every outcome, imported through the real importer;
/// one day's payout settled. `settlementRows` also makes `Resources/Demo/settlements-sample.csv`.
struct MutualAidSeeder {
    let db: any Database
    let cipher: FieldCipher
    let localizer: Localizer
    let progress: @Sendable (String) -> Void

    /// Settlement rows for the generated members `members` (see `MemberSeeder.person`), in every
    /// outcome: some below the deductible, some large enough to reach the caps, outpatient visits,
    /// people who are not members, bad rows and a row repeated.
    static func settlementRows(prefix: String, members: Range<Int>, year: Int, lastDay: CalendarDate) -> [[String]] {
        var rows: [[String]] = []
        let first = (try? CalendarDate(year: year, month: 1, day: 1)) ?? lastDay
        let span = max(1, lastDay.dayNumber - first.dayNumber)
        for n in members {
            let id = n % 29 == 3 ? MemberSeeder.person(5_000_000 + n).id : MemberSeeder.person(n).id
            let day = first.adding(days: (n * 37) % span).description
            let number = "\(prefix)\(year)\(MemberSeeder.pad(n, 7))"
            func row(_ suffix: String, _ visit: String, _ selfPaid: Int, on date: String = day) -> [String] {
                let total = selfPaid * 3 + 1_000
                return [id, number + suffix, visit, date, "\(total).00", "\(total - selfPaid - 500).00", "\(selfPaid).00"]
            }
            switch n % 10 {
            case 0: rows.append(row("A", "住院", 800))
            case 1:
                rows.append(row("A", "住院", 240_000 + n % 1000))
                rows.append(row("B", "住院", 9_000, on: lastDay.description))
            case 2, 5: rows.append(row("A", "门诊", 1_900 + (n * 53) % 6_000))
            default: rows.append(row("A", "住院", 1_500 + (n * 97) % 40_000))
            }
        }
        if let sample = rows.first {
            rows.append(sample) // the same settlement twice
            var bad = sample
            bad[1] += "X"
            bad[2] = "急诊"
            rows.append(bad)
            bad[1] += "Y"
            bad[2] = "住院"
            bad[3] = "\(year)-02-30"
            rows.append(bad)
        }
        return rows
    }

    static func csv(_ rows: [[String]]) -> String {
        (["身份证号,结算单号,就诊类型,就诊日期,医疗总费用,统筹支付,个人自付"] + rows.map { $0.joined(separator: ",") }).joined(separator: "\n") + "\n"
    }

    /// Returns false when plans exist already.
    func seed(members: Int) async throws -> Bool {
        if try await AidPlan.query(on: db).count() > 0 { return false }
        guard let city = try await Organization.query(on: db).filter(\.$kind == .city).first() else { return false }
        let cityID = try city.requireID()
        let today = ShanghaiClock.today()
        for year in [today.year - 1, today.year] {
            func plan(_ kind: AidPlanKind, _ name: String, deductible: Decimal, ratio: Decimal, perClaim: Decimal?, yearly: Decimal, total: Decimal?,
                      admission: String = "automatic", price: Decimal? = nil, minShare: Decimal? = nil, waiting: Int = 0, review: Decimal? = nil) async throws -> AidPlan {
                try await AidPlanController.make(.init(kind: kind.rawValue, year: year, name: "\(year)年\(name)", coverFrom: "\(year)-01-01",
                                                       coverTo: "\(year)-12-31", admission: admission, deductibleYuan: deductible, ratio: ratio,
                                                       perClaimCapYuan: perClaim, yearlyCapYuan: yearly, totalCapYuan: total, waitingDays: waiting,
                                                       sharePriceYuan: price, maxShares: 1, minShare: minShare, reviewShare: review), orgID: cityID, on: db)
            }
            let inpatient = try await plan(.inpatient, "在职职工住院医疗互助", deductible: 1_300, ratio: 0.5, perClaim: nil, yearly: 100_000, total: 200_000,
                                           waiting: 30, review: 0.02)
            let outpatient = try await plan(.outpatient, "在职职工门诊医疗互助", deductible: 1_800, ratio: 0.5, perClaim: nil, yearly: 20_000, total: 200_000,
                                            review: 0.02)
            _ = try await plan(.womenSpecial, "女职工特殊疾病互助", deductible: 0, ratio: 1, perClaim: 15_000, yearly: 15_000, total: nil, admission: "enrolled",
                               price: 25, minShare: 0.8)
            _ = try await plan(.accident, "京卡意外伤害互助", deductible: 0, ratio: 1, perClaim: 20_000, yearly: 20_000, total: nil)
            // Nine units in ten remitted their funds.
            let unions = try await Organization.query(on: db).filter(\.$kind ~~ OrgKind.grassrootsKinds).all(\.$id)
            for chunk in unions.enumerated().filter({ $0.offset % 10 != 7 }).map(\.element).chunked(400) where !chunk.isEmpty {
                let values = chunk.map { id -> SQLQueryString in "(\(bind: id), \(bind: year), \(bind: true), \(bind: Date()))" }
                try await (db as! any SQLDatabase).raw("""
                    INSERT INTO org_funds_remitted (org_id, year, remitted, updated_at) VALUES \(values.joined(separator: ", ")) ON CONFLICT (org_id, year) DO NOTHING
                    """).run()
            }
            for p in [inpatient, outpatient] {
                guard let fund = try await Fund.find(p.fundID, on: db) else { continue }
                try await FundsLedger.allocate(fund, to: city, from: nil, fen: 2_000_000_000, .init(reason: "年度预算"), on: db)
            }
        }
        // A few members who joined in the last weeks: their visits fall in the waiting period.
        let recent = today.adding(days: -20).description
        try await (db as! any SQLDatabase).raw("UPDATE members SET joined_on = \(bind: recent) WHERE id IN (SELECT id FROM members ORDER BY id LIMIT 10 OFFSET 40)").run()
        // Settlements of this year, through the importer the console uses.
        let rows = Self.settlementRows(prefix: "DEMO", members: 0..<min(members, 400), year: today.year, lastDay: today.adding(days: -1))
        let path = PrivateFiles.path("demo-settlements")
        try Self.csv(rows).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let job = try await SettlementImports.makeJob(root: city, staffID: nil, fileName: "医保结算-演示.csv", totalBytes: 1, on: db)
        let reader = try Spreadsheet.open(path: path, limits: ImportLimits.spreadsheet)
        let importer = SettlementImporter(db: db, cipher: cipher, localizer: localizer, lang: .zhHans, jobID: try job.requireID(), orgID: cityID)
        let outcome = try await importer.run(reader: reader) { _, _, _ in }
        job.state = "done"
        job.rowsRead = outcome.rowsRead
        job.imported = outcome.imported
        job.duplicates = outcome.duplicates
        job.failed = outcome.failed
        job.bytesRead = job.totalBytes
        job.finishedAt = Date()
        try await job.save(on: db)
        // Yesterday's payout of the inpatient plan, settled with one payment the bank returned.
        if let inpatient = try await AidPlan.query(on: db).filter(\.$year == today.year).filter(\.$kind == .inpatient).first(),
           let payout = try? await AidPayoutController.issue(inpatient, staffID: nil, on: db) {
            let first = try await AidClaim.query(on: db).filter(\.$payoutID == payout.id).sort(\.$id).first()
            _ = try await AidPayoutController.settle(payout, plan: inpatient, failed: Set([first?.id].compactMap { $0 }), staffID: nil, on: db)
        }
        progress("mutual aid: 8 plans, \(outcome.rowsRead) settlement rows adjudicated")
        return true
    }
}
