import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct DevelopmentPageTests {
    /// The city makes a campaign from the console with its quota rules; a union nominates by card
    /// number and sees every refusal beside its field; the steps run from the page, an award held by
    /// an objection is refused on the page (409, the reason shown); the overview, its export and the
    /// public roll work; another district cannot open the campaign's nominations.
    @Test func aCampaignRunsFromTheConsolePages() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 601, union: f.jianwaiUnion, staff: "jwunion", phone: "13900139601", name: "陈师傅")
            let city = try await ConsoleSession.signIn(app, "admin")
            #expect(try await city.get("/console/development/campaigns/new").body.string.contains("首都劳动奖章"))
            let bad = try await city.post("/console/development/campaigns", ["honour": "capitalMedal", "title": "2026年首都劳动奖章", "year": "二〇二六", "quota": "5",
                                                                              "min[frontLine]": "abc"])
            #expect(bad.status == .unprocessableEntity && bad.body.string.contains("field-error"))
            let made = try await city.post("/console/development/campaigns", ["honour": "capitalMedal", "title": "2026年首都劳动奖章", "year": "2026", "quota": "5",
                                                                               "noticeDays": "5", "noticeDayRule": "calendar", "min[frontLine]": "45", "max[managerial]": "8"])
            #expect(made.status == .seeOther, "\(made.body.string)")
            let id = try #require(try await HonourCampaign.query(on: app.db).first()?.id)
            let union = try await ConsoleSession.signIn(app, "jwunion")
            let page = try await union.get("/console/development/campaigns/\(id)").body.string
            #expect(page.contains("不少于 45.0%") && page.contains("不超过 8.0%") && page.contains("评选不能结束"))
            let unknown = try await union.post("/console/development/campaigns/\(id)/nominations", ["cardNumber": "0000", "category": "frontLine", "citation": "x"])
            #expect(unknown.status == .unprocessableEntity && unknown.body.string.contains("找不到该会员"))
            let nominated = try await union.post("/console/development/campaigns/\(id)/nominations",
                                                 ["cardNumber": m.card, "category": "frontLine", "citation": "三十年如一日守护电网", "credit": "1", "tax": "1"])
            #expect(nominated.status == .seeOther, "\(nominated.body.string)")
            let nid = try #require(try await HonourNomination.query(on: app.db).first()?.id)
            #expect(try await union.get("/console/development/campaigns/\(id)").body.string.contains("名额结构要求全部达标"))
            for _ in 0..<1 { #expect(try await city.post("/console/development/nominations/\(nid)/actions", ["action": "review"]).status == .seeOther) }
            #expect(try await city.post("/console/development/campaigns/\(id)/notice", [:]).status == .seeOther)
            let inNotice = try await city.get("/console/development/campaigns/\(id)").body.string
            #expect(inNotice.contains("公示中") && inNotice.contains("登记异议"))
            let objected = try await union.post("/console/development/nominations/\(nid)/actions", ["action": "object", "name": "刘明", "phone": "13700137000", "reason": "有异议"])
            #expect(objected.status == .seeOther, "\(objected.body.string)")
            let held = try await city.post("/console/development/nominations/\(nid)/actions", ["action": "award"])
            #expect(held.status == .conflict && held.body.string.contains("陈师傅有未答复的异议"))
            // 海淀's staff cannot act on it
            let haidian = try await ConsoleSession.signIn(app, "haidian")
            #expect(try await haidian.post("/console/development/nominations/\(nid)/actions", ["action": "answer", "reason": "x"]).status == .notFound)
            let overview = try await city.get("/console/development")
            #expect(overview.status == .ok && overview.body.string.contains("<svg") && overview.body.string.contains("2026年首都劳动奖章"))
            let xlsx = try await city.get("/console/development?format=xlsx")
            #expect(xlsx.status == .ok && xlsx.body.readableBytesView.starts(with: [0x50, 0x4B]))
            let roll = try await app.send(.GET, "/honours")
            #expect(roll.status == .ok && roll.body.string.contains("劳动荣誉榜"))
        }
    }

    /// A studio and a contest from their forms; a member registers from the phone page and sees it.
    @Test func aStudioAndAContestFromTheirFormsAndAMemberRegistersFromThePhone() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 611, union: f.jianwaiUnion, staff: "jwunion", phone: "13900139611", name: "郭焊工")
            let district = try await ConsoleSession.signIn(app, "chaoyang")
            let noLeader = try await district.post("/console/development/studios", ["name": "郭焊工创新工作室", "level": "district", "field": "焊接", "grantKind": "district"])
            #expect(noLeader.status == .unprocessableEntity && noLeader.body.string.contains("找不到该会员"))
            let studio = try await district.post("/console/development/studios", ["name": "郭焊工创新工作室", "level": "district", "cardNumber": m.card, "field": "焊接", "grantKind": "district"])
            #expect(studio.status == .seeOther, "\(studio.body.string)")
            let sid = try #require(try await Studio.query(on: app.db).first()?.id)
            #expect(try await district.post("/console/development/studios/\(sid)/actions", ["action": "review"]).status == .seeOther)
            let studioPage = try await district.get("/console/development/studios/\(sid)").body.string
            #expect(studioPage.contains("已审核") && studioPage.contains("实地考察通过"))
            let past = try await district.post("/console/development/contests", ["trade": "焊工", "level": "district", "capacity": "50", "registrationClosesAt": "2020-01-01"])
            #expect(past.status == .unprocessableEntity && past.body.string.contains("不能早于现在"))
            let closes = ShanghaiClock.today().adding(days: 20).description
            let contest = try await district.post("/console/development/contests", ["trade": "焊工", "level": "district", "capacity": "50", "registrationClosesAt": closes, "goldYuan": "3000"])
            #expect(contest.status == .seeOther, "\(contest.body.string)")
            let cid = try #require(try await Contest.query(on: app.db).first()?.id)
            var (phone, _) = try await MemberPageTests.visitor(app, "/member")
            #expect(try await phone.get("/member/contests").body.string.contains("请先登录"))
            _ = try await phone.post("/member/code", ["phone": "13900139611"])
            let signedIn = try await phone.post("/member/login", ["phone": "13900139611", "code": try #require(capture.lastCode())])
            phone.cookie = try #require(ConsoleSession.cookie(from: signedIn))
            let list = try await phone.get("/member/contests").body.string
            #expect(list.contains("焊工职业技能竞赛") && list.contains("我要报名"), "\(list)")
            phone.csrf = try #require(ConsoleSession.csrf(in: list))
            #expect(try await phone.post("/member/contests/\(cid)", [:]).status == .seeOther)
            #expect(try await phone.get("/member/contests?done=1").body.string.contains("已报名"))
            let again = try await phone.post("/member/contests/\(cid)", [:])
            #expect(again.status == .conflict && again.body.string.contains("您已报名本竞赛"))
            let contestPage = try await district.get("/console/development/contests/\(cid)").body.string
            #expect(contestPage.contains("郭焊工") && contestPage.contains("已报名 1 / 50 人"))
        }
    }
}
