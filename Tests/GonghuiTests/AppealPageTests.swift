import Fluent
import Foundation
import GonghuiCore
import Logging
import Testing
import VaporTesting
@testable import Gonghui

/// A call recorded by the hotline in the console, worked by the street, followed by the worker on a phone.
@Suite struct AppealPageTests {
    @Test func aHotlineCallIsRecordedWorkedAndFollowedOnAPhone() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            // An earlier open appeal of the same worker about the same employer.
            _ = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13911112222", employer: "北京星河物流有限公司", orgId: f.jianwai.id!))
            let agent = try await ConsoleSession.signIn(app, "hotline")
            let looked = try await agent.post("/console/appeals/new", ["phone": "13911112222", "employerName": "北京星河物流有限公司", "lookup": "1"])
            #expect(looked.status == .ok)
            #expect(looked.body.string.contains("该职工对同一单位已有未办结的诉求"))
            let bad = try await agent.post("/console/appeals/new", ["phone": "139", "category": "request", "subject": "unpaidWages", "description": ""])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("请填写诉求内容"))
            let made = try await agent.post("/console/appeals/new", ["phone": "13933334444", "name": "赵师傅", "category": "request", "subject": "dismissal",
                                                                      "employerName": "北京蓝天快递有限公司", "orgId": "\(f.jianwai.id!)", "description": "被无故辞退，不给补偿",
                                                                      "channel": "hotline", "_key": "call-1"])
            #expect(made.status == .seeOther, "\(made.body.string)")
            let location = try #require(made.headers.first(name: .location))
            let id = try #require(Int(location.split(separator: "/").last!.split(separator: "?").first!))
            let recorded = try await agent.get(location)
            #expect(recorded.body.string.contains("请把受理编号告诉来电人"))
            let a = try #require(try await Appeal.find(id, on: app.db))
            #expect(a.orgID == f.jianwai.id! && a.channel == .hotline)

            // The street sees it in its queue, accepts and resolves it with a reply.
            let street = try await ConsoleSession.signIn(app, "jianwai")
            #expect(try await street.get("/console/appeals").body.string.contains(TrackingNumber.display(a.trackingNumber)))
            #expect(try await street.post("/console/appeals/\(id)", ["action": "accept"]).status == .seeOther)
            let missing = try await street.post("/console/appeals/\(id)", ["action": "resolve"])
            #expect(missing.status == .unprocessableEntity)
            #expect(missing.body.string.contains("请填写办理结果"))
            #expect(try await street.post("/console/appeals/\(id)", ["action": "resolve", "outcome": "mediated", "text": "经调解，企业支付经济补偿。"]).status == .seeOther)
            let detail = try await street.get("/console/appeals/\(id)")
            #expect(detail.body.string.contains("经调解，企业支付经济补偿。") && detail.body.string.contains("已办结"))
            #expect(try await (try await ConsoleSession.signIn(app, "haidian")).get("/console/appeals/\(id)").status == .notFound)

            // The worker on a phone: number and phone, the code, the answer, then satisfied with five stars.
            let page = try await app.testing().sendRequest(.GET, "/appeal/follow", headers: ["Accept": "text/html"])
            var worker = ConsoleSession(app: app, cookie: try #require(ConsoleSession.cookie(from: page)), csrf: try #require(ConsoleSession.csrf(in: page.body.string)))
            worker.cookie = worker.cookie
            let asked = try await worker.post("/appeal/follow/code", ["trackingNumber": TrackingNumber.display(a.trackingNumber), "phone": "13933334444"])
            #expect(asked.body.string.contains("name=\"code\""))
            let code = try #require(capture.lastCode())
            let view = try await worker.post("/appeal/follow", ["trackingNumber": a.trackingNumber, "phone": "13933334444", "code": code])
            #expect(view.body.string.contains("经调解，企业支付经济补偿。") && view.body.string.contains("满意，结案"))
            let token = try #require(view.body.string.range(of: "name=\"token\" value=\"").map { String(view.body.string[$0.upperBound...].prefix { $0 != "\"" }) })
            let rated = try await worker.post("/appeal/follow/respond", ["token": token, "accept": "true", "rating": "5", "comment": "谢谢"])
            #expect(rated.body.string.contains("谢谢您的评价"))
            #expect(try await Appeal.find(id, on: app.db)?.state == .closed)
            let stats = try await street.get("/console/appeal-stats?by=subject")
            #expect(stats.body.string.contains("解除劳动关系") && stats.body.string.contains("100.0%"))
            #expect(try await street.get("/console/appeal-stats?format=csv").body.string.contains("合计"))
            #expect(try await street.get("/console/appeals/export?format=csv").body.string.contains(TrackingNumber.display(a.trackingNumber)))
        }
    }

    @Test func aWorkerAppealsFromThePhonePageAndTheCityKeepsTheCalendar() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let page = try await app.testing().sendRequest(.GET, "/appeal", headers: ["Accept": "text/html"])
            #expect(page.body.string.contains("职工诉求 12351"))
            let worker = ConsoleSession(app: app, cookie: try #require(ConsoleSession.cookie(from: page)), csrf: try #require(ConsoleSession.csrf(in: page.body.string)))
            let bad = try await worker.post("/appeal", ["category": "request", "subject": "unpaidWages", "name": "王师傅", "phone": "abc", "description": "欠薪"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("value=\"王师傅\""))
            let done = try await worker.post("/appeal", ["category": "request", "subject": "unpaidWages", "name": "王师傅", "phone": "13955556666",
                                                           "description": "欠薪三个月", "orgId": "\(f.zhongguancun.id!)", "_key": "form-1"])
            #expect(done.status == .created)
            #expect(done.body.string.contains("您的受理编号") && done.body.string.contains("中关村街道总工会"))
            // Pressing send twice makes one appeal.
            _ = try await worker.post("/appeal", ["category": "request", "subject": "unpaidWages", "name": "王师傅", "phone": "13955556666",
                                                  "description": "欠薪三个月", "orgId": "\(f.zhongguancun.id!)", "_key": "form-1"])
            #expect(try await Appeal.query(on: app.db).count() == 1)

            let admin = try await ConsoleSession.signIn(app, "admin")
            #expect(try await admin.get("/console/calendar").body.string.contains("国庆节"))
            let weekend = try await admin.post("/console/calendar", ["day": "2027-01-02", "kind": "holiday", "name": "元旦"])
            #expect(weekend.status == .unprocessableEntity && weekend.body.string.contains("周末本来就不上班"))
            #expect(try await admin.post("/console/calendar", ["day": "2027-01-01", "kind": "holiday", "name": "元旦"]).status == .seeOther)
            #expect(try await CalendarDay.find("2027-01-01", on: app.db)?.kind == "holiday")
            let street = try await ConsoleSession.signIn(app, "jianwai")
            #expect(try await street.post("/console/calendar", ["day": "2027-01-04", "kind": "holiday", "name": "x"]).status == .forbidden)
        }
    }
}
