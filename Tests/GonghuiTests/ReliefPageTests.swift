import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The relief pages as a district's and a street's staff use them, in Chinese.
@Suite struct ReliefPageTests {
    typealias S = ReliefSupport

    @Test func aStreetFillsABatchAndTheDistrictApprovesItInTheConsole() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await S.dibao(app, f.chaoyang)
            let p = try await S.program(app, f, kind: .living, street: 0)
            let district = try await ConsoleSession.signIn(app, "chaoyang")
            let street = try await ConsoleSession.signIn(app, "jianwai")
            // The district gives its street ¥15,000 from the programme's page.
            let list = try await district.get("/console/relief?year=\(S.year)")
            #expect(list.status == .ok && list.body.string.contains(p.name) && list.body.string.contains("500,000.00"))
            let refused = try await district.post("/console/relief/programs/\(p.id!)/budgets", ["orgId": "\(f.jianwai.id!)", "amountYuan": "1.234"])
            #expect(refused.status == .unprocessableEntity && refused.body.string.contains("最多两位小数"))
            let given = try await district.post("/console/relief/programs/\(p.id!)/budgets", ["orgId": "\(f.jianwai.id!)", "amountYuan": "15000"])
            #expect(given.status == .seeOther)
            let page = try await district.get("/console/relief/programs/\(p.id!)")
            #expect(page.body.string.contains("建外街道总工会") && page.body.string.contains("15,000.00"))
            #expect(try await district.get("/console/relief/programs/\(p.id!)?format=csv").body.string.contains("15,000.00"))
            // The street opens a batch and adds lines; a refusal is shown with its rule.
            let opened = try await street.post("/console/relief/programs/\(p.id!)/batches", ["orgId": "\(f.jianwai.id!)"])
            let location = try #require(opened.headers.first(name: .location))
            let deep = try await S.household(app, org: f.jianwaiUnion, n: 1)
            let gone = try await S.household(app, org: f.jianwaiUnion, n: 2, state: .lifted)
            #expect(try await street.post(location + "/lines", ["householdId": "\(deep.id!)"]).status == .seeOther)
            let again = try await street.post(location + "/lines", ["householdId": deep.fileNumber])
            #expect(again.status == .conflict && again.body.string.contains("不能重复发放"), "\(again.status) \(again.body.string.prefix(3000))")
            let lifted = try await street.post(location + "/lines", ["householdId": "\(gone.id!)"])
            #expect(lifted.body.string.contains("不是在档困难职工家庭"))
            let batch = try await street.get(location)
            #expect(batch.body.string.contains(deep.subjectName) && batch.body.string.contains("12,450.00") && batch.body.string.contains("已预留"))
            #expect(try await street.post(location + "/actions", ["action": "submit"]).status == .seeOther)
            #expect(try await street.post(location + "/actions", ["action": "approve"]).status == .forbidden)
            #expect(try await district.post(location + "/actions", ["action": "approve"]).status == .seeOther)
            #expect(try await district.get(location).body.string.contains("公示中"))
            #expect(try await district.post(location + "/actions", ["action": "pay"]).body.string.contains("才结束"))
            let bank = try await street.get(location + "/export?format=csv")
            #expect(bank.status == .ok && bank.body.string.contains("12450.00"))
            #expect(try await street.get("/console/relief/batches").body.string.contains("公示中"))
            let other = try await ConsoleSession.signIn(app, "haidian")
            #expect(try await other.get(location).status == .notFound)
        }
    }

    @Test func addingEveryActiveHouseholdCountsTheRefusalsByRule() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await S.dibao(app, f.chaoyang)
            // Room for three lines of ¥12,450 at the street; four deep households, an accident one, one elsewhere.
            let p = try await S.program(app, f, kind: .living, street: 3 * 1_245_000)
            for n in 1...4 { try await S.household(app, org: f.jianwaiUnion, n: n) }
            try await S.household(app, org: f.jianwaiUnion, n: 5, category: .accident)
            try await S.household(app, org: f.zgcUnion, n: 6)
            let b = try await S.batch(app, p, org: f.jianwai)
            let street = try await ConsoleSession.signIn(app, "jianwai")
            let page = try await street.post("/console/relief/batches/\(b.id!)/lines/all", [:])
            #expect(page.status == .ok)
            #expect(page.body.string.contains("已加入 3 户"), "\(page.body.string.prefix(2000))")
            #expect(page.body.string.contains("未加入 1 户（overBudget）") && page.body.string.contains("未加入 1 户（categoryRule）"))
            #expect(try await ReliefBatch.find(b.id, on: app.db)?.lineCount == 3)
            #expect(try await S.budget(app, p, f.jianwai).availableFen == 0)
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
        }
    }
}
