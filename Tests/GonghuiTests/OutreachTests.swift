import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// A valid unified social credit code with the given serial (private enterprise, Chaoyang).
func creditCode(_ serial: Int) -> String {
    let prefix = "91110105" + String(format: "%09d", serial % 1_000_000_000)
    return prefix + String(CreditCode.checkCharacter(for: prefix)!)
}

func enterpriseJSON(_ serial: Int, name: String = "北京星河物流有限公司", orgId: Int, headcount: Int = 120,
                    unionStatus: String = "none", extra: String = "") -> String {
    "{\"creditCode\":\"\(creditCode(serial))\",\"name\":\"\(name)\",\"orgId\":\(orgId),\"headcount\":\(headcount),\"unionStatus\":\"\(unionStatus)\"\(extra)}"
}

@Suite struct EnterpriseLedgerTests {
    @Test func aStreetAddsAFirmAndADuplicateCreditCodeIsRefused() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let created = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(1, orgId: f.jianwai.id!,
                extra: ",\"type\":\"foreignInvested\",\"industry\":\"g\",\"influence\":\"key\",\"relations\":\"atRisk\",\"lat\":39.9087,\"lng\":116.4497,\"contactPhone\":\"010-65123456\""))
            #expect(created.status == .created, "\(created.body.string)")
            let json = created.json
            #expect(json["creditCode"] as? String == creditCode(1))
            #expect(json["orgId"] as? Int == f.jianwai.id!)
            #expect(json["headcount"] as? Int == 120)
            #expect(json["size"] as? String == "small")
            #expect(json["industry"] as? String == "G")
            #expect(json["unionStatus"] as? String == "none")
            #expect(json["stale"] as? Bool == true)
            let id = try #require(json["id"] as? Int)

            let again = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(1, name: "另一家", orgId: f.jianwai.id!))
            #expect(again.status == .conflict)
            #expect(again.problemFields == ["creditCode"])
            // The other district cannot file the same firm again either, and learns nothing else about it.
            let haidian = try await app.token("haidian")
            let elsewhere = try await app.send(.POST, "/api/v1/enterprises", haidian, json: enterpriseJSON(1, orgId: f.zhongguancun.id!))
            #expect(elsewhere.status == .conflict)
            #expect(!elsewhere.body.string.contains("星河"))

            // Scope: the other district neither sees it nor files into Jianwai.
            #expect(try await app.send(.GET, "/api/v1/enterprises/\(id)", haidian).status == .notFound)
            #expect(try await app.send(.PATCH, "/api/v1/enterprises/\(id)", haidian, json: "{\"headcount\":5}").status == .notFound)
            let list = try await app.send(.GET, "/api/v1/enterprises", haidian)
            #expect(list.json["total"] as? Int == 0)
            let intoOther = try await app.send(.POST, "/api/v1/enterprises", haidian, json: enterpriseJSON(2, orgId: f.jianwai.id!))
            #expect(intoOther.status == .unprocessableEntity)
            #expect(intoOther.problemFields == ["orgId"])
            #expect(try await app.send(.GET, "/api/v1/enterprises/\(id)", try await app.token("chaoyang")).status == .ok)
            #expect(try await app.auditCount("enterprise.create") == 1)
        }
    }

    @Test func everyBadFieldIsNamed() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let bad = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: """
                {"creditCode":"123","name":"","orgId":\(f.jianwaiUnion.id!),"headcount":-3,"unionStatus":"maybe","type":"x","industry":"Z","lat":95,"lng":116,"contactPhone":"abc","nextStepOn":"2026-13-01"}
                """)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.headers.contentType?.description.hasPrefix("application/problem+json") == true)
            #expect(Set(bad.problemFields) == ["creditCode", "name", "orgId", "headcount", "unionStatus", "type", "industry", "lat", "contactPhone", "nextStepOn"])
            let empty = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: "{}")
            #expect(Set(empty.problemFields) == ["creditCode", "name", "orgId", "headcount"])
            let notJSON = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: "{\"headcount\":\"many\"}")
            #expect(notJSON.status == .badRequest || notJSON.status == .unprocessableEntity)
            // Union staff do not keep the ledger.
            let union = try await app.token("jwunion")
            #expect(try await app.send(.POST, "/api/v1/enterprises", union, json: enterpriseJSON(3, orgId: f.jianwai.id!)).status == .forbidden)
            let badFilter = try await app.send(.GET, "/api/v1/enterprises?unionStatus=nope&stale=maybe", jianwai)
            #expect(Set(badFilter.problemFields) == ["unionStatus", "stale"])
        }
    }

    @Test func contactsFillTheTimelineAndStaleEntriesAreFlagged() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let a = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(11, name: "甲公司", orgId: f.jianwai.id!)).json["id"] as! Int
            let b = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(12, name: "乙公司", orgId: f.jianwai.id!)).json["id"] as! Int
            let visit = try await app.send(.POST, "/api/v1/enterprises/\(a)/contacts", jianwai, json: "{\"kind\":\"visit\",\"note\":\"与人事经理面谈，介绍建会流程\"}")
            #expect(visit.status == .created, "\(visit.body.string)")
            #expect(visit.json["unionStatus"] as? String == "contacted")
            #expect(visit.json["stale"] as? Bool == false)
            let kinds = (visit.json["contacts"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds.contains("visit") && kinds.contains("status") && kinds.contains("created"))
            // An old visit (100 days ago) leaves the other firm stale.
            let old = Date().addingTimeInterval(-100 * 86_400)
            let iso = ISO8601DateFormatter().string(from: old)
            #expect(try await app.send(.POST, "/api/v1/enterprises/\(b)/contacts", jianwai, json: "{\"kind\":\"phone\",\"note\":\"电话\",\"at\":\"\(iso)\"}").status == .created)
            let stale = try await app.send(.GET, "/api/v1/enterprises?stale=true", jianwai)
            #expect((stale.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [b])
            let fresh = try await app.send(.GET, "/api/v1/enterprises?stale=false", jianwai)
            #expect((fresh.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [a])
            // The plan: next step, date, owner.
            let staffID = try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first()!.id!
            let plan = try await app.send(.PATCH, "/api/v1/enterprises/\(a)", jianwai,
                                          json: "{\"nextStep\":\"召开职工大会\",\"nextStepOn\":\"2026-12-01\",\"ownerStaffId\":\(staffID)}")
            #expect(plan.status == .ok)
            #expect(plan.json["nextStep"] as? String == "召开职工大会")
            let planned = try await app.send(.GET, "/api/v1/enterprises?owner=\(staffID)", jianwai)
            #expect(planned.json["total"] as? Int == 1)
            let byName = try await app.send(.GET, "/api/v1/enterprises?q=%E4%B9%99", jianwai)
            #expect(byName.json["total"] as? Int == 1)
            let byCode = try await app.send(.GET, "/api/v1/enterprises?q=\(creditCode(11))", jianwai)
            #expect((byCode.json["items"] as? [[String: Any]])?.first?["id"] as? Int == a)
            #expect(try await app.send(.POST, "/api/v1/enterprises/\(a)/contacts", jianwai, json: "{\"kind\":\"founded\",\"note\":\"x\"}").problemFields == ["kind"])
        }
    }
}

