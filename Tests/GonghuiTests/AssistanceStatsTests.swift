import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The archive's statistics: scoped to the viewer's subtree, from the files, their timeline and the ledger.
@Suite struct AssistanceStatsTests {
    /// The relief programmes' table comes with the relief module; where it is not there yet, the
    /// columns the statistics read.
    /// A relief programme row as the relief module keeps it (its fund made first, as the module does).
    static func programme(_ app: Application, id: Int, kind: String, name: String) async throws {
        let city = try await Organization.query(on: app.db).filter(\.$kind == .city).first()!
        let fund = try await FundsLedger.fund(kind: "relief", refID: id, year: 2026, name: name, rootOrgID: city.id!, on: app.db)
        try await app.db.sql.raw("""
            INSERT INTO relief_programs (id, kind, year, name, org_id, fund_id, relative_one_kind)
            VALUES (\(bind: id), \(bind: kind), 2026, \(bind: name), \(bind: city.id!), \(bind: fund.id!), \(bind: true))
            """).run()
    }

    static func pay(_ app: Application, _ fund: Fund, _ f: Fixture, _ h: HardshipHousehold, fen: Int64) async throws -> FundEntry {
        try await FundsLedger.reserve(fund, org: f.jianwai, fen: fen, .init(householdID: h.id), on: app.db)
        return try await FundsLedger.pay(fund, orgID: f.jianwai.id!, fen: fen, .init(householdID: h.id), on: app.db)
    }

