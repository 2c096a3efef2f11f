import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The national system's lists and the ten-year retention with its purge, on both engines.
@Suite struct ArchiveListTests {
    @Test func unchangedForAYearAndNeverAidedAreScopedPagedAndExported() async throws {
        try await withApp { app in
            // setup
            let f = try await Fixture.make(app)
            let old = try await ArchiveFiles.file(app, under: f.jianwaiUnion, changedOn: ArchiveFiles.day(-400), name: "李旧档")
            let paid = try await ArchiveFiles.file(app, under: f.jianwaiUnion, name: "张已助")
            let reversed = try await ArchiveFiles.file(app, under: f.jianwai, name: "赵冲正")
            try await ArchiveFiles.file(app, under: f.jianwai, state: .lifted, changedOn: ArchiveFiles.day(-800), closedOn: ArchiveFiles.day(-5))
            try await ArchiveFiles.file(app, under: f.zgcUnion, changedOn: ArchiveFiles.day(-700), name: "海淀户")
            let fund = try await FundsLedger.fund(kind: "relief", refID: 1, year: 2026, name: "两节送温暖 2026", rootOrgID: f.city.id!, on: app.db)
            try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 1_000_000, .init(), on: app.db)
            try await FundsLedger.allocate(fund, to: f.chaoyang, from: f.city, fen: 1_000_000, .init(), on: app.db)
            for h in [paid, reversed] {
                try await FundsLedger.reserve(fund, org: f.chaoyang, fen: 100_000, .init(householdID: h.id), on: app.db)
                let entry = try await FundsLedger.pay(fund, orgID: f.chaoyang.id!, fen: 100_000, .init(householdID: h.id), on: app.db)
                if h === reversed { try await FundsLedger.reverse(entry, reason: "发错了", staffID: nil, on: app.db) }
            }
            let chaoyang = try await app.token("chaoyang")
            // act
            let unchanged = try await app.send(.GET, "/api/v1/hardship-lists/unchanged", chaoyang)
            let never = try await app.send(.GET, "/api/v1/hardship-lists/never-aided?per=1", chaoyang)
            // verify
            #expect(unchanged.status == .ok, "\(unchanged.body.string)")
            #expect((unchanged.json["items"] as? [[String: Any]])?.map { $0["id"] as? Int } == [old.id])
            #expect(never.json["total"] as? Int == 2, "\(never.body.string)") // the old file and the reversed one
            #expect((never.json["items"] as? [[String: Any]])?.count == 1)
            let both = try await app.send(.GET, "/api/v1/hardship-lists/never-aided", chaoyang)
            #expect(Set((both.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }) == [old.id!, reversed.id!])
            // Scope: 海淀 sees its own file only, and not 朝阳's node.
            let haidian = try await app.token("haidian")
            let theirs = try await app.send(.GET, "/api/v1/hardship-lists/unchanged", haidian)
            #expect((theirs.json["items"] as? [[String: Any]])?.map { $0["subjectName"] as? String } == ["海淀户"])
            #expect(try await app.send(.GET, "/api/v1/hardship-lists/unchanged?orgId=\(f.chaoyang.id!)", haidian).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/hardship-lists/other", chaoyang).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/hardship-lists/unchanged?format=pdf", chaoyang).problemFields == ["format"])
            #expect(try await app.send(.GET, "/api/v1/hardship-lists/unchanged?orgId=x&per=0", chaoyang).problemFields.sorted() == ["orgId", "per"])
            // Exports, audited.
            let csv = try await app.send(.GET, "/api/v1/hardship-lists/never-aided?format=csv", chaoyang)
            #expect(csv.status == .ok && csv.body.string.contains("李旧档") && csv.body.string.contains("赵冲正") && !csv.body.string.contains("张已助"))
            let xlsx = try await app.send(.GET, "/api/v1/hardship-lists/unchanged?format=xlsx", chaoyang)
            #expect(xlsx.status == .ok && xlsx.headers.contentType?.subType == "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            #expect(try await app.auditCount("archive.list.export") == 2)
        }
    }

    @Test func thePurgeRemovesOnlyFilesClosedMoreThanTenYearsAgoAndDeleteRefusesTheRest() async throws {
        try await withApp { app in
            // setup
            let f = try await Fixture.make(app)
            let ancient = try await ArchiveFiles.file(app, under: f.jianwaiUnion, state: .lifted, closedOn: ArchiveFiles.day(-3700))
            let ancient2 = try await ArchiveFiles.file(app, under: f.jianwai, state: .cancelled, closedOn: ArchiveFiles.day(-3800))
            let recent = try await ArchiveFiles.file(app, under: f.jianwaiUnion, state: .cancelled, closedOn: ArchiveFiles.day(-3600))
            let active = try await ArchiveFiles.file(app, under: f.jianwaiUnion)
            let chaoyang = try await app.token("chaoyang")
            // Delete: refused for a file kept by the rule, and for an open one, naming the rule.
            let kept = try await app.send(.DELETE, "/api/v1/hardship-households/\(recent.id!)", chaoyang)
            #expect(kept.status == .conflict && kept.body.string.contains("10 年"), "\(kept.body.string)")
            #expect(((kept.json["errors"] as? [[String: Any]])?.first?["code"] as? String) == "keptTenYears")
            #expect(try await app.send(.DELETE, "/api/v1/hardship-households/\(active.id!)", chaoyang).status == .conflict)
            #expect(try await app.send(.DELETE, "/api/v1/hardship-households/\(ancient2.id!)", try await app.token("haidian")).status == .notFound)
            #expect(try await app.send(.DELETE, "/api/v1/hardship-households/\(ancient2.id!)", try await app.token("jianwai")).status == .forbidden)
            // The database refuses it too, whatever the route.
            await #expect(throws: (any Error).self) {
                try await app.db.sql.raw("DELETE FROM hardship_households WHERE id = \(bind: recent.id!)").run()
            }
            let gone = try await app.send(.DELETE, "/api/v1/hardship-households/\(ancient2.id!)", chaoyang)
            #expect(gone.status == .noContent, "\(gone.body.string)")
            // act: the purge
            let dry = try await app.runCommand("assistance", ["purge", "--dry-run"])
            #expect(dry.contains("1 files"), "\(dry)")
            let printed = try await app.runCommand("assistance", ["purge"])
            // verify
            #expect(printed.contains("removed 1 files"), "\(printed)")
            #expect(try await HardshipHousehold.find(ancient.id, on: app.db) == nil)
            #expect(try await HardshipPerson.query(on: app.db).filter(\.$householdID ~~ [ancient.id!, ancient2.id!]).count() == 0)
            #expect(try await HouseholdEvent.query(on: app.db).filter(\.$householdID ~~ [ancient.id!, ancient2.id!]).count() == 0)
            #expect(try await HardshipHousehold.query(on: app.db).count() == 2)
            #expect(try await app.auditCount("archive.purge") == 2)
            #expect(try await app.runCommand("assistance", ["purge"]).contains("removed 0 files"))
        }
    }
}
