import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Keeping the archive true: the yearly review (复核) and the spot check (抽查), on both engines.
@Suite struct ArchiveCheckTests {
    @Test func splitMixRepeatsTheKnownSequenceAndTheDrawRepeatsFromItsSeed() {
        // The reference output of SplitMix64 for seed 0.
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        let ids = Array(1...100).shuffled()
        let a = SpotDraw.draw(ids, share: 0.3, seed: 42)
        #expect(a == SpotDraw.draw(ids.reversed(), share: 0.3, seed: 42)) // the same list in any order
        #expect(a.count == 30 && Set(a).count == 30)
        #expect(a != SpotDraw.draw(ids, share: 0.3, seed: 43))
        #expect(SpotDraw.count(of: 10, share: 0.3) == 3)
        #expect(SpotDraw.count(of: 11, share: 0.3) == 4)
        #expect(SpotDraw.count(of: 1, share: 0.3) == 1)
        #expect(SpotDraw.count(of: 0, share: 0.3) == 0)
    }

    @Test func theYearlyReviewListsEveryActiveFileOfTheDistrictAndRecordsOutcomes() async throws {
        try await withApp { app in
            // setup: three active files under 朝阳, a draft there, an active file under 海淀
            let f = try await Fixture.make(app)
            let a = try await ArchiveFiles.file(app, under: f.jianwaiUnion)
            let b = try await ArchiveFiles.file(app, under: f.jianwaiUnion)
            try await ArchiveFiles.file(app, under: f.jianwai)
            try await ArchiveFiles.file(app, under: f.jianwai, state: .draft)
            try await ArchiveFiles.file(app, under: f.zgcUnion)
            let chaoyang = try await app.token("chaoyang")
            let body = #"{"orgId": \#(f.chaoyang.id!), "year": 2026, "dueOn": "\#(ArchiveFiles.day(-1))"}"#
            // act
            let made = try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang, json: body)
            // verify
            #expect(made.status == .created, "\(made.body.string)")
            #expect(made.json["lines"] as? Int == 3)
            #expect(made.json["overdue"] as? Int == 3)
            let id = try #require(made.json["id"] as? Int)
            #expect(try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang, json: body).status == .conflict)
            let shown = try await app.send(.GET, "/api/v1/hardship-reviews/\(id)", chaoyang)
            let lines = try #require((shown.json["lines"] as? [String: Any])?["items"] as? [[String: Any]])
            #expect(lines.count == 3 && lines.allSatisfy { $0["overdue"] as? Bool == true })
            let lineA = try #require(lines.first { $0["householdId"] as? Int == a.id! }?["id"] as? Int)
            let lineB = try #require(lines.first { $0["householdId"] as? Int == b.id! }?["id"] as? Int)
            let unchanged = try await app.send(.POST, "/api/v1/hardship-reviews/\(id)/lines/\(lineA)", chaoyang, json: #"{"outcome": "unchanged"}"#)
            #expect(unchanged.status == .ok, "\(unchanged.body.string)")
            #expect(unchanged.json["reviewerName"] as? String == "chaoyang")
            #expect(unchanged.json["overdue"] as? Bool == false)
            #expect(try await app.send(.POST, "/api/v1/hardship-reviews/\(id)/lines/\(lineA)", chaoyang, json: #"{"outcome": "changed"}"#).status == .conflict)
            // A cancel needs its note; with it, the file closes and leaves its people free.
            let noNote = try await app.send(.POST, "/api/v1/hardship-reviews/\(id)/lines/\(lineB)", chaoyang, json: #"{"outcome": "cancel"}"#)
            #expect(noNote.status == .unprocessableEntity && noNote.problemFields == ["note"])
            let bad = try await app.send(.POST, "/api/v1/hardship-reviews/\(id)/lines/\(lineB)", chaoyang, json: #"{"outcome": "maybe"}"#)
            #expect(bad.status == .unprocessableEntity && bad.problemFields == ["outcome"])
            let cancel = try await app.send(.POST, "/api/v1/hardship-reviews/\(id)/lines/\(lineB)", chaoyang, json: #"{"outcome": "cancel", "note": "已调离本市"}"#)
            #expect(cancel.status == .ok && cancel.json["state"] as? String == "cancelled", "\(cancel.body.string)")
            let closed = try #require(try await HardshipHousehold.find(b.id, on: app.db))
            #expect(closed.state == .cancelled && closed.closedOn == ArchiveFiles.day(0) && closed.closedReason == "已调离本市")
            #expect(try await HardshipPerson.query(on: app.db).filter(\.$householdID == b.id!).filter(\.$active == true).count() == 0)
            #expect(try await HouseholdEvent.query(on: app.db).filter(\.$householdID == b.id!).filter(\.$action == "cancel").count() == 1)
            let after = try await app.send(.GET, "/api/v1/hardship-reviews/\(id)", chaoyang)
            #expect((after.json["check"] as? [String: Any])?["overdue"] as? Int == 1)
            #expect(try await app.auditCount("archive.review.outcome") == 2)
            // The console lists the round with its due day.
            let session = try await ConsoleSession.signIn(app, "chaoyang")
            let page = try await session.get("/console/archive-checks")
            #expect(page.status == .ok && page.body.string.contains("年度复核") && page.body.string.contains(ArchiveFiles.day(-1)))
            let round = try await session.get("/console/archive-checks/\(id)")
            #expect(round.status == .ok && round.body.string.contains("已逾期") && round.body.string.contains("注销"))
            let export = try await session.get("/console/archive-lists/unchanged?format=csv")
            #expect(export.status == .ok && export.body.string.contains("档案编号"))
        }
    }

    @Test func anotherDistrictSeesNothingAndBadInputNamesItsField() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await ArchiveFiles.file(app, under: f.jianwaiUnion)
            let chaoyang = try await app.token("chaoyang")
            let made = try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang,
                                          json: #"{"orgId": \#(f.chaoyang.id!), "year": 2026, "dueOn": "2026-12-31"}"#)
            let id = try #require(made.json["id"] as? Int)
            let line = try #require(((try await app.send(.GET, "/api/v1/hardship-reviews/\(id)", chaoyang)).json["lines"] as? [String: Any])
                .flatMap { ($0["items"] as? [[String: Any]])?.first?["id"] as? Int })
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/hardship-reviews/\(id)", haidian).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/hardship-reviews/\(id)/lines/\(line)", haidian, json: #"{"outcome": "unchanged"}"#).status == .notFound)
            let list = try await app.send(.GET, "/api/v1/hardship-reviews", haidian)
            #expect(list.status == .ok && list.body.string == "[]")
            #expect(try await app.send(.POST, "/api/v1/hardship-reviews", haidian,
                                       json: #"{"orgId": \#(f.chaoyang.id!), "year": 2026, "dueOn": "2026-12-31"}"#).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/hardship-spot-checks", haidian, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2026}"#).status == .notFound)
            // A street does not open rounds; a street is not a district.
            #expect(try await app.send(.POST, "/api/v1/hardship-reviews", try await app.token("jianwai"),
                                       json: #"{"orgId": \#(f.jianwai.id!), "year": 2026, "dueOn": "2026-12-31"}"#).status == .forbidden)
            let street = try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang, json: #"{"orgId": \#(f.jianwai.id!), "year": 2027, "dueOn": "2027-12-31"}"#)
            #expect(street.status == .unprocessableEntity && street.problemFields == ["orgId"])
            let missing = try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang, json: #"{"orgId": \#(f.chaoyang.id!), "year": 1999}"#)
            #expect(missing.status == .unprocessableEntity && Set(missing.problemFields) == ["year", "dueOn"])
            let badDay = try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2027, "dueOn": "2027-02-30"}"#)
            #expect(badDay.status == .unprocessableEntity && badDay.problemFields == ["dueOn"])
            let wrongType = try await app.send(.POST, "/api/v1/hardship-reviews", chaoyang, json: #"{"orgId": "x", "year": 2027}"#)
            #expect((400...422).contains(Int(wrongType.status.code)) && wrongType.problemFields.contains("orgId"), "\(wrongType.body.string)")
            let small = try await app.send(.POST, "/api/v1/hardship-spot-checks", chaoyang, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2026, "share": 0.2}"#)
            #expect(small.status == .unprocessableEntity && small.problemFields == ["share"])
            #expect(small.body.string.contains("30%"))
            var en = chaoyang
            en.replaceOrAdd(name: .acceptLanguage, value: "en")
            let smallEn = try await app.send(.POST, "/api/v1/hardship-spot-checks", en, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2026, "share": 1.5}"#)
            #expect(smallEn.status == .unprocessableEntity && smallEn.body.string.contains("at least 30%"))
            #expect(try await app.send(.GET, "/api/v1/hardship-reviews?year=x", chaoyang).problemFields == ["year"])
        }
    }

