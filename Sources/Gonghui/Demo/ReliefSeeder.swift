import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// Relief for the demo and `seed --scale beijing`: each year's 两节送温暖 (¥1,000 a household) and
/// 金秋助学 (the Beijing 2021 grade rules) with budgets from the city through the districts to the
/// streets that hold files, and their batches through every rule of the relief module. Past years
/// (and this year's 送温暖) are paid after a notice that has ended; this year's 金秋助学 stands in notice.
struct ReliefSeeder {
    let db: any Database
    let cipher: FieldCipher
    let progress: @Sendable (String) -> Void

    /// Returns false when programmes exist already or there are no active files.
    func seed(years: Int) async throws -> Bool {
        if try await ReliefProgram.query(on: db).count() > 0 { return false }
        guard let city = try await Organization.query(on: db).filter(\.$kind == .city).first() else { return false }
        let households = try await HardshipHousehold.query(on: db).filter(\.$state == .active).all()
        guard !households.isEmpty else { return false }
        let orgs = Dictionary(uniqueKeysWithValues: try await Organization.query(on: db).filter(\.$kind ~~ [.district, .street]).all().map { ($0.id ?? 0, $0) })
        let paths = Dictionary(uniqueKeysWithValues: try await Organization.query(on: db).filter(\.$id ~~ Set(households.map(\.orgID))).all()
            .map { ($0.id ?? 0, $0.treePath.ids) })
        // Each file's street (or its district when filed above a street).
        var byStreet: [Int: [HardshipHousehold]] = [:]
        for h in households {
            let ids = paths[h.orgID] ?? []
            guard let street = ids.first(where: { orgs[$0]?.kind == .street }) ?? ids.first(where: { orgs[$0]?.kind == .district }) else { continue }
            byStreet[street, default: []].append(h)
        }
        let thisYear = ShanghaiClock.today().year
        for year in (thisYear - years + 1)...thisYear {
            for kind in [ReliefKind.festivalVisit, .autumnSchooling] {
                let name = (kind == .festivalVisit ? "两节送温暖" : "金秋助学") + " \(year)"
                let program = try await ReliefProgramController.make(
                    .init(kind: kind.rawValue, year: year, name: name, amountYuan: kind == .festivalVisit ? 1_000 : nil), orgID: try city.requireID(), on: db)
                guard let fund = try await Fund.find(program.fundID, on: db) else { continue }
                // Budgets: what each street needs and a tenth more, passed down through its district.
                let perLine: Int64 = kind == .festivalVisit ? 100_000 : 1_245_000
                var needs: [Int: Int64] = [:]
                for (street, list) in byStreet { needs[street] = Int64(list.count) * perLine * 11 / 10 }
                let total = needs.values.reduce(0, +)
                _ = try await FundsLedger.allocate(fund, to: city, from: nil, fen: total, .init(reason: "年度预算"), on: db)
                var byDistrict: [Int: Int64] = [:]
                for (street, fen) in needs {
                    if let parent = orgs[street]?.parentID, orgs[parent]?.kind == .district { byDistrict[parent, default: 0] += fen }
                    else { byDistrict[street, default: 0] += fen }
                }
                for (district, fen) in byDistrict { if let d = orgs[district] { _ = try await FundsLedger.allocate(fund, to: d, from: city, fen: fen, .init(), on: db) } }
                for (street, fen) in needs {
                    guard let s = orgs[street], s.kind == .street, let parent = s.parentID, let d = orgs[parent] else { continue }
                    _ = try await FundsLedger.allocate(fund, to: s, from: d, fen: fen, .init(), on: db)
                }
                // One batch per street; every active file offered, the rules decide.
                let inNotice = kind == .autumnSchooling && year == thisYear
                for (street, list) in byStreet.sorted(by: { $0.key < $1.key }) {
                    let batch = ReliefBatch()
                    batch.programID = try program.requireID()
                    batch.orgID = street
                    batch.state = .draft
                    batch.lineCount = 0
                    batch.totalFen = 0
                    try await batch.create(on: db)
                    let outcomes = try await ReliefLines.add(list.map { .init(householdID: $0.id) }, to: batch, program: program, staffID: nil,
                                                             cipher: cipher, on: db)
                    guard outcomes.contains(where: { $0.lineID != nil }), let fresh = try await ReliefBatch.find(batch.id, on: db) else {
                        try await batch.delete(on: db)
                        continue
                    }
                    try await close(fresh, program: program, org: orgs[street]!, inNotice: inNotice, year: year)
                }
                progress("relief: \(name), \(byStreet.count) streets")
            }
        }
        return true
    }

    /// Approved with its recipients' notice; paid when the notice has ended (a past year's, or
    /// this year's 送温暖 noticed ten days ago), else left standing in notice.
    private func close(_ batch: ReliefBatch, program: ReliefProgram, org: Organization, inNotice: Bool, year: Int) async throws {
        let lines = try await ReliefLine.query(on: db).filter(\.$batchID == batch.requireID()).filter(\.$state == .reserved).sort(\.$id).all()
        let units = try await ReliefBatches.unitNames(lines, on: db)
        let today = ShanghaiClock.today()
        let opened = inNotice ? today : min(today.adding(days: -10), try CalendarDate(year: year, month: 12, day: 20))
        try await db.transaction { tx in
            let notice = try await PublicNotices.open(
                kind: "reliefBatch", refID: try batch.requireID(), org: org, title: "\(program.name)发放名单公示", days: 5, rule: .working,
                lines: lines.map { .init(refID: $0.id ?? 0, name: $0.recipientName, unitName: units[$0.householdID ?? 0] ?? org.name,
                                         summary: "¥" + Money.display($0.amountFen)) },
                today: opened, on: tx)
            batch.noticeID = try notice.requireID()
            batch.state = .inNotice
            if !inNotice {
                try await ReliefBatches.pay(batch, program: program, input: ReliefActionInput(), staffID: nil, on: tx)
                batch.state = .paid
                batch.paidAt = Date()
            }
            try await batch.save(on: tx)
        }
    }
}