@Suite struct MeetingTests {
    /// The "done when": a street plans its weekly meeting, runs the booth, logs a visit that
    /// ends in an intent and later a founded union; the district sees it all and the rate moves.
    @Test func aStreetsWeekFromBoothToFoundedUnionShowsInTheDistrictsFigures() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let chaoyang = try await app.token("chaoyang")
            let firm = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(21, name: "北京蓝天快递有限公司", orgId: f.jianwai.id!, headcount: 80)).json["id"] as! Int
            _ = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(22, name: "北京老字号餐饮有限公司", orgId: f.jianwai.id!, unionStatus: "founded"))
            let before = try await app.send(.GET, "/api/v1/enterprises/coverage?orgId=\(f.chaoyang.id!)", chaoyang)
            #expect(before.json["total"] as? Int == 2)
            #expect(before.json["covered"] as? Int == 1)
            #expect(before.json["rate"] as? Double == 50)

            // The weekly workers' meeting.
            let today = ShanghaiClock.today().description
            let meeting = try await app.send(.POST, "/api/v1/meetings", jianwai, json: """
                {"kind":"worker","orgId":\(f.jianwai.id!),"startsAt":"\(today)T14:00:00+08:00","place":"建外SOHO东区广场","staffPresent":["李娜","王强"]}
                """)
            #expect(meeting.status == .created, "\(meeting.body.string)")
            #expect(meeting.json["series"] as? String == "weekly")
            #expect(meeting.json["heldOn"] as? String == today)
            let meetingID = try #require(meeting.json["id"] as? Int)
            #expect(meeting.json["joinPath"] as? String == "/join?org=\(f.jianwai.id!)&meeting=\(meetingID)")

            // Two workers apply through the booth's link; the applications sit with the street.
            for (n, phone) in [(31, "13800138031"), (32, "13800138032")] {
                let applied = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(n), phone: phone, extra: ",\"meetingId\":\(meetingID)"))
                #expect(applied.status == .created, "\(applied.body.string)")
            }
            let unknown = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(33), phone: "13800138033", extra: ",\"meetingId\":999999"))
            #expect(unknown.problemFields == ["meetingId"])
            let queue = try await app.send(.GET, "/api/v1/member-applications?meetingId=\(meetingID)", jianwai)
            let items = queue.json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0["orgId"] as? Int == f.jianwai.id! && $0["meetingId"] as? Int == meetingID })
            // The meeting's booth screen shows them as they arrive.
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let booth = try await staff.get("/console/booth/feed?org=\(f.jianwai.id!)&meeting=\(meetingID)&after=0", headers: ["Accept": "application/json"])
            #expect((booth.json["items"] as? [[String: Any]])?.count == 2)
            let otherBooth = try await staff.get("/console/booth/feed?org=\(f.jianwai.id!)&meeting=\(meetingID + 1000)&after=0", headers: ["Accept": "application/json"])
            #expect((otherBooth.json["items"] as? [[String: Any]])?.count == 0)
            let first = items.first!["id"] as! Int
            #expect(try await app.send(.POST, "/api/v1/member-applications/\(first)/approve", jianwai, json: "{\"orgId\":\(f.jianwaiUnion.id!)}").status == .ok)
            _ = try await app.send(.PATCH, "/api/v1/meetings/\(meetingID)", jianwai, json: "{\"consultations\":17,\"recordsCollected\":5}")
            let stats = try await app.send(.GET, "/api/v1/meetings/\(meetingID)/stats", jianwai)
            #expect(stats.status == .ok)
            #expect(stats.json["applications"] as? Int == 2)
            #expect(stats.json["approved"] as? Int == 1)
            #expect(stats.json["pending"] as? Int == 1)
            #expect(stats.json["consultations"] as? Int == 17)
            #expect(stats.json["recordsCollected"] as? Int == 5)
            #expect(stats.json["staffPresent"] as? Int == 2)

            // The enterprise meeting: a visit that ends in an intent, with services offered and a follow-up.
            let services = try await app.send(.GET, "/api/v1/service-items", jianwai).body.string
            let serviceIDs = ((try JSONSerialization.jsonObject(with: Data(services.utf8))) as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            #expect(serviceIDs.count >= 5)
            let visitMeeting = try await app.send(.POST, "/api/v1/meetings", jianwai, json: """
                {"kind":"enterprise","orgId":\(f.jianwai.id!),"startsAt":"\(today)T10:00","place":"蓝天快递朝阳分拨中心","enterpriseIds":[\(firm)]}
                """)
            #expect(visitMeeting.status == .created, "\(visitMeeting.body.string)")
            #expect(visitMeeting.json["series"] as? String == "visit")
            let visitID = visitMeeting.json["id"] as! Int
            let outcome = try await app.send(.POST, "/api/v1/meetings/\(visitID)/enterprises", jianwai,
                                             json: "{\"enterpriseId\":\(firm),\"outcome\":\"intent\",\"services\":[\(serviceIDs[0]),\(serviceIDs[2])],\"note\":\"总经理同意下月召开职工大会\"}")
            #expect(outcome.status == .ok, "\(outcome.body.string)")
            #expect((outcome.json["enterprises"] as? [[String: Any]])?.first?["unionStatus"] as? String == "intent")
            let tooEarly = try await app.send(.POST, "/api/v1/meetings/\(visitID)/enterprises", jianwai, json: "{\"enterpriseId\":\(firm),\"outcome\":\"founded\"}")
            #expect(tooEarly.problemFields == ["outcome"])
            let task = try await app.send(.POST, "/api/v1/meetings/\(visitID)/tasks", jianwai, json: "{\"title\":\"协助筹备职工大会\",\"enterpriseId\":\(firm),\"dueOn\":\"2026-12-15\"}")
            #expect(task.status == .created)
            #expect((task.json["tasks"] as? [[String: Any]])?.first?["title"] as? String == "协助筹备职工大会")

            // The election founds the union: a new grassroots node under the street, linked.
            let badElection = try await app.send(.POST, "/api/v1/enterprises/\(firm)/founding", jianwai,
                                                 json: "{\"heldOn\":\"\(today)\",\"voters\":60,\"votesCast\":30,\"chairName\":\"赵敏\",\"chairVotes\":10,\"termEndsOn\":\"2040-01-01\"}")
            #expect(Set(badElection.problemFields) == ["votesCast", "chairVotes", "termEndsOn"])
            let term = ShanghaiClock.today().adding(days: 5 * 365).description
            let founded = try await app.send(.POST, "/api/v1/enterprises/\(firm)/founding", jianwai,
                                             json: "{\"heldOn\":\"\(today)\",\"voters\":60,\"votesCast\":52,\"chairName\":\"赵敏\",\"chairVotes\":49,\"committee\":[\"赵敏\",\"钱多多\",\"孙悟\"],\"termEndsOn\":\"\(term)\"}")
            #expect(founded.status == .created, "\(founded.body.string)")
            let unionID = try #require(founded.json["unionOrgId"] as? Int)
            let union = try #require(try await Organization.find(unionID, on: app.db))
            #expect(union.parentID == f.jianwai.id)
            #expect(union.kind == .enterprise)
            #expect(union.name == "北京蓝天快递有限公司工会")
            #expect(union.chairName == "赵敏")
            #expect(try await app.send(.POST, "/api/v1/enterprises/\(firm)/founding", jianwai, json: "{}").status == .conflict)
            let detail = try await app.send(.GET, "/api/v1/enterprises/\(firm)", jianwai)
            #expect(detail.json["unionStatus"] as? String == "founded")
            #expect(detail.json["unionOrgId"] as? Int == unionID)
            #expect((detail.json["election"] as? [String: Any])?["votesCast"] as? Int == 52)

            // The district sees it all, and the rate moved from 50 % to 100 %.
            let after = try await app.send(.GET, "/api/v1/enterprises/coverage?orgId=\(f.chaoyang.id!)", chaoyang)
            #expect(after.json["rate"] as? Double == 100)
            let rows = after.json["rows"] as? [[String: Any]] ?? []
            #expect(rows.first { $0["orgId"] as? Int == f.jianwai.id! }?["covered"] as? Int == 2)
            let report = try await app.send(.GET, "/api/v1/outreach-stats?by=street", chaoyang)
            #expect(report.status == .ok, "\(report.body.string)")
            let totals = report.json["totals"] as? [String: Any] ?? [:]
            #expect(totals["workerMeetings"] as? Int == 1)
            #expect(totals["enterpriseMeetings"] as? Int == 1)
            #expect(totals["applications"] as? Int == 2)
            #expect(totals["approved"] as? Int == 1)
            #expect(totals["consultations"] as? Int == 17)
            #expect(totals["recordsCollected"] as? Int == 5)
            #expect(totals["enterprisesReached"] as? Int == 1)
            #expect(totals["withoutUnion"] as? Int == 1)
            #expect(totals["intents"] as? Int == 1)
            #expect(totals["unionsFounded"] as? Int == 1)
            let streetRows = report.json["rows"] as? [[String: Any]] ?? []
            #expect(streetRows.map { $0["orgId"] as? Int } == [f.jianwai.id!])
            let byMonth = try await app.send(.GET, "/api/v1/outreach-stats?by=month", chaoyang)
            #expect((byMonth.json["rows"] as? [[String: Any]])?.first?["key"] as? String == String(today.prefix(7)))

            // The other district sees none of it.
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/meetings/\(meetingID)", haidian).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/meetings/\(meetingID)/stats", haidian).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/meetings", haidian).json["total"] as? Int == 0)
            let theirs = try await app.send(.GET, "/api/v1/outreach-stats", haidian)
            #expect((theirs.json["totals"] as? [String: Any])?["applications"] as? Int == 0)
            #expect(try await app.send(.GET, "/api/v1/outreach-stats?orgId=\(f.chaoyang.id!)", haidian).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/meetings/\(meetingID)/tasks", haidian, json: "{\"title\":\"x\",\"dueOn\":\"2026-12-01\"}").status == .notFound)
        }
    }

    @Test func meetingsRefuseBadInputByName() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let bad = try await app.send(.POST, "/api/v1/meetings", jianwai, json: """
                {"kind":"party","orgId":\(f.jianwaiUnion.id!),"startsAt":"next tuesday","place":" ","consultations":-1}
                """)
            #expect(bad.status == .unprocessableEntity)
            #expect(Set(bad.problemFields) == ["kind", "orgId", "startsAt", "place", "consultations"])
            let wrongSeries = try await app.send(.POST, "/api/v1/meetings", jianwai, json: """
                {"kind":"worker","series":"visit","orgId":\(f.jianwai.id!),"startsAt":"2026-11-23T14:00:00+08:00","endsAt":"2026-11-23T13:00:00+08:00","place":"广场"}
                """)
            #expect(Set(wrongSeries.problemFields) == ["series", "endsAt"])
            let badQuery = try await app.send(.GET, "/api/v1/outreach-stats?by=week&from=yesterday", jianwai)
            #expect(Set(badQuery.problemFields) == ["by", "from"])
            #expect(try await app.send(.GET, "/api/v1/meeting-calendar?month=2026-13", jianwai).problemFields == ["month"])
            #expect(try await app.send(.POST, "/api/v1/meetings", try await app.token("jwunion"), json: "{}").status == .forbidden)
        }
    }

    @Test func theCalendarFlagsMissingWeeksAndMonthlyDays() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let chaoyang = try await app.token("chaoyang")
            // October 2026: its weeks start on 28 September (Thursday the 1st), the 5th, 12th, 19th and 26th.
            // Jianwai met in two of them.
            for day in ["2026-10-06T14:00", "2026-10-21T09:30"] {
                let made = try await app.send(.POST, "/api/v1/meetings", chaoyang, json: "{\"kind\":\"worker\",\"orgId\":\(f.jianwai.id!),\"startsAt\":\"\(day)\",\"place\":\"社区活动中心\"}")
                #expect(made.status == .created, "\(made.body.string)")
            }
            let day = try await app.send(.POST, "/api/v1/meetings", chaoyang, json: "{\"kind\":\"worker\",\"orgId\":\(f.chaoyang.id!),\"startsAt\":\"2026-10-15T09:00\",\"place\":\"朝阳区职工服务中心\"}")
            #expect(day.json["series"] as? String == "districtDay")
            let calendar = try await app.send(.GET, "/api/v1/meeting-calendar?month=2026-10", chaoyang)
            #expect(calendar.status == .ok, "\(calendar.body.string)")
            #expect(calendar.json["weekStarts"] as? [String] == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"])
            let streets = calendar.json["streets"] as? [[String: Any]] ?? []
            let jw = try #require(streets.first { $0["orgId"] as? Int == f.jianwai.id! })
            #expect((jw["weeks"] as? [[String: Any]])?.map { $0["state"] as? String } == ["missing", "held", "missing", "held", "missing"])
            #expect(jw["missing"] as? Int == 3)
            let districts = calendar.json["districts"] as? [[String: Any]] ?? []
            #expect(districts.first { $0["orgId"] as? Int == f.chaoyang.id! }?["state"] as? String == "held")
            // Haidian's calendar is its own.
            let haidian = try await app.send(.GET, "/api/v1/meeting-calendar?month=2026-10", try await app.token("haidian"))
            #expect((haidian.json["streets"] as? [[String: Any]])?.map { $0["orgId"] as? Int } == [f.zhongguancun.id!])
            #expect((haidian.json["districts"] as? [[String: Any]])?.first?["state"] as? String == "missing")
        }
    }
}
