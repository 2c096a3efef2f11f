import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Households written straight into the archive (state active unless told), for the relief tests:
/// the household workflow is tested by its own suite.
enum ReliefSupport {
    static let year = 2026
    static let dibaoFen: Int64 = 124_500

    static func idNumber(_ n: Int, female: Bool = false) -> String {
        let seq = String(format: "%03d", (n % 400) * 2 + (female ? 2 : 1))
        let body = "110105" + String(format: "1980%02d%02d", 1 + n % 12, 1 + n % 28) + seq
        return body + String(ResidentID.checkCharacter(for: body)!)
    }

    @discardableResult
    static func household(_ app: Application, org: Organization, n: Int, category: HouseholdCategory = .deep, state: HouseholdState = .active,
                          singleParent: Bool = false, sex: String = "M", children: [String] = []) async throws -> HardshipHousehold {
        let h = HardshipHousehold()
        h.orgID = org.id!
        h.fileNumber = "T\(year)-\(n)-\(UUID().uuidString.prefix(6))"
        h.subjectName = "王" + ["建国", "秀英", "志强", "丽华"][n % 4]
        h.subjectSex = sex
        h.state = state
        h.category = category
        h.migrantWorker = false
        h.singleParent = singleParent
        h.causes = "illness"
        h.householdSize = 3
        h.annualIncomeFen = 2_000_000
        h.medicalFen = 0
        h.disabilityFen = 0
        h.schoolingFen = 0
        h.housingFen = 0
        h.otherExpenseFen = 0
        h.recoverAid = false
        h.changedOn = "\(year)-01-10"
        try await h.create(on: app.db)
        for (k, grade) in children.enumerated() {
            let p = HardshipPerson()
            p.householdID = h.id!
            p.name = "王小\(k)"
            p.relation = "child"
            p.idCipher = Data([UInt8(k)])
            p.idIndex = "child-\(h.id!)-\(k)"
            p.birthDate = "2008-01-01"
            p.schoolGrade = grade
            p.monthlyIncomeFen = 0
            p.active = true
            try await p.create(on: app.db)
        }
        return h
    }

    static func dibao(_ app: Application, _ org: Organization, fen: Int64 = dibaoFen) async throws {
        let d = DibaoStandard()
        d.orgID = org.id!
        d.year = year
        d.monthlyFen = fen
        try await d.create(on: app.db)
    }

    /// A programme with ¥`city` at the city, `district` given to 朝阳 and `street` on to 建外.
    static func program(_ app: Application, _ f: Fixture, kind: ReliefKind, amountYuan: Decimal? = nil, householdCap: Decimal? = nil,
                        city: Int64 = 100_000_000, district: Int64 = 50_000_000, street: Int64 = 20_000_000) async throws -> ReliefProgram {
        let p = try await ReliefProgramController.make(.init(kind: kind.rawValue, year: year, name: "\(kind.rawValue) \(year)", amountYuan: amountYuan,
                                                              householdYearCapYuan: householdCap),
                                                        orgID: f.city.id!, on: app.db)
        let fund = try #require(try await Fund.find(p.fundID, on: app.db))
        if city > 0 { try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: city, .init(), on: app.db) }
        if district > 0 { try await FundsLedger.allocate(fund, to: f.chaoyang, from: f.city, fen: district, .init(), on: app.db) }
        if street > 0 { try await FundsLedger.allocate(fund, to: f.jianwai, from: f.chaoyang, fen: street, .init(), on: app.db) }
        return p
    }

    static func batch(_ app: Application, _ program: ReliefProgram, org: Organization) async throws -> ReliefBatch {
        let b = ReliefBatch()
        b.programID = program.id!
        b.orgID = org.id!
        b.state = .draft
        b.lineCount = 0
        b.totalFen = 0
        try await b.create(on: app.db)
        return b
    }

    static func budget(_ app: Application, _ program: ReliefProgram, _ org: Organization) async throws -> FundBudget {
        try #require(try await FundsLedger.budget(program.fundID, org: org.id!, on: app.db))
    }
}

extension TestingHTTPResponse {
    /// The codes of a problem response's `errors`.
    var problemCodes: [String] {
        ((json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
    }
}
