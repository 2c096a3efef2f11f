import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Logging
import Testing
import VaporTesting
@testable import Gonghui

func appealJSON(channel: String = "hotline", name: String = "李师傅", phone: String = "13911112222", employer: String = "北京星河物流有限公司",
                creditCode: String? = nil, orgId: Int? = nil, category: String = "request", subject: String = "unpaidWages",
                description: String = "公司拖欠三个月工资，共 18 人", extra: String = "") -> String {
    var json = "{\"channel\":\"\(channel)\",\"name\":\"\(name)\",\"phone\":\"\(phone)\",\"employerName\":\"\(employer)\",\"category\":\"\(category)\",\"subject\":\"\(subject)\",\"description\":\"\(description)\""
    if let creditCode { json += ",\"employerCreditCode\":\"\(creditCode)\"" }
    if let orgId { json += ",\"orgId\":\(orgId)" }
    return json + extra + "}"
}

extension Application {
    func act(_ id: Int, _ auth: HTTPHeaders, _ json: String) async throws -> TestingHTTPResponse {
        try await send(.POST, "/api/v1/appeals/\(id)/actions", auth, json: json)
    }
}

@Suite struct AppealTests {
    @Test func aWorkerAppealsTheStreetSeesItAndARepeatMakesNoSecond() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!, extra: ",\"peopleAffected\":18,\"amountYuan\":126000.5"))
            #expect(created.status == .created, "\(created.body.string)")
            let number = try #require(created.json["trackingNumber"] as? String)
            #expect(TrackingNumber.parse(number) == number)
            let id = try #require(created.json["id"] as? Int)
            #expect(created.json["orgId"] as? Int == f.jianwai.id!)

            let street = try await app.token("jianwai")
            let shown = try await app.send(.GET, "/api/v1/appeals/\(id)", street)
            #expect(shown.status == .ok)
            #expect(shown.json["orgId"] as? Int == f.jianwai.id!)
            #expect(shown.json["state"] as? String == "received")
            #expect(shown.json["dueAt"] as? String != nil)
            #expect(shown.json["amountYuan"] as? Double == 126000.5)
            #expect(shown.json["peopleAffected"] as? Int == 18)
            #expect(shown.json["phone"] as? String == "13911112222")
            #expect((try await app.send(.GET, "/api/v1/appeals", street).items.first?["phone"] as? String) == "139****2222")
            #expect(try await app.send(.GET, "/api/v1/appeals/\(id)", try await app.token("haidian")).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/appeals", try await app.token("haidian")).json["total"] as? Int == 0)
            #expect(try await app.send(.GET, "/api/v1/appeals/\(id)").status == .unauthorized)

            // The same text from the same phone within ten minutes, or the same Idempotency-Key: the same appeal.
            let again = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            #expect(again.status == .ok)
            #expect(again.json["trackingNumber"] as? String == number)
            var keyed = HTTPHeaders()
            keyed.add(name: "Idempotency-Key", value: "app-7f3a")
            let first = try await app.send(.POST, "/api/v1/appeals", keyed, json: appealJSON(channel: "app", phone: "13900000001", description: "合同到期不续签"))
            let second = try await app.send(.POST, "/api/v1/appeals", keyed, json: appealJSON(channel: "app", phone: "13900000001", description: "合同到期不续签！"))
            #expect(first.status == .created && second.status == .ok)
            #expect(first.json["trackingNumber"] as? String == second.json["trackingNumber"] as? String)
            #expect(try await Appeal.query(on: app.db).count() == 2)
            let subjects = try await app.send(.GET, "/api/v1/appeal-subjects")
            #expect(subjects.items.map { $0["code"] as? String }.contains("unpaidWages"))
        }
    }

    @Test func everyBadFieldIsNamed() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let bad = try await app.send(.POST, "/api/v1/appeals", json: """
                {"channel":"fax","category":"gossip","subject":"weather","name":"","phone":"123","employerCreditCode":"XYZ","orgId":\(f.jianwaiUnion.id!),
                 "description":"","peopleAffected":0,"amountYuan":-5,"urgency":"panic"}
                """)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.headers.contentType?.description.hasPrefix("application/problem+json") == true)
            #expect(Set(bad.problemFields) == ["channel", "category", "subject", "name", "phone", "employerCreditCode", "orgId", "description", "peopleAffected", "amountYuan", "urgency"])
            #expect(Set(try await app.send(.POST, "/api/v1/appeals", json: "{}").problemFields) == ["channel", "category", "subject", "name", "phone", "description"])
            // A suggestion may come without a name; a request may not be anonymous.
            let suggestion = try await app.send(.POST, "/api/v1/appeals", json: "{\"channel\":\"web\",\"category\":\"suggestion\",\"subject\":\"other\",\"anonymous\":true,\"description\":\"建议驿站冬天供应热水\"}")
            #expect(suggestion.status == .created, "\(suggestion.body.string)")
            let anonymousRequest = try await app.send(.POST, "/api/v1/appeals", json: "{\"channel\":\"web\",\"category\":\"request\",\"subject\":\"other\",\"anonymous\":true,\"description\":\"x\"}")
            #expect(anonymousRequest.problemFields.contains("anonymous"))
            #expect(try await app.send(.POST, "/api/v1/appeals", json: "{\"amountYuan\":\"lots\"}").problemFields == ["amountYuan"])
        }
    }

    @Test func routingGoesToTheEmployersUnionThenARuleThenTheWorkplaceThenTheCity() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            // A firm in the ledger whose union is the 建外 enterprise union.
            let firm = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(77, orgId: f.jianwai.id!))
            let firmID = try #require(firm.json["id"] as? Int)
            let e = try #require(try await Enterprise.find(firmID, on: app.db))
            e.unionOrgID = f.jianwaiUnion.id
            e.unionStatus = .founded
            try await e.save(on: app.db)
            let toUnion = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13900000011", creditCode: creditCode(77), orgId: f.zhongguancun.id!))
            #expect(toUnion.json["orgId"] as? Int == f.jianwaiUnion.id!)
            let toStreet = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13900000012", orgId: f.zhongguancun.id!))
            #expect(toStreet.json["orgId"] as? Int == f.zhongguancun.id!)
            let toCity = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13900000013"))
            #expect(toCity.json["orgId"] as? Int == f.city.id!)
            let rule = AppealRoute()
            rule.subjectCode = "legalAid"
            rule.orgID = f.chaoyang.id!
            try await rule.create(on: app.db)
            let byRule = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13900000014", orgId: f.zhongguancun.id!, subject: "legalAid"))
            #expect(byRule.json["orgId"] as? Int == f.chaoyang.id!)
            let a = try #require(try await Appeal.find(toUnion.json["id"] as? Int, on: app.db))
            #expect(a.enterpriseID == firmID)
        }
    }

    @Test func theStreetWorksItTheWorkerFollowsConfirmsAndRates() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            let id = try #require(created.json["id"] as? Int)
            let number = try #require(created.json["trackingNumber"] as? String)
            let street = try await app.token("jianwai")
            #expect(try await app.act(id, street, "{\"action\":\"resolve\",\"outcome\":\"mediated\",\"text\":\"x\"}").status == .conflict)
            #expect(try await app.act(id, street, "{\"action\":\"fly\"}").problemFields == ["action"])
            #expect(try await app.act(id, street, "{\"action\":\"accept\"}").json["state"] as? String == "accepted")
            #expect(try await app.act(id, street, "{\"action\":\"note\",\"text\":\"已联系企业负责人\"}").status == .ok)
            #expect(try await app.act(id, street, "{\"action\":\"start\"}").json["state"] as? String == "inProgress")
            #expect(try await app.act(id, street, "{\"action\":\"pause\"}").problemFields == ["reason"])
            let paused = try await app.act(id, street, "{\"action\":\"pause\",\"reason\":\"请提供工资条或考勤记录\"}")
            #expect(paused.json["state"] as? String == "waiting")
            #expect(try await app.act(id, street, "{\"action\":\"start\"}").json["state"] as? String == "inProgress")
            #expect(try await app.act(id, street, "{\"action\":\"resolve\",\"text\":\"已调解\"}").problemFields == ["outcome"])
            let resolved = try await app.act(id, street, "{\"action\":\"resolve\",\"outcome\":\"mediated\",\"amountRecoveredYuan\":54000,\"text\":\"经调解，企业同意于月底前补发工资。\"}")
            #expect(resolved.json["state"] as? String == "resolved")
            #expect(resolved.json["onTime"] as? Bool == true)
            #expect(resolved.json["amountRecoveredYuan"] as? Double == 54000)
            let events = (resolved.json["events"] as? [[String: Any]] ?? []).map { $0["kind"] as? String }
            #expect(events == ["received", "accept", "note", "start", "pause", "start", "resolve"])

            // The worker: a code to the phone, the replies (not the internal note), then confirms and rates.
            #expect(try await app.send(.POST, "/api/v1/appeals/follow/code", json: "{\"trackingNumber\":\"\(TrackingNumber.display(number))\",\"phone\":\"13911112222\"}").status == .accepted)
            let code = try #require(capture.lastCode())
            let view = try await app.send(.POST, "/api/v1/appeals/follow", json: "{\"trackingNumber\":\"\(number)\",\"phone\":\"13911112222\",\"code\":\"\(code)\"}")
            #expect(view.status == .ok, "\(view.body.string)")
            let replies = (view.json["replies"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
            #expect(replies.contains("请提供工资条或考勤记录") && replies.contains("经调解，企业同意于月底前补发工资。"), "\(view.body.string)")
            #expect(!view.body.string.contains("已联系企业负责人"))
            let token = try #require(view.json["token"] as? String)
            #expect(try await app.send(.POST, "/api/v1/appeals/follow/respond", json: "{\"token\":\"\(token)\",\"accept\":true,\"rating\":9}").problemFields == ["rating"])
            #expect(try await app.send(.POST, "/api/v1/appeals/follow/respond", json: "{\"token\":\"forged.1.x\",\"accept\":true,\"rating\":5}").problemFields == ["token"])
            let done = try await app.send(.POST, "/api/v1/appeals/follow/respond", json: "{\"token\":\"\(token)\",\"accept\":true,\"rating\":5,\"comment\":\"谢谢工会\"}")
            #expect(done.json["state"] as? String == "closed")
            #expect(done.json["rating"] as? Int == 5)
            // A wrong phone learns nothing and gets no message.
            let before = capture.lines.withLockedValue { $0.filter { $0.contains("SMS (development driver)") }.count }
            try await Task.sleep(nanoseconds: 10_000_000)
            #expect(try await app.send(.POST, "/api/v1/appeals/follow/code", json: "{\"trackingNumber\":\"\(number)\",\"phone\":\"13800000000\"}").status == .accepted)
            #expect(capture.lines.withLockedValue { $0.filter { $0.contains("SMS (development driver)") }.count } == before)
            #expect(!capture.lines.withLockedValue { $0.joined() }.contains("13911112222"))

            // The statistics agree with the timeline.
            let stats = try await app.send(.GET, "/api/v1/appeal-stats?by=subject", street)
            let total = try #require(stats.json["total"] as? [String: Any])
            #expect(total["received"] as? Int == 1 && total["resolved"] as? Int == 1 && total["onTime"] as? Int == 1)
            #expect(total["satisfaction"] as? Double == 100 && total["recoveredYuan"] as? Double == 54000)
            #expect((stats.json["rows"] as? [[String: Any]])?.first?["label"] as? String == "拖欠工资")
            let byMonth = try await app.send(.GET, "/api/v1/appeal-stats?by=month&orgId=\(f.chaoyang.id!)", try await app.token("chaoyang"))
            #expect((byMonth.json["rows"] as? [[String: Any]])?.first?["key"] as? String == String(ShanghaiClock.today().description.prefix(7)))
            let byUnit = try await app.send(.GET, "/api/v1/appeal-stats?by=unit", try await app.token("chaoyang"))
            #expect((byUnit.json["rows"] as? [[String: Any]])?.first?["key"] as? String == String(f.jianwai.id!))
            #expect(try await app.send(.GET, "/api/v1/appeal-stats?by=weather", street).problemFields == ["by"])
            // The city reads the tallies kept per day, subject and district: the same figures.
            let admin = try await app.token("admin")
            let city = try await app.send(.GET, "/api/v1/appeal-stats?by=unit", admin)
            let cityTotal = try #require(city.json["total"] as? [String: Any])
            #expect(cityTotal["received"] as? Int == 1 && cityTotal["resolved"] as? Int == 1 && cityTotal["satisfied"] as? Int == 1)
            #expect(cityTotal["recoveredYuan"] as? Double == 54000)
            #expect((city.json["rows"] as? [[String: Any]])?.first?["key"] as? String == String(f.chaoyang.id!))
            #expect(((try await app.send(.GET, "/api/v1/appeal-stats?by=month", admin)).json["rows"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func anAppealLeftPastItsDeadlineClimbsToTheDistrictAndARejectionReopensIt() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            let id = try #require(created.json["id"] as? Int)
            let a = try #require(try await Appeal.find(id, on: app.db))
            // Received on Wednesday 30 September 2026: five working days, National Day skipped, fall due at the end of Tuesday 13 October.
            let received = Date(timeIntervalSince1970: Double(try CalendarDate(parsing: "2026-09-30").dayNumber) * 86_400 + 2 * 3600)
            a.receivedAt = received
            a.dueAt = try await AppealService.deadline(from: received, tier: .general, on: app.db)
            try await a.save(on: app.db)
            #expect(ShanghaiClock.today(a.dueAt.addingTimeInterval(-1)).description == "2026-10-13")
            // On the 13th nothing happens; on the 14th it is overdue and climbs to 朝阳.
            try await AppealService.sweep(on: app.db, now: a.dueAt.addingTimeInterval(-60), throttle: false)
            #expect(try await Appeal.find(id, on: app.db)?.supervisorOrgID == nil)
            try await AppealService.sweep(on: app.db, now: a.dueAt.addingTimeInterval(60), throttle: false)
            #expect(try await Appeal.find(id, on: app.db)?.supervisorOrgID == f.chaoyang.id!)
            let district = try await app.token("chaoyang")
            let supervised = try await app.send(.GET, "/api/v1/appeals?supervised=true&overdue=true", district)
            #expect(supervised.items.map { $0["id"] as? Int } == [id])
            #expect(supervised.items.first?["overdue"] as? Bool == true)
            #expect(try await app.send(.GET, "/api/v1/appeals?supervised=true", try await app.token("jianwai")).json["total"] as? Int == 0)
            // Rerouting needs a reason and a unit inside the caller's subtree.
            #expect(Set(try await app.act(id, district, "{\"action\":\"reroute\"}").problemFields) == ["reason", "orgId"])
            #expect(try await app.act(id, district, "{\"action\":\"reroute\",\"reason\":\"x\",\"orgId\":\(f.zhongguancun.id!)}").problemFields == ["orgId"])
            // Passed by the city to 海淀 and back: the city's tallies follow it.
            let admin = try await app.token("admin")
            _ = try await app.act(id, admin, "{\"action\":\"reroute\",\"reason\":\"工作地在海淀\",\"orgId\":\(f.zhongguancun.id!)}")
            #expect((try await app.send(.GET, "/api/v1/appeal-stats?by=unit", admin).json["rows"] as? [[String: Any]])?.first?["key"] as? String == String(f.haidian.id!))
            _ = try await app.act(id, admin, "{\"action\":\"reroute\",\"reason\":\"核实后在朝阳\",\"orgId\":\(f.jianwai.id!)}")
            #expect((try await app.send(.GET, "/api/v1/appeal-stats?by=unit", admin).json["rows"] as? [[String: Any]])?.first?["key"] as? String == String(f.chaoyang.id!))
            let moved = try await app.act(id, district, "{\"action\":\"reroute\",\"reason\":\"属企业工会办理\",\"orgId\":\(f.jianwaiUnion.id!)}")
            #expect(moved.json["orgId"] as? Int == f.jianwaiUnion.id! && moved.json["state"] as? String == "received")
            #expect(moved.json["supervisorOrgId"] == nil || moved.json["supervisorOrgId"] is NSNull)
            let union = try await app.token("jwunion")
            let back = try await app.act(id, union, "{\"action\":\"sendBack\",\"reason\":\"非本单位职工\"}")
            #expect(back.json["orgId"] as? Int == f.jianwai.id!)
            // Resolved, then rejected by the worker: reopened with a new deadline; counted once resolved again.
            let street = try await app.token("jianwai")
            _ = try await app.act(id, street, "{\"action\":\"accept\"}")
            _ = try await app.act(id, street, "{\"action\":\"resolve\",\"outcome\":\"adviceGiven\",\"text\":\"已告知申请劳动仲裁的途径\"}")
            let appeal = try #require(try await Appeal.find(id, on: app.db))
            let reopened = try await AppealService(request: Request(application: app, on: app.eventLoopGroup.next())).respond(appeal, accept: false, rating: 2, comment: "没有解决")
            #expect(reopened.state == .reopened && reopened.reopenCount == 1 && reopened.resolvedAt == nil)
            #expect(try await app.act(id, street, "{\"action\":\"start\"}").json["state"] as? String == "inProgress")
        }
    }

    @Test func theCityKeepsTheTiersAndTheRoutingRules() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let district = try await app.token("chaoyang")
            #expect(try await app.send(.PUT, "/api/v1/appeal-settings/tiers/general", district, json: "{\"workingDays\":3}").status == .forbidden)
            #expect(try await app.send(.PUT, "/api/v1/appeal-settings/tiers/general", admin, json: "{\"workingDays\":0}").problemFields == ["workingDays"])
            #expect(try await app.send(.PUT, "/api/v1/appeal-settings/tiers/urgent", admin, json: "{\"workingDays\":3}").problemFields == ["tier"])
            let set = try await app.send(.PUT, "/api/v1/appeal-settings/tiers/difficult", admin, json: "{\"workingDays\":3}")
            #expect((set.json["tiers"] as? [String: Int])?["difficult"] == 3) // safety is a difficult subject
            let routed = try await app.send(.POST, "/api/v1/appeal-settings/routes", admin, json: "{\"subject\":\"safety\",\"orgId\":\(f.chaoyang.id!)}")
            #expect((routed.json["routes"] as? [[String: Any]])?.first?["orgId"] as? Int == f.chaoyang.id!)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.zhongguancun.id!, subject: "safety"))
            #expect(created.json["orgId"] as? Int == f.chaoyang.id!)
            // Three working days from today, weekends and holidays skipped.
            let calendar = try await AppealService.calendar(on: app.db)
            let expected = calendar.deadline(afterEpoch: Date().timeIntervalSince1970, workingDays: 3)
            let due = try #require((try await Appeal.find(created.json["id"] as? Int, on: app.db))?.dueAt)
            #expect(abs(due.timeIntervalSince1970 - expected) < 1)
            let routeID = try #require((routed.json["routes"] as? [[String: Any]])?.first?["id"] as? Int)
            #expect(try await app.send(.DELETE, "/api/v1/appeal-settings/routes/\(routeID)", admin).status == .noContent)
            let after = try await app.send(.GET, "/api/v1/appeal-settings", district)
            #expect((after.json["routes"] as? [Any])?.isEmpty == true)
        }
    }
}
