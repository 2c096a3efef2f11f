import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The archive in the console: a street files by the member's card number, sees the working and
/// the masked ID numbers, takes the steps; bad input shows beside its field; another district sees nothing.
@Suite struct HouseholdPageTests {
    @Test func aStreetFilesFromTheFormAndWorksTheFileFromItsPage() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await HouseholdTests.setDibao(app, f.chaoyang, fen: 124_500)
            let member = try await MemberScopeAndPrivacyTests.member(app, seq: 731, union: f.jianwaiUnion, staff: "jianwai")
            let street = try await ConsoleSession.signIn(app, "jianwai")
            #expect(try await street.get("/console/assistance/new").status == .ok)
            // Bad input: the form comes back with each message beside its field.
            let bad = try await street.post("/console/assistance/new", ["memberKey": member.card, "category": "deep", "householdSize": "0",
                                                                        "annualIncomeYuan": "1.234", "m0_name": "王小明", "m0_idNumber": "123"])
            #expect(bad.status == .unprocessableEntity)
            let html = bad.body.string
            for label in ["家庭人口", "家庭近 12 个月收入", "家庭成员 1 身份证号", "家庭成员 1 关系", "致困原因"] { #expect(html.contains(label), "\(label)") }
            let made = try await street.post("/console/assistance/new", [
                "memberKey": member.card, "category": "deep", "causes_illness": "1", "householdSize": "3", "annualIncomeYuan": "30000",
                "medicalYuan": "6000", "m0_name": "王小明", "m0_relation": "child", "m0_idNumber": residentID(9301, born: "20100101"), "m0_schoolGrade": "seniorHigh"])
            #expect(made.status == .seeOther, "\(made.body.string.prefix(600))")
            let location = try #require(made.headers.first(name: .location))
            let page = try await street.get(location).body.string
            #expect(page.contains("666.66") && page.contains("1,245.00"))
            #expect(page.contains("王小明") && !page.contains(residentID(9301, born: "20100101")))
            #expect(page.contains("提交申请"))
            // The first step from the page.
            let submitted = try await street.post(location, ["action": "submit"])
            #expect(submitted.status == .seeOther)
            #expect(try await street.get(location).body.string.contains("已申请"))
            // The list shows it to the street and the district, not to another district.
            #expect(try await street.get("/console/assistance").body.string.contains("王小红"))
            let haidian = try await ConsoleSession.signIn(app, "haidian")
            #expect(!(try await haidian.get("/console/assistance").body.string.contains("王小红")))
            #expect(try await haidian.get(location).status == .notFound)
            // A proof from the page: a PDF is kept, a text file is refused naming why.
            let pdf = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
            #expect(try await street.upload(location + "/files", [:], fileName: "visit.txt", contents: "hello").status == .unprocessableEntity)
            #expect(try await street.upload(location + "/files", [:], fileName: "visit.pdf", contents: pdf).status == .seeOther)
            #expect(try await street.get(location).body.string.contains("visit.pdf"))
            let export = try await street.get("/console/assistance/export?format=csv")
            #expect(export.status == .ok && export.body.string.contains("王小红"))
        }
    }
}

/// The public notice pages: a neighbour objects from a phone without an account; the filer
/// answers from the file's page.
@Suite struct NoticePageTests {
    @Test func aNeighbourObjectsOnThePublicPageAndTheFilerAnswersInTheConsole() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let member = try await MemberScopeAndPrivacyTests.member(app, seq: 741, union: f.jianwaiUnion, staff: "jianwai")
            let jianwai = try await app.token("jianwai")
            let id = try #require(try await app.send(.POST, "/api/v1/hardship-households", jianwai, json: HouseholdTests.fileJSON(memberId: member.id)).json["id"] as? Int)
            let today = ShanghaiClock.today().description
            for body in ["{\"action\":\"submit\"}", "{\"action\":\"visit\",\"visitDate\":\"\(today)\",\"visitors\":\"李华\",\"note\":\"属实\"}", "{\"action\":\"notice\"}"] {
                #expect(try await app.send(.POST, "/api/v1/hardship-households/\(id)/actions", jianwai, json: body).status == .ok)
            }
            let h = try #require(try await HardshipHousehold.find(id, on: app.db))
            let noticeID = try #require(h.noticeID)
            let list = try await app.testing().sendRequest(.GET, "/notices", headers: ["Accept": "text/html"]).body.string
            #expect(list.contains("/notices/\(noticeID)"))
            // The page: the masked name, no ID number, no full name.
            let first = try await app.testing().sendRequest(.GET, "/notices/\(noticeID)", headers: ["Accept": "text/html"])
            let visitor = ConsoleSession(app: app, cookie: try #require(ConsoleSession.cookie(from: first)),
                                         csrf: try #require(ConsoleSession.csrf(in: first.body.string)))
            let page = try await visitor.get("/notices/\(noticeID)").body.string
            #expect(page.contains("王*") && !page.contains("王小红") && !page.contains(member.idNumber))
            let entry = try #require(try await PublicNoticeEntry.query(on: app.db).filter(\.$noticeID == noticeID).first())
            let bad = try await visitor.post("/notices/\(noticeID)", ["entryId": String(entry.id!), "phone": "12"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("field-error"))
            let sent = try await visitor.post("/notices/\(noticeID)", ["entryId": String(entry.id!), "name": "张邻居", "phone": "13911112222", "text": "他家有车"])
            #expect(sent.status == .seeOther)
            #expect(try await PublicNoticeEntry.find(entry.id, on: app.db)?.held == true)
            // The street answers from the file's page; the entry is free again.
            let street = try await ConsoleSession.signIn(app, "jianwai")
            let filePage = try await street.get("/console/assistance/\(id)").body.string
            #expect(filePage.contains("他家有车") && filePage.contains("139****2222") && !filePage.contains("13911112222"))
            // The objection's state in words (the template once printed the raw key).
            #expect(filePage.contains("待答复") && !filePage.contains("assistance.objection."))
            let objection = try #require(try await PublicNoticeObjection.query(on: app.db).first())
            let answered = try await street.post("/console/assistance/\(id)/answer", ["objectionId": String(objection.id!), "answer": "车辆为残疾代步车"])
            #expect(answered.status == .seeOther)
            #expect(try await PublicNoticeEntry.find(entry.id, on: app.db)?.held == false)
        }
    }
}