    @Test func theStatisticsCountFilesFlowsAndAidInTheViewersSubtreeOnly() async throws {
        try await withApp { app in
            // setup: 朝阳 three active files (two deep, one relative), one lifted this year; 海淀 one
            let f = try await Fixture.make(app)
            let a = try await ArchiveFiles.file(app, under: f.jianwaiUnion, causes: "illness,disability")
            let b = try await ArchiveFiles.file(app, under: f.jianwai, causes: "illness")
            let c = try await ArchiveFiles.file(app, under: f.jianwai, category: .relative, causes: "schooling")
            let d = try await ArchiveFiles.file(app, under: f.jianwai, state: .lifted, closedOn: ArchiveFiles.day(0))
            try await ArchiveFiles.file(app, under: f.zgcUnion)
            for h in [a, b, c, d] { try await ArchiveFiles.event(app, h, "approve", at: Date()) }
            try await ArchiveFiles.event(app, d, "lift", at: Date())
            try await ArchiveFiles.event(app, b, "reopen", at: Date())
            try await ArchiveFiles.event(app, c, "approve", at: Date().addingTimeInterval(-86_400 * 800)) // outside the period
            try await Self.programme(app, id: 901, kind: "festivalVisit", name: "两节送温暖 2026")
            try await Self.programme(app, id: 902, kind: "autumnSchooling", name: "金秋助学 2026")
            let festival = try await FundsLedger.fund(kind: "relief", refID: 901, year: 2026, name: "两节送温暖 2026", rootOrgID: f.city.id!, on: app.db)
            let schooling = try await FundsLedger.fund(kind: "relief", refID: 902, year: 2026, name: "金秋助学 2026", rootOrgID: f.city.id!, on: app.db)
            for fund in [festival, schooling] {
                try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 10_000_000, .init(), on: app.db)
                try await FundsLedger.allocate(fund, to: f.chaoyang, from: f.city, fen: 5_000_000, .init(), on: app.db)
                try await FundsLedger.allocate(fund, to: f.jianwai, from: f.chaoyang, fen: 5_000_000, .init(), on: app.db)
            }
            _ = try await Self.pay(app, festival, f, a, fen: 100_000)
            _ = try await Self.pay(app, festival, f, b, fen: 100_000)
            let wrong = try await Self.pay(app, festival, f, c, fen: 100_000)
            try await FundsLedger.reverse(wrong, reason: "不符合条件", staffID: nil, on: app.db)
            _ = try await Self.pay(app, schooling, f, a, fen: 400_000)
            _ = try await Self.pay(app, schooling, f, a, fen: 1_245_000)
            let chaoyang = try await app.token("chaoyang")
            // act
            let stats = try await app.send(.GET, "/api/v1/assistance-stats", chaoyang)
            // verify
            #expect(stats.status == .ok, "\(stats.body.string)")
            #expect(stats.json["active"] as? Int == 3)
            let categories = try #require(stats.json["byCategory"] as? [[String: Any]])
            #expect(categories.map { $0["households"] as? Int } == [2, 1, 0])
            let causes = try #require(stats.json["byCause"] as? [[String: Any]])
            #expect(causes.first?["key"] as? String == "illness" && causes.first?["households"] as? Int == 2)
            let units = try #require(stats.json["byUnit"] as? [[String: Any]])
            #expect(units.map { $0["label"] as? String } == ["建外街道总工会"] && units.first?["households"] as? Int == 3)
            let total = try #require(stats.json["flowTotal"] as? [String: Any])
            #expect(total["approved"] as? Int == 4 && total["lifted"] as? Int == 1 && total["reopened"] as? Int == 1 && total["cancelled"] as? Int == 0)
            let aid = try #require(stats.json["aid"] as? [[String: Any]])
            let festivalRow = try #require(aid.first { $0["programId"] as? Int == 901 })
            #expect(festivalRow["households"] as? Int == 2 && festivalRow["amountYuan"] as? Double == 2000 && festivalRow["kind"] as? String == "festivalVisit")
            #expect((stats.json["festivalVisit"] as? [String: Any])?["households"] as? Int == 2)
            let school = try #require(stats.json["autumnSchooling"] as? [String: Any])
            #expect(school["people"] as? Int == 2 && school["amountYuan"] as? Double == 16450)
            // Another district sees none of it, and cannot ask for it.
            let haidian = try await app.token("haidian")
            let theirs = try await app.send(.GET, "/api/v1/assistance-stats", haidian)
            #expect(theirs.json["active"] as? Int == 1 && (theirs.json["aid"] as? [Any])?.isEmpty == true)
            #expect((theirs.json["festivalVisit"] as? [String: Any])?["households"] as? Int == 0)
            #expect(try await app.send(.GET, "/api/v1/assistance-stats?orgId=\(f.chaoyang.id!)", haidian).status == .notFound)
            // The city: districts in the official order.
            let city = try await app.send(.GET, "/api/v1/assistance-stats", try await app.token("admin"))
            let districts = (city.json["byUnit"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            #expect(districts.count == 2 && districts.first?.contains("朝阳") == true && districts.last?.contains("海淀") == true, "\(districts)")
            #expect(city.json["active"] as? Int == 4)
            // An earlier period holds the old approval only, and no aid.
            let back = ShanghaiClock.today().adding(days: -790).description
            let earlier = try await app.send(.GET, "/api/v1/assistance-stats?from=\(ShanghaiClock.today().adding(days: -810))&to=\(back)", chaoyang)
            #expect((earlier.json["flowTotal"] as? [String: Any])?["approved"] as? Int == 1 && (earlier.json["aid"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func badInputNamesItsFieldAndThePageAndExportsRender() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await ArchiveFiles.file(app, under: f.jianwaiUnion)
            let chaoyang = try await app.token("chaoyang")
            #expect(try await app.send(.GET, "/api/v1/assistance-stats?from=x", chaoyang).problemFields == ["from"])
            #expect(try await app.send(.GET, "/api/v1/assistance-stats?from=2026-05-01&to=2026-04-01", chaoyang).problemFields == ["to"])
            #expect(try await app.send(.GET, "/api/v1/assistance-stats?format=pdf&orgId=0", chaoyang).problemFields.sorted() == ["format", "orgId"])
            #expect(try await app.send(.GET, "/api/v1/assistance-stats?from=1900-01-01&to=2026-01-01", chaoyang).problemFields == ["from"])
            #expect(try await app.send(.GET, "/api/v1/assistance-stats", try await app.token("hotline")).status == .forbidden)
            let xlsx = try await app.send(.GET, "/api/v1/assistance-stats?format=xlsx", chaoyang)
            #expect(xlsx.status == .ok && xlsx.headers.contentType?.subType == "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            let csv = try await app.send(.GET, "/api/v1/assistance-stats?format=csv", chaoyang)
            #expect(csv.body.string.contains("深度困难") && csv.body.string.contains("建外街道总工会"))
            #expect(try await app.auditCount("archive.stats.export") == 2)
            let session = try await ConsoleSession.signIn(app, "chaoyang")
            let page = try await session.get("/console/assistance-stats")
            #expect(page.status == .ok, "\(page.body.string.prefix(400))")
            #expect(page.body.string.contains("帮扶统计") && page.body.string.contains("<svg") && page.body.string.contains("建外街道总工会"))
            #expect(try await session.get("/console/assistance-stats?format=csv").body.string.contains("深度困难"))
        }
    }
}
