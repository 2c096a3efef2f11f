import Fluent
import FluentSQL
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// The funds ledger on both engines: budgets down the tree, no overspending under concurrency,
/// entries the database will not let anyone rewrite, balances a recount proves.
@Suite struct FundsLedgerTests {
    static func fund(_ app: Application, _ f: Fixture, ref: Int = 1) async throws -> Fund {
        try await FundsLedger.fund(kind: "test", refID: ref, year: 2026, name: "两节送温暖 2026", rootOrgID: f.city.id!, on: app.db)
    }

    @Test func budgetsGoDownTheTreeAndNoNodeGivesMoreThanItHolds() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let fund = try await Self.fund(app, f)
            let ctx = FundsLedger.Context(staffID: nil, reason: "年度预算")
            // Only the root gets money from outside the tree.
            await #expect(throws: AppError.self) { try await FundsLedger.allocate(fund, to: f.chaoyang, from: nil, fen: 100, ctx, on: app.db) }
            try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 1_000_000, ctx, on: app.db)
            try await FundsLedger.allocate(fund, to: f.chaoyang, from: f.city, fen: 600_000, ctx, on: app.db)
            try await FundsLedger.allocate(fund, to: f.jianwai, from: f.chaoyang, fen: 600_000, ctx, on: app.db)
            // 朝阳 has given all it got; 海淀 is not below 朝阳.
            do {
                try await FundsLedger.allocate(fund, to: f.jianwai, from: f.chaoyang, fen: 1, ctx, on: app.db)
                Issue.record("overspent")
            } catch let error as AppError {
                #expect(error.status == .conflict)
                #expect(error.fields.map(\.code) == ["overBudget"])
            }
            await #expect(throws: AppError.self) { try await FundsLedger.allocate(fund, to: f.haidian, from: f.chaoyang, fen: 1, ctx, on: app.db) }
            let city = try #require(try await FundsLedger.budget(fund.id!, org: f.city.id!, on: app.db))
            #expect(city.availableFen == 400_000)
            #expect(try await FundsLedger.budget(fund.id!, org: f.chaoyang.id!, on: app.db)?.availableFen == 0)
            // Reserve, pay, reverse: the money comes back once, and the payment stays on record.
            try await FundsLedger.reserve(fund, org: f.jianwai, fen: 124_500, .init(householdID: 7, ref: "line:1"), on: app.db)
            let paid = try await FundsLedger.pay(fund, orgID: f.jianwai.id!, fen: 124_500, .init(householdID: 7, ref: "line:1"), on: app.db)
            await #expect(throws: AppError.self) { try await FundsLedger.pay(fund, orgID: f.jianwai.id!, fen: 124_500, .init(), on: app.db) }
            try await FundsLedger.reverse(paid, reason: "重复发放", staffID: nil, on: app.db)
            await #expect(throws: AppError.self) { try await FundsLedger.reverse(paid, reason: "再来一次", staffID: nil, on: app.db) }
            let street = try #require(try await FundsLedger.budget(fund.id!, org: f.jianwai.id!, on: app.db))
            #expect(street.availableFen == 600_000 && street.paidFen == 0 && street.reservedFen == 0)
            #expect(try await FundEntry.query(on: app.db).count() == 6) // three allocations, reserve, pay, reverse
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
        }
    }

    @Test func thirtyTwoClientsReservingAtOnceNeverOverspend() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let fund = try await Self.fund(app, f)
            try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 1_000_000, .init(), on: app.db)
            try await FundsLedger.allocate(fund, to: f.chaoyang, from: f.city, fen: 500_000, .init(), on: app.db)
            // Room for exactly 11 lines of ¥450 (¥5,000 / ¥450 = 11.1), and 32 clients at once.
            try await FundsLedger.allocate(fund, to: f.jianwai, from: f.chaoyang, fen: 500_000, .init(), on: app.db)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<32 {
                    group.addTask {
                        // A client told "busy, try again" (the pool's wait on a loaded machine) tries again.
                        for _ in 0..<30 {
                            do {
                                try await FundsLedger.reserve(fund, org: f.jianwai, fen: 45_000, .init(householdID: n, ref: "line:\(n)"), on: app.db)
                                return true
                            } catch let error as AppError where error.status == .conflict {
                                return false
                            } catch where DatabaseOutage.isOutage(error) {
                                continue
                            }
                        }
                        return false
                    }
                }
                var results: [Bool] = []
                for try await ok in group { results.append(ok) }
                return results
            }
            let street = try #require(try await FundsLedger.budget(fund.id!, org: f.jianwai.id!, on: app.db))
            #expect(outcomes.filter { $0 }.count == 11)
            #expect(street.reservedFen == 11 * 45_000)
            #expect(street.availableFen == 5_000 && street.availableFen >= 0)
            #expect(try await FundEntry.query(on: app.db).filter(\.$kind == .reserve).count() == 11)
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
        }
    }

    @Test func theDatabaseRefusesToChangeOrDeleteAnEntry() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let fund = try await Self.fund(app, f)
            let entry = try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 100, .init(), on: app.db)
            let sql = app.db as! any SQLDatabase
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE fund_entries SET amount_fen = 1000000 WHERE id = \(bind: entry.id!)").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM fund_entries").run() }
            if app.db.isPostgres {
                await #expect(throws: (any Error).self) { try await sql.raw("TRUNCATE fund_entries CASCADE").run() }
            }
            await #expect(throws: (any Error).self) { try await entry.delete(on: app.db) }
            #expect(try await FundEntry.find(entry.id, on: app.db)?.amountFen == 100)
            // A budget changed behind the ledger's back is found by the recount.
            try await sql.raw("UPDATE fund_budgets SET allocated_fen = 999").run()
            let found = try await FundsAudit.verify(on: app.db)
            #expect(found.map(\.column) == ["allocated_fen"])
        }
    }

    @Test func theLedgerIsReadInTheCallersSubtreeOnly() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let fund = try await Self.fund(app, f)
            try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 1_000_00, .init(), on: app.db)
            try await FundsLedger.allocate(fund, to: f.chaoyang, from: f.city, fen: 60_000, .init(), on: app.db)
            try await FundsLedger.allocate(fund, to: f.haidian, from: f.city, fen: 40_000, .init(), on: app.db)
            let chaoyang = try await app.token("chaoyang")
            let mine = try await app.send(.GET, "/api/v1/funds-ledger?fundId=\(fund.id!)", chaoyang)
            #expect(mine.status == .ok)
            #expect(mine.items.compactMap { $0["orgId"] as? Int } == [f.chaoyang.id!])
            #expect(mine.items.first?["amountYuan"] as? Double == 600)
            #expect(try await app.send(.GET, "/api/v1/funds-ledger?orgId=\(f.haidian.id!)", chaoyang).status == .notFound)
            let budgets = try await app.send(.GET, "/api/v1/funds/\(fund.id!)/budgets", try await app.token("admin"))
            let rows = try #require(budgets.body.string.data(using: .utf8).flatMap { try JSONSerialization.jsonObject(with: $0) as? [[String: Any]] })
            #expect(rows.map { $0["orgId"] as? Int } == [f.city.id!, f.chaoyang.id!, f.haidian.id!])
            #expect(rows.first?["availableYuan"] as? Double == 0)
            #expect(try await app.send(.GET, "/api/v1/funds-ledger", try await app.token("hotline")).status == .forbidden)
            #expect(try await app.send(.GET, "/api/v1/funds-ledger?fundId=x", chaoyang).problemFields == ["fundId"])
        }
    }
}
