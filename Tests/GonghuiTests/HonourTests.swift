import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

enum DevelopmentSupport {
    static func array(_ r: TestingHTTPResponse) -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(r.body.readableBytesView))) as? [[String: Any]] ?? []
    }

    static func memberAuth(_ app: Application, _ memberID: Int) async throws -> HTTPHeaders {
        let member = try #require(try await Member.find(memberID, on: app.db))
        let (token, _) = try await MemberAuth.issueToken(for: member, on: app.db)
        var h = HTTPHeaders()
        h.bearerAuthorization = .init(token: token)
        return h
    }

    static func rule(_ campaign: [String: Any], _ category: String) -> [String: Any] {
        ((campaign["quotaRules"] as? [[String: Any]]) ?? []).first { $0["category"] as? String == category } ?? [:]
    }
}

@Suite struct HonourCampaignTests {
    /// The issue's first "done when": a district nominates within its quota and the quota rules, the
    /// list stands in notice, a public objection holds a nominee until it is answered, the awards go
    /// out with prizes in the funds ledger and appear on the public roll; a revoked honour stays in
    /// the registry, shown as revoked, and leaves the roll.
    @Test func aDistrictNominatesWithinQuotasTheListStandsInNoticeAndTheAwardsGoOut() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let union = try await app.token("jwunion")
            let made = try await app.send(.POST, "/api/v1/honour-campaigns", admin, json: """
                {"title":"2026年首都劳动奖章","year":2026,"quota":3,"noticeDays":5,
                 "quotaRules":[{"category":"frontLine","min":0.45},{"category":"managerial","max":8}],
                 "districtQuotas":[{"orgId":\(f.chaoyang.id!),"quota":2}]}
                """)
            #expect(made.status == .created && made.json["honour"] as? String == "capitalMedal", "\(made.body.string)")
            let campaign = try #require(made.json["id"] as? Int)
            #expect(made.json["prizeYuan"] as? Double == 5000)
            // bad input names its field
            let bad = try await app.send(.POST, "/api/v1/honour-campaigns", admin, json: #"{"title":"某荣誉","year":1900,"quota":0,"quotaRules":[{"category":"tall","min":2}]}"#)
            #expect(bad.status == .unprocessableEntity && Set(bad.problemFields).isSuperset(of: ["year", "quota", "quotaRules[0].category", "honour"]), "\(bad.body.string)")

            var members: [Int] = []
            for i in 0..<3 {
                let m = try await MemberScopeAndPrivacyTests.member(app, seq: 300 + i, union: f.jianwaiUnion, staff: "jwunion", phone: "1390013900\(i)",
                                                                    name: ["张建国", "李秀兰", "王立新"][i])
                members.append(m.id)
            }
            func nominate(_ auth: HTTPHeaders, _ member: Int, _ category: String = "frontLine") async throws -> TestingHTTPResponse {
                try await app.send(.POST, "/api/v1/honour-campaigns/\(campaign)/nominations", auth,
                                   json: #"{"memberId":\#(member),"category":"\#(category)","citation":"扎根一线二十年，攻克焊接难题 12 项","checklist":{"credit":true,"tax":true,"safety":true,"discipline":true}}"#)
            }
            let first = try await nominate(union, members[0])
            #expect(first.status == .created && first.json["state"] as? String == "nominated", "\(first.body.string)")
            let firstID = try #require(first.json["id"] as? Int)
            let twice = try await nominate(union, members[0])
            #expect(twice.status == .conflict && twice.body.string.contains("张建国"), "\(twice.body.string)")
            let second = try await nominate(union, members[1])
            #expect(second.status == .created)
            let secondID = try #require(second.json["id"] as? Int)
            // 朝阳's quota of two is used
            let third = try await nominate(union, members[2])
            #expect(third.status == .conflict && third.body.string.contains("朝阳"), "\(third.body.string)")
            // a member who has left cannot be nominated; another district cannot nominate this union's members
            try await (app.db as! any SQLDatabase).raw("UPDATE members SET status = 'left' WHERE id = \(bind: members[2])").run()
            let left = try await nominate(admin, members[2])
            #expect(left.status == .unprocessableEntity && left.problemFields == ["memberId"], "\(left.body.string)")
            let zgcMember = try await MemberScopeAndPrivacyTests.member(app, seq: 310, union: f.zgcUnion, staff: "zgc", phone: "13900139010", name: "赵经理")
            let across = try await nominate(try await app.token("zgc"), members[1])
            #expect(across.status == .unprocessableEntity && across.problemFields == ["memberId"], "\(across.body.string)")

            // a manager from 海淀 turns the managerial rule red: the campaign cannot close
            let manager = try await nominate(try await app.token("zgc"), zgcMember.id, "managerial")
            #expect(manager.status == .created)
            var shown = try await app.send(.GET, "/api/v1/honour-campaigns/\(campaign)", admin)
            #expect(DevelopmentSupport.rule(shown.json, "managerial")["met"] as? Bool == false, "\(shown.body.string)")
            #expect(DevelopmentSupport.rule(shown.json, "frontLine")["share"] as? Double == 0.6667)
            let red = try await app.send(.POST, "/api/v1/honour-campaigns/\(campaign)/close", admin, json: "{}")
            #expect(red.status == .conflict && red.problemFields == ["quotaRules"], "\(red.body.string)")
            let dropped = try await app.send(.POST, "/api/v1/nominations/\(manager.json["id"] as! Int)/actions", admin, json: #"{"action":"reject","reason":"超出管理人员比例"}"#)
            #expect(dropped.json["state"] as? String == "rejected")
            shown = try await app.send(.GET, "/api/v1/honour-campaigns/\(campaign)", admin)
            #expect(DevelopmentSupport.rule(shown.json, "managerial")["met"] as? Bool == true && shown.json["allRulesMet"] as? Bool == true)

            // the district reviews, then the city; only then the notice
            let chaoyang = try await app.token("chaoyang")
            let early = try await app.send(.POST, "/api/v1/nominations/\(firstID)/actions", admin, json: #"{"action":"notice"}"#)
            #expect(early.status == .conflict)
            for id in [firstID, secondID] {
                let d = try await app.send(.POST, "/api/v1/nominations/\(id)/actions", chaoyang, json: #"{"action":"review"}"#)
                #expect(d.json["state"] as? String == "districtReviewed", "\(d.body.string)")
                let c = try await app.send(.POST, "/api/v1/nominations/\(id)/actions", admin, json: #"{"action":"review"}"#)
                #expect(c.json["state"] as? String == "cityReviewed", "\(c.body.string)")
            }
            let noticed = try await app.send(.POST, "/api/v1/honour-campaigns/\(campaign)/notice", admin)
            #expect(noticed.status == .ok && noticed.json["noticeId"] is Int, "\(noticed.body.string)")
            let noticeID = try #require(noticed.json["noticeId"] as? Int)

            // the public notice: masked names, employer and citation, nothing else
            let notices = try await app.send(.GET, "/api/v1/public-notices")
            let notice = try #require(DevelopmentSupport.array(notices).first { $0["id"] as? Int == noticeID })
            let entries = try #require(notice["entries"] as? [[String: Any]])
            #expect(entries.count == 2 && entries.map { $0["name"] as? String } == ["张**", "李**"], "\(entries)")
            #expect(!notices.body.string.contains("11010519") && !notices.body.string.contains("1390013900"))
            let entryID = try #require(try await HonourNomination.find(firstID, on: app.db)?.noticeEntryID)
            let objected = try await app.send(.POST, "/api/v1/public-notices/\(noticeID)/objections",
                                              json: #"{"entryId":\#(entryID),"name":"刘明","phone":"13700137000","text":"其事迹与实际不符"}"#)
            #expect(objected.status == .created, "\(objected.body.string)")

            // an unanswered objection holds the award; then the notice must run its days
            let held = try await app.send(.POST, "/api/v1/nominations/\(firstID)/actions", admin, json: #"{"action":"award"}"#)
            #expect(held.status == .conflict && held.body.string.contains("异议"), "\(held.body.string)")
            let answered = try await app.send(.POST, "/api/v1/nominations/\(firstID)/actions", chaoyang, json: #"{"action":"answer","reason":"经核实，事迹属实"}"#)
            #expect(answered.status == .ok && answered.json["openObjections"] as? Int == 0, "\(answered.body.string)")
            let running = try await app.send(.POST, "/api/v1/nominations/\(firstID)/actions", admin, json: #"{"action":"award"}"#)
            #expect(running.status == .conflict && running.body.string.contains("公示期"), "\(running.body.string)")
            let yesterday = ShanghaiClock.today().adding(days: -1).description
            try await (app.db as! any SQLDatabase).raw("UPDATE public_notices SET ends_on = \(bind: yesterday) WHERE id = \(bind: noticeID)").run()
            for id in [firstID, secondID] {
                let awarded = try await app.send(.POST, "/api/v1/nominations/\(id)/actions", admin, json: #"{"action":"award"}"#)
                #expect(awarded.status == .ok && awarded.json["state"] as? String == "awarded", "\(awarded.body.string)")
            }
            // the prizes are pay entries of the campaign's fund
            let fundID = try #require(shown.json["fundId"] as? Int)
            let ledger = try await app.send(.GET, "/api/v1/funds-ledger?fundId=\(fundID)", admin)
            let pays = ((ledger.json["items"] as? [[String: Any]]) ?? []).filter { $0["kind"] as? String == "pay" }
            #expect(pays.count == 2 && pays.allSatisfy { $0["amountYuan"] as? Double == 5000 }, "\(ledger.body.string)")

            // the public roll, no account; then a revocation leaves it and stays in the registry
            let roll = try await app.send(.GET, "/api/v1/honours?year=2026")
            #expect(DevelopmentSupport.array(roll).map { $0["name"] as? String } == ["张建国", "李秀兰"], "\(roll.body.string)")
            #expect(!roll.body.string.contains("1390013900") && !roll.body.string.contains("11010519") && !roll.body.string.contains("\"memberId\":\(members[0])"))
            let revoked = try await app.send(.POST, "/api/v1/nominations/\(secondID)/actions", admin, json: #"{"action":"revoke","reason":"弄虚作假"}"#)
            #expect(revoked.json["state"] as? String == "revoked", "\(revoked.body.string)")
            #expect(DevelopmentSupport.array(try await app.send(.GET, "/api/v1/honours?year=2026")).count == 1)
            let registry = DevelopmentSupport.array(try await app.send(.GET, "/api/v1/honour-registry", admin))
            #expect(registry.count == 2 && registry.contains { $0["revoked"] as? Bool == true && $0["revokeReason"] as? String == "弄虚作假" })
            // 海淀 sees none of 朝阳's registry
            #expect(DevelopmentSupport.array(try await app.send(.GET, "/api/v1/honour-registry", try await app.token("haidian"))).isEmpty)
            let closed = try await app.send(.POST, "/api/v1/honour-campaigns/\(campaign)/close", admin, json: "{}")
            #expect(closed.status == .ok && closed.json["state"] as? String == "closed", "\(closed.body.string)")
            #expect(try await app.auditCount("honour.award") == 2)
        }
    }

    /// The city may close a campaign with a red rule only with a reason, and that is audited; a district may not.
    @Test func onlyTheCityOverridesARedQuotaRuleWithAReason() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let chaoyang = try await app.token("chaoyang")
            let made = try await app.send(.POST, "/api/v1/honour-campaigns", chaoyang,
                                          json: #"{"title":"朝阳区先进工作者","honour":"advancedWorker","year":2026,"quota":2,"quotaRules":[{"category":"women","min":50}]}"#)
            #expect(made.status == .created, "\(made.body.string)")
            let id = try #require(made.json["id"] as? Int)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 321, union: f.jianwaiUnion, staff: "jwunion", phone: "13900139021", name: "孙强")
            let n = try await app.send(.POST, "/api/v1/honour-campaigns/\(id)/nominations", chaoyang, json: #"{"memberId":\#(m.id),"category":"technical","citation":"技术革新"}"#)
            #expect(n.status == .created && n.json["women"] as? Bool == false)
            #expect(try await app.send(.POST, "/api/v1/honour-campaigns/\(id)/close", chaoyang, json: #"{"overrideReason":"本年度女职工推荐不足"}"#).status == .conflict)
            // 海淀 cannot see 朝阳's campaign at all
            #expect(try await app.send(.GET, "/api/v1/honour-campaigns/\(id)", try await app.token("haidian")).status == .notFound)
            let admin = try await app.token("admin")
            let closed = try await app.send(.POST, "/api/v1/honour-campaigns/\(id)/close", admin, json: #"{"overrideReason":"本年度女职工推荐不足"}"#)
            #expect(closed.status == .ok && closed.json["overrideReason"] as? String == "本年度女职工推荐不足", "\(closed.body.string)")
            #expect(try await app.auditCount("honour.campaign.override") == 1)
        }
    }

    /// Everyone nominated for 北京大工匠 stays in the talent pool, whatever became of the nomination; another district sees none of them.
    @Test func everyoneNominatedForMasterCraftsmanEntersThePool() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let made = try await app.send(.POST, "/api/v1/honour-campaigns", admin, json: #"{"title":"第四届北京大工匠选树","year":2026,"quota":30}"#)
            #expect(made.status == .created && made.json["honour"] as? String == "bjCraftsman" && made.json["prizeYuan"] as? Double == 30000, "\(made.body.string)")
            let id = try #require(made.json["id"] as? Int)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 331, union: f.jianwaiUnion, staff: "jwunion", phone: "13900139031", name: "韩焊工")
            let n = try await app.send(.POST, "/api/v1/honour-campaigns/\(id)/nominations", try await app.token("jwunion"),
                                       json: #"{"memberId":\#(m.id),"category":"frontLine","citation":"航天焊接"}"#)
            let nid = try #require(n.json["id"] as? Int)
            #expect(try await app.send(.POST, "/api/v1/nominations/\(nid)/actions", admin, json: #"{"action":"reject","reason":"入围未当选"}"#).status == .ok)
            let pool = DevelopmentSupport.array(try await app.send(.GET, "/api/v1/craftsman-pool", try await app.token("chaoyang")))
            #expect(pool.map { $0["name"] as? String } == ["韩焊工"] && pool.first?["state"] as? String == "rejected")
            #expect(DevelopmentSupport.array(try await app.send(.GET, "/api/v1/craftsman-pool", try await app.token("haidian"))).isEmpty)
        }
    }
}
