import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Routing by a union's own credit code, and statistics that show the backlog.
@Suite struct AppealRoutingStatsTests {
    @Test func anAppealNamingAUnionsOwnCreditCodeGoesToThatUnion() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            // The union's own code (工会法人), its firm not in the ledger.
            let first17 = "81110105MA0123456"
            let unionCode = first17 + String(try #require(CreditCode.checkCharacter(for: first17)))
            f.jianwaiUnion.creditCode = unionCode
            try await f.jianwaiUnion.save(on: app.db)
            let routed = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(creditCode: unionCode))
            #expect(routed.status == .created, "\(routed.body.string)")
            #expect(routed.json["orgId"] as? Int == f.jianwaiUnion.id!)
        }
    }

    @Test func theOnTimeRateCountsTheBacklogAndLateResolutions() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            var ids: [Int] = []
            for n in 0..<4 {
                let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "1390000000\(n)", orgId: f.jianwai.id!, description: "第 \(n) 件"))
                ids.append(try #require(created.json["id"] as? Int))
            }
            // One resolved on time, one resolved late, two still open past the deadline.
            let past = Date().addingTimeInterval(-86_400)
            try await app.db.sql.raw("UPDATE appeals SET due_at = \(bind: past)").run()
            try await app.db.sql.raw("UPDATE appeals SET state = 'resolved', resolved_at = \(bind: Date()), on_time = \(bind: true) WHERE id = \(bind: ids[0])").run()
            try await app.db.sql.raw("UPDATE appeals SET state = 'resolved', resolved_at = \(bind: Date()), on_time = \(bind: false) WHERE id = \(bind: ids[1])").run()
            try await AppealTallies.rebuild(on: app.db)
            for (who, query) in [("jianwai", "by=subject"), ("admin", "by=subject"), ("admin", "by=unit"), ("chaoyang", "by=month")] {
                let stats = try await app.send(.GET, "/api/v1/appeal-stats?\(query)", try await app.token(who))
                #expect(stats.status == .ok, "\(stats.body.string)")
                let total = try #require(stats.json["total"] as? [String: Any])
                #expect(total["overdueOpen"] as? Int == 2, "\(who) \(query)")
                #expect(total["onTimeRate"] as? Double == 25, "\(who) \(query): 1 on time of 4 due")
                let rows = try #require(stats.json["rows"] as? [[String: Any]])
                #expect(rows.reduce(0) { $0 + ($1["overdueOpen"] as? Int ?? 0) } == 2, "\(who) \(query)")
            }
            let session = try await ConsoleSession.signIn(app, "jianwai")
            let page = try await session.get("/console/appeal-stats")
            #expect(page.body.string.contains("超期未办结"))
            #expect(page.body.string.contains("逾期办结的计为不按时"))
        }
    }
}
