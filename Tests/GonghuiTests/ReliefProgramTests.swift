import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Programmes, their rules and their budgets down the tree, on both engines.
@Suite struct ReliefProgramTests {
    typealias S = ReliefSupport

    @Test func theRulesGiveTheBeijingAmounts() {
        let grades = GradeRule.beijing2021
        func schooling(_ grade: String, _ category: HouseholdCategory = .deep, single: Bool = false, sex: String = "M") -> ReliefRule.Outcome {
            ReliefRule.outcome(kind: .autumnSchooling, fixedFen: nil, k: (nil, nil, nil), grades: grades,
                               household: .init(category: category, singleParent: single, subjectSex: sex), grade: grade, dibaoFen: 124_500)
        }
        #expect(schooling("seniorHigh") == .amount(400_000))
        #expect(schooling("college", .relative) == .amount(1_245_000)) // 10 × ¥1,245 = ¥12,450
        #expect(schooling("compulsory") == .refused(code: "categoryRule", key: "relief.error.singleParentOnly"))
        #expect(schooling("preschool", single: true) == .amount(300_000))
        #expect(schooling("postgraduate", single: true) == .refused(code: "categoryRule", key: "relief.error.singleMotherOnly"))
        #expect(schooling("postgraduate", single: true, sex: "F") == .amount(1_245_000))
        #expect(schooling("seniorHigh", .accident) == .refused(code: "categoryRule", key: "relief.error.schoolingCategory"))
        func living(_ category: HouseholdCategory) -> ReliefRule.Outcome {
            ReliefRule.outcome(kind: .living, fixedFen: nil, k: ReliefRule.defaultMultiples(.living), grades: [],
                               household: .init(category: category, singleParent: false, subjectSex: "M"), grade: nil, dibaoFen: 124_500)
        }
        #expect(living(.deep) == .amount(1_245_000))
        #expect(living(.relative) == .amount(996_000))
        #expect(living(.accident) == .refused(code: "categoryRule", key: "relief.error.categoryNotCovered"))
        #expect(ReliefRule.outcome(kind: .festivalVisit, fixedFen: 100_000, k: (nil, nil, nil), grades: [],
                                   household: .init(category: .accident, singleParent: false, subjectSex: "F"), grade: nil, dibaoFen: nil) == .amount(100_000))
    }

    @Test func programmesAreOnePerKindAndYearAndTakeYuanWithTwoDecimals() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let made = try await app.send(.POST, "/api/v1/relief-programs", admin,
                                          json: #"{"kind":"festivalVisit","year":2026,"name":"2026年两节送温暖","amountYuan":1000.5,"householdYearCapYuan":20000}"#)
            #expect(made.status == .created, "\(made.body.string)")
            let id = try #require(made.json["id"] as? Int)
            let again = try await app.send(.POST, "/api/v1/relief-programs", admin, json: #"{"kind":"festivalVisit","year":2026,"name":"又一个"}"#)
            #expect(again.status == .conflict)
            #expect(again.problemCodes == ["exists"])
            let cents = try await app.send(.POST, "/api/v1/relief-programs", admin, json: #"{"kind":"living","year":2026,"name":"x","amountYuan":12.345}"#)
            #expect(cents.status == .unprocessableEntity)
            #expect(cents.problemFields == ["amountYuan"])
            let bad = try await app.send(.POST, "/api/v1/relief-programs", admin, json: #"{"kind":"party","year":"x"}"#)
            #expect(bad.status == .unprocessableEntity)
            #expect(try await app.send(.POST, "/api/v1/relief-programs", try await app.token("chaoyang"),
                                       json: #"{"kind":"living","year":2026,"name":"x"}"#).status == .forbidden)
            let shown = try await app.send(.GET, "/api/v1/relief-programs/\(id)", admin)
            #expect(shown.json["amountYuan"] as? Double == 1000.5)
            #expect(shown.json["householdYearCapYuan"] as? Double == 20000)
            let program = try #require(try await ReliefProgram.find(id, on: app.db))
            #expect(program.fixedFen == 100_050)
            let fund = try #require(try await Fund.find(program.fundID, on: app.db))
            #expect(fund.kind == "relief" && fund.refID == id)
            _ = f
        }
    }

    @Test func budgetsGoDownTheTreeWithinWhatEachNodeHolds() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin"), chaoyang = try await app.token("chaoyang")
            let p = try await S.program(app, f, kind: .living, city: 0, district: 0, street: 0)
            let base = "/api/v1/relief-programs/\(p.id!)/budgets"
            #expect(try await app.send(.POST, base, admin, json: #"{"orgId":\#(f.city.id!),"amountYuan":100000}"#).status == .created)
            #expect(try await app.send(.POST, base, admin, json: #"{"orgId":\#(f.chaoyang.id!),"amountYuan":60000}"#).status == .created)
            #expect(try await app.send(.POST, base, admin, json: #"{"orgId":\#(f.haidian.id!),"amountYuan":40000}"#).status == .created)
            let over = try await app.send(.POST, base, admin, json: #"{"orgId":\#(f.haidian.id!),"amountYuan":0.01}"#)
            #expect(over.status == .conflict)
            #expect(over.problemCodes == ["overBudget"])
            // 朝阳 gives to its street; not to 海淀's, and not to itself.
            let street = try await app.send(.POST, base, chaoyang, json: #"{"orgId":\#(f.jianwai.id!),"amountYuan":25000.50}"#)
            #expect(street.status == .created)
            #expect(street.json["allocatedYuan"] as? Double == 25000.5)
            #expect(try await app.send(.POST, base, chaoyang, json: #"{"orgId":\#(f.zhongguancun.id!),"amountYuan":1}"#).status == .notFound)
            #expect(try await app.send(.POST, base, chaoyang, json: #"{"orgId":\#(f.chaoyang.id!),"amountYuan":1}"#).status == .notFound)
            let tooMuch = try await app.send(.POST, base, chaoyang, json: #"{"orgId":\#(f.jianwai.id!),"amountYuan":35000}"#)
            #expect(tooMuch.problemCodes == ["overBudget"])
            let rows = try JSONSerialization.jsonObject(with: Data(try await app.send(.GET, base, chaoyang).body.readableBytesView)) as? [[String: Any]]
            #expect(rows?.map { $0["orgId"] as? Int } == [f.chaoyang.id!, f.jianwai.id!])
            #expect(rows?.first?["availableYuan"] as? Double == 34999.5)
            #expect(rows?.last?["reservedYuan"] as? Double == 0)
            #expect(rows?.last?["paidYuan"] as? Double == 0)
            #expect(try await app.send(.GET, base + "?orgId=\(f.haidian.id!)", chaoyang).status == .notFound)
            let ledger = try await app.send(.GET, "/api/v1/funds-ledger?programId=\(p.id!)", chaoyang)
            #expect(ledger.json["total"] as? Int == 2)
            #expect(try await app.send(.GET, "/api/v1/funds-ledger?programId=999999", chaoyang).status == .notFound)
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
            #expect(try await app.auditCount("relief.budget.allocate") == 4)
        }
    }

    @Test func badInputIsAlways4xxNeverA500() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let p = try await S.program(app, f, kind: .festivalVisit, amountYuan: 100)
            let b = try await S.batch(app, p, org: f.jianwai)
            let bodies: [(String, String)] = [
                ("/api/v1/relief-programs", #"{"kind":"living","year":2026,"name":"x","amountYuan":"abc"}"#),
                ("/api/v1/relief-programs", #"{"kind":"living","year":99999999999999999999,"name":"x"}"#),
                ("/api/v1/relief-programs", #"{"kind":"living","year":2026,"name":"x","amountYuan":1e400}"#),
                ("/api/v1/relief-programs", #"{"kind":"living","year":2026,"name":"x","monthsDeep":10.25}"#),
                ("/api/v1/relief-programs", "not json"),
                ("/api/v1/relief-programs/\(p.id!)/budgets", #"{"orgId":-4,"amountYuan":-1}"#),
                ("/api/v1/relief-programs/\(p.id!)/budgets", #"{"orgId":\#(f.city.id!),"amountYuan":99999999999999.99}"#),
                ("/api/v1/relief-batches", #"{"programId":999999,"orgId":\#(f.jianwai.id!)}"#),
                ("/api/v1/relief-batches/\(b.id!)/lines", #"{"householdId":9223372036854775807}"#),
                ("/api/v1/relief-batches/\(b.id!)/lines", #"{"householdId":1,"amountYuan":0}"#),
                ("/api/v1/relief-batches/\(b.id!)/actions", #"{"action":"pay","payments":[{"failed":true}]}"#),
                ("/api/v1/relief-batches/\(b.id!)/actions", #"{}"#),
            ]
            for (path, body) in bodies {
                let r = try await app.send(.POST, path, admin, json: body)
                #expect((400..<500).contains(r.status.code), "\(path) \(body): \(r.status) \(r.body.string)")
            }
            #expect(try await app.send(.GET, "/api/v1/relief-batches/abc/lines?page=-1", admin).status.code < 500)
            #expect(try await app.send(.GET, "/api/v1/relief-programs?year=x", admin).status == .unprocessableEntity)
        }
    }
}
