import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct StudioTests {
    /// A craftsman's studio is named after review and a site visit, gets its yearly grant from the
    /// development budget while it passes its yearly acceptance, and no grant once one fails.
    @Test func aCraftsmansStudioGetsItsYearlyGrantUntilAnAcceptanceFails() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let union = try await app.token("jwunion")
            let leader = try await MemberScopeAndPrivacyTests.member(app, seq: 401, union: f.jianwaiUnion, staff: "jwunion", phone: "13900139401", name: "高凤林")
            let helper = try await MemberScopeAndPrivacyTests.member(app, seq: 402, union: f.jianwaiUnion, staff: "jwunion", phone: "13900139402", name: "周宁")
            let made = try await app.send(.POST, "/api/v1/studios", union, json: """
                {"name":"高凤林焊接创新工作室","level":"city","leaderMemberId":\(leader.id),"memberIds":[\(helper.id)],"field":"特种焊接","premises":"二号厂房","grantKind":"craftsman"}
                """)
            #expect(made.status == .created && made.json["state"] as? String == "applied" && made.json["members"] as? Int == 1, "\(made.body.string)")
            let id = try #require(made.json["id"] as? Int)
            let bad = try await app.send(.POST, "/api/v1/studios", union, json: #"{"level":"galactic","grantKind":"lots"}"#)
            #expect(bad.status == .unprocessableEntity && Set(bad.problemFields) == ["name", "level", "field", "grantKind", "leaderMemberId"], "\(bad.body.string)")
            // the studio's own union cannot recognise itself; 海淀 cannot see it
            #expect(try await app.send(.POST, "/api/v1/studios/\(id)/actions", union, json: #"{"action":"review"}"#).status == .forbidden)
            #expect(try await app.send(.GET, "/api/v1/studios/\(id)", try await app.token("haidian")).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"name"}"#).status == .conflict)
            for action in ["review", "visit", "name"] {
                let r = try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"\#(action)"}"#)
                #expect(r.status == .ok, "\(action): \(r.body.string)")
            }
            // named two years ago, to walk three grant years
            let year = ShanghaiClock.today().year
            try await (app.db as! any SQLDatabase).raw("UPDATE studios SET named_on = \(bind: "\(year - 2)-03-01") WHERE id = \(bind: id)").run()
            let noMoney = try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"grant","year":\#(year - 2)}"#)
            #expect(noMoney.status == .conflict && noMoney.problemFields == ["amountYuan"], "\(noMoney.body.string)")
            let budget = try await app.send(.POST, "/api/v1/development-budgets", admin, json: #"{"year":\#(year - 2),"amountYuan":100000}"#)
            #expect(budget.status == .created && budget.json["availableYuan"] as? Double == 100000, "\(budget.body.string)")
            for y in [year - 1, year] { _ = try await app.send(.POST, "/api/v1/development-budgets", admin, json: #"{"year":\#(y),"amountYuan":100000}"#) }
            let first = try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"grant","year":\#(year - 2)}"#)
            #expect(first.status == .ok && first.json["grantedYuan"] as? Double == 100000, "\(first.body.string)")
            #expect(try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"grant","year":\#(year - 2)}"#).status == .conflict)
            // the next year's grant waits for this year's acceptance, which needs a result
            #expect(try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"grant","year":\#(year - 1)}"#).status == .conflict)
            let result = try await app.send(.POST, "/api/v1/studios/\(id)/results", union, json: #"{"year":\#(year - 2),"kind":"patent","title":"一种薄壁焊接夹具"}"#)
            #expect(result.status == .created, "\(result.body.string)")
            let passed = try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"acceptance","year":\#(year - 2)}"#)
            #expect((passed.json["years"] as? [[String: Any]])?.first?["accepted"] as? Bool == true, "\(passed.body.string)")
            #expect(try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"grant","year":\#(year - 1)}"#).status == .ok)
            // a year without results fails, and no grant follows
            let failed = try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"acceptance","year":\#(year - 1)}"#)
            #expect((failed.json["years"] as? [[String: Any]])?.last?["accepted"] as? Bool == false, "\(failed.body.string)")
            let refused = try await app.send(.POST, "/api/v1/studios/\(id)/actions", admin, json: #"{"action":"grant","year":\#(year)}"#)
            #expect(refused.status == .conflict && refused.body.string.contains("\(year - 1)"), "\(refused.body.string)")
            let entries = try await FundEntry.query(on: app.db).filter(\.$kind == .pay).all()
            #expect(entries.count == 2 && entries.allSatisfy { $0.amountFen == 10_000_000 && $0.ref?.hasPrefix("studio:") == true })
        }
    }
}

@Suite struct ContestTests {
    static func contest(_ app: Application, _ f: Fixture, capacity: Int, gold: Int = 0) async throws -> Int {
        let closes = ShanghaiClock.today().adding(days: 10).description
        let made = try await app.send(.POST, "/api/v1/contests", try await app.token("chaoyang"), json: """
            {"orgId":\(f.chaoyang.id!),"trade":"电工","level":"district","capacity":\(capacity),"registrationClosesAt":"\(closes)","goldYuan":\(gold),"silverYuan":\(gold / 2),"bronzeYuan":\(gold / 4),"promoteTop":2}
            """)
        #expect(made.status == .created && made.json["open"] as? Bool == true, "\(made.body.string)")
        return try #require(made.json["id"] as? Int)
    }

    /// Members register from their phones at once: exactly the capacity gets in, the rest get 409;
    /// a second registration, a member from outside the organiser's tree and a late one are refused.
    @Test func aContestFillsToCapacityAndNeverPastItWhateverTheConcurrency() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let id = try await Self.contest(app, f, capacity: 4)
            var auths: [HTTPHeaders] = []
            for i in 0..<9 {
                let m = try await MemberScopeAndPrivacyTests.member(app, seq: 500 + i, union: f.jianwaiUnion, staff: "jwunion", phone: "139001395\(String(format: "%02d", i))")
                auths.append(try await DevelopmentSupport.memberAuth(app, m.id))
            }
            let tokens = auths
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for a in tokens { group.addTask { try await app.send(.POST, "/api/v1/contests/\(id)/registrations", a, json: "{}").status } }
                var out: [HTTPStatus] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses.filter { $0 == .created }.count == 4 && statuses.filter { $0 == .conflict }.count == 5, "\(statuses)")
            #expect(try await ContestRegistration.query(on: app.db).filter(\.$contestID == id).count() == 4)
            #expect(try await Contest.find(id, on: app.db)?.registered == 4)
            // one member twice at once, in a roomy contest: one seat
            let roomy = try await Self.contest(app, f, capacity: 100)
            let twice = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<4 { group.addTask { try await app.send(.POST, "/api/v1/contests/\(roomy)/registrations", tokens[0], json: "{}").status } }
                var out: [HTTPStatus] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(twice.filter { $0 == .created }.count == 1 && twice.filter { $0 == .conflict }.count == 3, "\(twice)")
            #expect(try await Contest.find(roomy, on: app.db)?.registered == 1)
            let outsider = try await MemberScopeAndPrivacyTests.member(app, seq: 520, union: f.zgcUnion, staff: "zgc", phone: "13900139520")
            let outside = try await app.send(.POST, "/api/v1/contests/\(roomy)/registrations", try await DevelopmentSupport.memberAuth(app, outsider.id), json: "{}")
            #expect(outside.status == .unprocessableEntity && outside.body.string.contains("朝阳"), "\(outside.body.string)")
            #expect(try await app.send(.POST, "/api/v1/contests/\(roomy)/registrations", json: "{}").status == .unauthorized)
            try await (app.db as! any SQLDatabase).raw("UPDATE contests SET registration_closes_at = \(bind: Date().addingTimeInterval(-60)) WHERE id = \(bind: roomy)").run()
            let late = try await app.send(.POST, "/api/v1/contests/\(roomy)/registrations", auths[1], json: "{}")
            #expect(late.status == .unprocessableEntity && late.problemFields == ["registrationClosesAt"], "\(late.body.string)")
        }
    }

    /// Scores with weights, a ranking with a tie, medals and prizes through the funds ledger, the
    /// promotions proposed in a spreadsheet, the results public.
    @Test func scoresRankWithTiesAndTheWinnersAreProposedForPromotion() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let id = try await Self.contest(app, f, capacity: 4, gold: 2000)
            var regs: [Int] = []
            for i in 0..<4 {
                let m = try await MemberScopeAndPrivacyTests.member(app, seq: 530 + i, union: f.jianwaiUnion, staff: "jwunion", phone: "139001395\(30 + i)",
                                                                    name: ["甲一", "乙二", "丙三", "丁四"][i])
                let r = try await app.send(.POST, "/api/v1/contests/\(id)/registrations", try await DevelopmentSupport.memberAuth(app, m.id), json: "{}")
                regs.append(try #require(r.json["id"] as? Int))
            }
            let staff = try await app.token("chaoyang")
            let bad = try await app.send(.POST, "/api/v1/contests/\(id)/scores", staff, json: #"{"registrationId":\#(regs[0]),"stage":"practice","score":101}"#)
            #expect(bad.status == .unprocessableEntity && bad.problemFields == ["score"], "\(bad.body.string)")
            // theory 30%, practice 70%: 甲 90/80 = 83, 乙 70/90 = 84, 丙 90/80 = 83 (a tie), 丁 50/50 = 50
            let marks = [(90, 80), (70, 90), (90, 80), (50, 50)]
            let list = zip(regs, marks).flatMap { r, m in [#"{"registrationId":\#(r),"stage":"theory","score":\#(m.0)}"#, #"{"registrationId":\#(r),"stage":"practice","score":\#(m.1)}"#] }
            let scored = try await app.send(.POST, "/api/v1/contests/\(id)/scores", staff, json: #"{"scores":[\#(list.joined(separator: ","))]}"#)
            #expect(scored.status == .created && scored.json["scored"] as? Int == 8, "\(scored.body.string)")
            let hidden = try await app.send(.GET, "/api/v1/contests/\(id)/results")
            #expect(hidden.json["published"] as? Bool == false && (hidden.json["results"] as? [Any])?.isEmpty == true)
            let published = try await app.send(.POST, "/api/v1/contests/\(id)/actions", staff, json: #"{"action":"publish"}"#)
            #expect(published.status == .ok, "\(published.body.string)")
            let results = try await app.send(.GET, "/api/v1/contests/\(id)/results")
            let rows = try #require(results.json["results"] as? [[String: Any]])
            #expect(rows.map { $0["name"] as? String } == ["乙二", "甲一", "丙三", "丁四"], "\(results.body.string)")
            #expect(rows.map { $0["rank"] as? Int } == [1, 2, 2, 4])
            #expect(rows.map { $0["medal"] as? String } == ["gold", "silver", "silver", nil])
            #expect(rows.map { $0["promoted"] as? Bool } == [true, true, true, false])
            #expect(!results.body.string.contains("1390013953"))
            let paid = try await FundEntry.query(on: app.db).filter(\.$kind == .pay).all().map(\.amountFen).sorted()
            #expect(paid == [100_000, 100_000, 200_000], "\(paid)")
            let sheet = try await app.send(.GET, "/api/v1/contests/\(id)/promotions?format=csv", staff)
            #expect(sheet.status == .ok && sheet.body.string.contains("乙二") && !sheet.body.string.contains("丁四"), "\(sheet.body.string)")
            #expect(try await app.auditCount("contest.promotions.export") == 1)
            #expect(try await app.send(.POST, "/api/v1/contests/\(id)/actions", staff, json: #"{"action":"publish"}"#).status == .conflict)
            #expect(try await app.send(.GET, "/api/v1/contests/\(id)", try await app.token("haidian")).status == .notFound)
        }
    }
}
