import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

enum RightsSupport {
    static func day(_ offset: Int) -> String { ShanghaiClock.today().adding(days: offset).description }

    /// A unionised firm whose union is the fixture's 华联 union.
    static func firm(_ app: Application, _ f: Fixture, serial: Int = 41) async throws -> Int {
        let made = try await app.send(.POST, "/api/v1/enterprises", try await app.token("jianwai"),
                                      json: enterpriseJSON(serial, name: "北京华联科技有限公司", orgId: f.jianwai.id!, headcount: 400, unionStatus: "founded"))
        #expect(made.status == .created, "\(made.body.string)")
        let id = try #require(made.json["id"] as? Int)
        try await (app.db as! any SQLDatabase).raw("UPDATE enterprises SET union_org_id = \(bind: f.jianwaiUnion.id!) WHERE id = \(bind: id)").run()
        return id
    }

    /// A congress of the 华联 union with three representatives, and a quorate session whose
    /// resolution passed: the resolution's id.
    static func congressResolution(_ app: Application, _ f: Fixture, _ auth: HTTPHeaders, on date: String) async throws -> (congress: Int, resolution: Int) {
        let made = try await app.send(.POST, "/api/v1/congresses", auth, json: #"{"orgId":\#(f.jianwaiUnion.id!),"termYears":5,"startsOn":"\#(day(-400))","employees":400}"#)
        #expect(made.status == .created, "\(made.body.string)")
        let congress = try #require(made.json["id"] as? Int)
        for (i, category) in ["frontLine", "technical", "managerial"].enumerated() {
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 60 + i, union: f.jianwaiUnion, staff: "jwunion", phone: "1380013810\(i)")
            let seat = try await app.send(.POST, "/api/v1/congresses/\(congress)/representatives", auth,
                                          json: #"{"memberId":\#(m.id),"category":"\#(category)","date":"\#(day(-300))"}"#)
            #expect(seat.status == .created, "\(seat.body.string)")
            if i == 0 {
                let again = try await app.send(.POST, "/api/v1/congresses/\(congress)/representatives", auth, json: #"{"memberId":\#(m.id),"category":"frontLine"}"#)
                #expect(again.status == .conflict && again.body.string.contains("王小红"), "\(again.body.string)")
            }
        }
        let session = try await app.send(.POST, "/api/v1/congresses/\(congress)/sessions", auth, json: #"{"date":"\#(date)","present":2}"#)
        #expect(session.status == .created && session.json["quorum"] as? Bool == true, "\(session.body.string)")
        let resolved = try await app.send(.POST, "/api/v1/congress-sessions/\(session.json["id"] as! Int)/resolutions", auth,
                                          json: #"{"title":"通过集体合同草案","for":2,"against":0,"abstain":0}"#)
        #expect(resolved.status == .created && resolved.json["passed"] as? Bool == true, "\(resolved.body.string)")
        return (congress, try #require(resolved.json["id"] as? Int))
    }

    static let sides = #""unionSide":[{"name":"张建国","chief":true},{"name":"李秀兰"},{"name":"王律师","expert":true}],"employerSide":[{"name":"赵总","chief":true},{"name":"钱经理"},{"name":"孙主管"}]"#
}

@Suite struct CollectiveContractTests {
    /// The issue's first "done when": offer, bargain, a quorate congress, sign, file, in force on day
    /// 16 by the clock alone; counted in the coverage rate; in the renewal list before it expires.
    @Test func aContractIsBargainedPassedFiledAndComesIntoForceOnDaySixteen() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let union = try await app.token("jwunion")
            let firm = try await RightsSupport.firm(app, f)
            let made = try await app.send(.POST, "/api/v1/collective-contracts", union,
                                          json: #"{"kind":"comprehensive","orgId":\#(f.jianwaiUnion.id!),"title":"华联科技 2026 年集体合同"}"#)
            #expect(made.status == .created && made.json["state"] as? String == "preparing", "\(made.body.string)")
            let id = try #require(made.json["id"] as? Int)
            func act(_ body: String) async throws -> TestingHTTPResponse {
                try await app.send(.POST, "/api/v1/collective-contracts/\(id)/actions", union, json: body)
            }
            // A step out of order is 409; a signature before the draft is 422 naming the date.
            #expect(try await act(#"{"action":"sign","termYears":3}"#).status == .conflict)
            let offer = try await act(#"{"action":"offer","date":"\#(RightsSupport.day(-60))","by":"union"}"#)
            #expect(offer.status == .ok && offer.json["replyDueOn"] as? String == RightsSupport.day(-40), "\(offer.body.string)")
            #expect(try await act(#"{"action":"reply","date":"\#(RightsSupport.day(-61))"}"#).problemFields == ["date"])
            #expect(try await act(#"{"action":"reply","date":"\#(RightsSupport.day(-50))"}"#).json["state"] as? String == "bargaining")
            // Unequal sides, two chiefs, an expert as chief: each named.
            let bad = try await act(#"{"action":"round","date":"\#(RightsSupport.day(-45))","unionSide":[{"name":"甲","chief":true,"expert":true},{"name":"乙"},{"name":"丙"},{"name":"丁"}],"employerSide":[{"name":"赵","chief":true},{"name":"钱","chief":true},{"name":"孙"}]}"#)
            #expect(bad.status == .unprocessableEntity)
            #expect(Set(bad.problemFields) == ["unionSide[0].chief", "employerSide"], "\(bad.body.string)")
            let round = try await act(#"{"action":"round","date":"\#(RightsSupport.day(-45))","minutes":"首轮协商",\#(RightsSupport.sides)}"#)
            #expect(round.json["rounds"] as? Int == 1, "\(round.body.string)")
            let draft = try await act(#"{"action":"draft","date":"\#(RightsSupport.day(-40))","wageRisePercent":5.5,"lowestWageYuan":2800,"topics":["welfareFund","paidLeave"],"workersCovered":380}"#)
            #expect(draft.json["state"] as? String == "drafted" && draft.json["wageRisePercent"] as? Double == 5.5, "\(draft.body.string)")
            let (_, resolution) = try await RightsSupport.congressResolution(app, f, union, on: RightsSupport.day(-35))
            #expect(try await act(#"{"action":"sign","date":"\#(RightsSupport.day(-34))","termYears":3}"#).status == .conflict)
            let voted = try await act(#"{"action":"vote","resolutionId":\#(resolution)}"#)
            #expect(voted.json["state"] as? String == "adopted" && voted.json["votedOn"] as? String == RightsSupport.day(-35), "\(voted.body.string)")
            #expect(try await act(#"{"action":"sign","date":"\#(RightsSupport.day(-36))","termYears":3}"#).problemFields == ["date"])
            #expect(try await act(#"{"action":"sign","date":"\#(RightsSupport.day(-12))","termYears":4}"#).problemFields == ["termYears"])
            let signed = try await act(#"{"action":"sign","date":"\#(RightsSupport.day(-12))","termYears":3}"#)
            #expect(signed.json["filingDueOn"] as? String == RightsSupport.day(-2), "\(signed.body.string)")
            // Filed on day 0 (eight days ago): under review until day 15, in force on day 16 by the sweep.
            let filed = try await act(#"{"action":"file","date":"\#(RightsSupport.day(-8))"}"#)
            #expect(filed.json["state"] as? String == "underReview" && filed.json["reviewEndsOn"] as? String == RightsSupport.day(7), "\(filed.body.string)")
            #expect(filed.json["filingLate"] as? Bool == false)
            let today = ShanghaiClock.today()
            try await app.scheduledJobs.runAll(on: app.db, today: today.adding(days: 7))
            #expect(try await CollectiveContract.find(id, on: app.db)?.state == .underReview)
            try await app.scheduledJobs.runAll(on: app.db, today: today.adding(days: 8))
            try await app.scheduledJobs.runAll(on: app.db, today: today.adding(days: 8))
            let c = try #require(try await CollectiveContract.find(id, on: app.db))
            #expect(c.state == .inForce && c.inForceOn == RightsSupport.day(8))
            #expect(c.expiresOn == today.adding(days: 8).adding(years: 3).adding(days: -1).description)
            #expect(try await ContractEvent.query(on: app.db).filter(\.$contractID == id).filter(\.$action == "inForce").count() == 1)
            // The due items: the publication (10 days) and the renewal, shown from three months before expiry.
            let clocks = try await Deadlines.open(c.subject, on: app.db)
            #expect(Set(clocks.map(\.clock)) == ["publication", "renewal"])
            let renewal = try #require(clocks.first { $0.clock == "renewal" })
            #expect(renewal.warnFrom == (try CalendarDate(parsing: c.expiresOn!)).adding(months: -3).description)
            // Counted in the coverage rate of the street, not in another district's.
            let stats = try await app.send(.GET, "/api/v1/rights-stats?orgId=\(f.jianwai.id!)", try await app.token("jianwai")).json
            let contracts = try #require(stats["contracts"] as? [String: Any])
            #expect(contracts["unionisedEnterprises"] as? Int == 1 && contracts["covered"] as? Int == 1 && contracts["coverageRate"] as? Double == 1)
            _ = firm
            // 33 months on, it is in the renewal list.
            let days = (try CalendarDate(parsing: c.expiresOn!)).dayNumber - today.dayNumber
            let soon = try await app.send(.GET, "/api/v1/collective-contracts?expiringWithinDays=\(days)", union).json
            #expect(soon["total"] as? Int == 1)
            #expect(try await app.send(.GET, "/api/v1/collective-contracts?expiringWithinDays=90", union).json["total"] as? Int == 0)
            // Another district cannot see it, act on it or count it.
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/collective-contracts/\(id)", haidian).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/collective-contracts/\(id)/actions", haidian, json: #"{"action":"end"}"#).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/rights-stats?orgId=\(f.jianwai.id!)", haidian).status == .notFound)
            // Renewing makes version 2; the first stays in force until the second is.
            let renewed = try await act(#"{"action":"renew"}"#)
            #expect(renewed.status == .created && renewed.json["version"] as? Int == 2 && renewed.json["previousId"] as? Int == id, "\(renewed.body.string)")
            #expect(try await act(#"{"action":"renew"}"#).status == .conflict)
        }
    }

    /// Two staff renew the same expiring contract at the same moment: one new version, one 409.
    @Test func twoRenewalsAtOnceMakeOneNewVersion() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let union = try await app.token("jwunion")
            let made = try await app.send(.POST, "/api/v1/collective-contracts", union,
                                          json: #"{"kind":"wage","orgId":\#(f.jianwaiUnion.id!),"title":"华联科技工资专项集体合同"}"#)
            let id = try #require(made.json["id"] as? Int)
            try await (app.db as! any SQLDatabase).raw("""
                UPDATE collective_contracts SET state = 'inForce', in_force_on = \(bind: RightsSupport.day(-300)), expires_on = \(bind: RightsSupport.day(60)), term_years = 1
                WHERE id = \(bind: id)
                """).run()
            let answers = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await app.send(.POST, "/api/v1/collective-contracts/\(id)/actions", union, json: #"{"action":"renew"}"#).status }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(answers.filter { $0 == .created }.count == 1, "\(answers)")
            #expect(answers.filter { $0 == .conflict }.count == 3, "\(answers)")
            #expect(try await CollectiveContract.query(on: app.db).filter(\.$previousID == id).count() == 1)
        }
    }

    @Test func aCongressWithoutTwoThirdsPresentCannotVoteAndVotesCannotExceedThosePresent() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let union = try await app.token("jwunion")
            let (congress, _) = try await RightsSupport.congressResolution(app, f, union, on: RightsSupport.day(-10))
            let shown = try await app.send(.GET, "/api/v1/congresses/\(congress)", union).json
            // 3 seats for 400 employees: fewer than 30 is a warning, not a refusal.
            #expect((shown["warnings"] as? [String])?.contains { $0.contains("30") } == true, "\(shown)")
            #expect(try await app.send(.POST, "/api/v1/congresses/\(congress)/sessions", union, json: #"{"date":"\#(RightsSupport.day(-500))","present":3}"#).problemFields == ["date"])
            #expect(try await app.send(.POST, "/api/v1/congresses/\(congress)/sessions", union, json: #"{"date":"\#(RightsSupport.day(-2))","present":4}"#).problemFields == ["present"])
            let thin = try await app.send(.POST, "/api/v1/congresses/\(congress)/sessions", union, json: #"{"date":"\#(RightsSupport.day(-2))","present":1}"#)
            #expect(thin.status == .created && thin.json["quorum"] as? Bool == false)
            let sid = try #require(thin.json["id"] as? Int)
            let refused = try await app.send(.POST, "/api/v1/congress-sessions/\(sid)/resolutions", union, json: #"{"title":"议题","for":1,"against":0,"abstain":0}"#)
            #expect(refused.status == .conflict && refused.headers.contentType?.description.contains("problem+json") == true)
            let full = try await app.send(.POST, "/api/v1/congresses/\(congress)/sessions", union, json: #"{"date":"\#(RightsSupport.day(-1))","present":3}"#)
            let fid = try #require(full.json["id"] as? Int)
            let over = try await app.send(.POST, "/api/v1/congress-sessions/\(fid)/resolutions", union, json: #"{"title":"议题","for":2,"against":1,"abstain":1}"#)
            #expect(over.status == .unprocessableEntity && over.problemFields == ["for"])
            // More than half of all seats, not of those voting: 1 of 3 for fails.
            let failed = try await app.send(.POST, "/api/v1/congress-sessions/\(fid)/resolutions", union, json: #"{"title":"议题","for":1,"against":0,"abstain":2}"#)
            #expect(failed.json["passed"] as? Bool == false)
            #expect(try await app.send(.GET, "/api/v1/congresses/\(congress)", try await app.token("haidian")).status == .notFound)
        }
    }
}

@Suite struct LegalCaseTests {
    /// The issue's second "done when": an unpaid-wages appeal becomes a legal-aid case, is mediated
    /// and closed with the amount recovered, and the statistics count it.
    @Test func anAppealBecomesACaseIsMediatedAndClosedWithTheAmountRecovered() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let appeal = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!, extra: ",\"peopleAffected\":18,\"amountYuan\":126000"))
            let appealID = try #require(appeal.json["id"] as? Int)
            let street = try await app.token("jianwai")
            let made = try await app.send(.POST, "/api/v1/legal-cases", street,
                                          json: #"{"appealId":\#(appealID),"kind":"mediation","migrant":true,"idNumber":"11010519491231002X","knewOn":"\#(RightsSupport.day(-30))"}"#)
            #expect(made.status == .created && made.json["state"] as? String == "received", "\(made.body.string)")
            let id = try #require(made.json["id"] as? Int)
            #expect(try await app.send(.POST, "/api/v1/legal-cases", street, json: #"{"appealId":\#(appealID),"kind":"mediation"}"#).status == .conflict)
            let shown = try await app.send(.GET, "/api/v1/legal-cases/\(id)", street).json
            #expect(shown["applicantName"] as? String == "李师傅" && shown["claimYuan"] as? Double == 126000 && shown["groupCase"] as? Bool == true)
            #expect(shown["suggestedEligible"] as? Bool == true && shown["idNumberMasked"] as? String == "110105********002X")
            #expect(!(String(decoding: try JSONSerialization.data(withJSONObject: shown), as: UTF8.self)).contains("11010519491231002X"))
            // Stored sealed; revealing it is audited.
            let sealed = try #require(try await LegalCase.find(id, on: app.db)?.idCipher)
            #expect(!String(decoding: sealed, as: UTF8.self).contains("19491231"))
            let revealed = try await app.send(.POST, "/api/v1/legal-cases/\(id)/reveal", try await app.token("admin"))
            #expect(revealed.json["idNumber"] as? String == "11010519491231002X")
            #expect(try await app.auditCount("rights.case.reveal") == 1)
            #expect(try await AppealEvent.query(on: app.db).filter(\.$appealID == appealID).filter(\.$kind == "legalCase").count() == 1)
            func act(_ body: String) async throws -> TestingHTTPResponse {
                try await app.send(.POST, "/api/v1/legal-cases/\(id)/actions", street, json: body)
            }
            #expect(try await act(#"{"action":"close","outcome":"mediated"}"#).status == .conflict)
            #expect(try await act(#"{"action":"decide","eligible":false}"#).problemFields == ["reason"])
            #expect(try await act(#"{"action":"decide","eligible":true}"#).json["state"] as? String == "accepted")
            let mediating = try await act(#"{"action":"mediate"}"#)
            #expect(mediating.json["mediationDueOn"] as? String == RightsSupport.day(15), "\(mediating.body.string)")
            // Mediated needs the signed agreement uploaded first.
            let early = try await act(#"{"action":"close","outcome":"mediated","recoveredYuan":98000,"report":"双方达成调解协议，企业分两期支付"}"#)
            #expect(early.problemFields == ["outcome"], "\(early.body.string)")
            var headers = street
            headers.replaceOrAdd(name: "X-File-Name", value: "agreement.pdf")
            let upload = try await app.testing().sendRequest(.POST, "/api/v1/legal-cases/\(id)/attachments", headers: headers) { req in
                req.body = ByteBuffer(string: "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
            }
            #expect(upload.status == .created, "\(upload.body.string)")
            let closed = try await act(#"{"action":"close","outcome":"mediated","recoveredYuan":98000,"report":"双方达成调解协议，企业分两期支付"}"#)
            #expect(closed.json["state"] as? String == "closed" && closed.json["recoveredYuan"] as? Double == 98000, "\(closed.body.string)")
            let stats = try await app.send(.GET, "/api/v1/rights-stats?orgId=\(f.chaoyang.id!)", try await app.token("chaoyang")).json
            let mediation = try #require(stats["mediation"] as? [String: Any])
            #expect(mediation["received"] as? Int == 1 && mediation["mediated"] as? Int == 1 && mediation["successRate"] as? Double == 1)
            #expect(mediation["recoveredYuan"] as? Double == 98000)
            let aid = try #require(stats["legalAid"] as? [String: Any])
            #expect(aid["migrantShare"] as? Double == 1 && aid["groupCases"] as? Int == 1)
            let xlsx = try await app.send(.GET, "/api/v1/rights-stats?orgId=\(f.chaoyang.id!)&format=xlsx", try await app.token("chaoyang"))
            #expect(xlsx.status == .ok && xlsx.body.readableBytesView.starts(with: [0x50, 0x4B]))
            // Another district: 404 on the case, nothing in its statistics.
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/legal-cases/\(id)", haidian).status == .notFound)
            let other = try await app.send(.GET, "/api/v1/rights-stats", haidian).json
            #expect((other["legalAid"] as? [String: Any])?["cases"] as? Int == 0)
        }
    }

    @Test func aWalkInCaseIsJudgedByTheRuleAndItsClocksAreDue() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let street = try await app.token("jianwai")
            let bad = try await app.send(.POST, "/api/v1/legal-cases", street,
                                         json: #"{"kind":"lawsuit","applicantName":"","phone":"12","employerName":"某公司","claimYuan":-5,"knewOn":"2099-01-01"}"#)
            #expect(bad.status == .unprocessableEntity)
            #expect(Set(bad.problemFields) == ["kind", "applicantName", "phone", "claimYuan", "knewOn"], "\(bad.body.string)")
            // ¥800 at stake, not a migrant: under the ¥1,000 line.
            let small = try await app.send(.POST, "/api/v1/legal-cases", street,
                                           json: #"{"kind":"consultation","applicantName":"周女士","phone":"13911113333","employerName":"北京某餐饮有限公司","claimYuan":800,"claimType":"contract","incomePerHeadYuan":1500,"knewOn":"\#(RightsSupport.day(-350))"}"#)
            #expect(small.status == .created, "\(small.body.string)")
            let sid = try #require(small.json["id"] as? Int)
            #expect(try await app.send(.GET, "/api/v1/legal-cases/\(sid)", street).json["suggestedEligible"] as? Bool == false)
            // Its decision (5 working days) and the arbitration limit, 15 days left, are due items.
            let due = try await app.send(.GET, "/api/v1/due-items", street)
            let items = try #require((try? JSONSerialization.jsonObject(with: Data(due.body.readableBytesView))) as? [[String: Any]])
            #expect(Set(items.map { $0["clock"] as? String ?? "" }) == ["decision", "limitation"], "\(due.body.string)")
            #expect(items.first { $0["clock"] as? String == "decision" }?["rule"] as? String == "working")
            #expect(try await app.send(.GET, "/api/v1/due-items", try await app.token("haidian")).body.string == "[]")
            let page = try await app.send(.GET, "/api/v1/due-items?withinDays=x", street)
            #expect(page.status == .badRequest || page.status == .unprocessableEntity)
        }
    }
}