    @Test func theSpotCheckDrawsAtLeastThirtyPercentAndTheDrawRepeatsFromTheStoredSeed() async throws {
        try await withApp { app in
            // setup: ten active files under 朝阳, one closed
            let f = try await Fixture.make(app)
            for n in 0..<10 { try await ArchiveFiles.file(app, under: n % 2 == 0 ? f.jianwaiUnion : f.jianwai) }
            try await ArchiveFiles.file(app, under: f.jianwai, state: .lifted, closedOn: ArchiveFiles.day(-3))
            let chaoyang = try await app.token("chaoyang")
            // act
            let made = try await app.send(.POST, "/api/v1/hardship-spot-checks", chaoyang, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2026}"#)
            // verify
            #expect(made.status == .created, "\(made.body.string)")
            #expect(made.json["lines"] as? Int == 3 && made.json["population"] as? Int == 10 && made.json["share"] as? Double == 0.3)
            #expect(made.json["repeatsDraw"] as? Bool == true)
            let id = try #require(made.json["id"] as? Int)
            let check = try #require(try await ArchiveCheck.find(id, on: app.db))
            let seed = try #require(check.seed)
            // The draw again from what was stored: the same files in the same order.
            let active = try await HardshipHousehold.query(on: app.db).filter(\.$state == .active).all().map { $0.id! }
            let again = SpotDraw.draw(active, share: 0.3, seed: UInt64(bitPattern: seed))
            let stored = try await ArchiveCheckLine.query(on: app.db).filter(\.$checkID == id).sort(\.$position).all().map(\.householdID)
            #expect(again == stored)
            let shown = try await app.send(.GET, "/api/v1/hardship-spot-checks/\(id)", chaoyang)
            #expect((shown.json["check"] as? [String: Any])?["seed"] as? Int64 == seed)
            // A larger share, another year; one round per district and year.
            let half = try await app.send(.POST, "/api/v1/hardship-spot-checks", chaoyang, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2027, "share": 0.5}"#)
            #expect(half.status == .created && half.json["lines"] as? Int == 5)
            #expect(try await app.send(.POST, "/api/v1/hardship-spot-checks", chaoyang, json: #"{"orgId": \#(f.chaoyang.id!), "year": 2027}"#).status == .conflict)
            // A review's id is not a spot check's.
            #expect(try await app.send(.GET, "/api/v1/hardship-reviews/\(id)", chaoyang).status == .notFound)
            let line = try #require(((shown.json["lines"] as? [String: Any])?["items"] as? [[String: Any]])?.first?["id"] as? Int)
            let lift = try await app.send(.POST, "/api/v1/hardship-spot-checks/\(id)/lines/\(line)", chaoyang, json: #"{"outcome": "lift", "note": "收入已超过标准"}"#)
            #expect(lift.status == .ok && lift.json["state"] as? String == "lifted" && lift.json["outcome"] as? String == "lift")
            #expect(try await app.auditCount("archive.spotCheck.open") == 2)
        }
    }
}
