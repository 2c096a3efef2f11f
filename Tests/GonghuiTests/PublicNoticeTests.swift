import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// 公示: working days on the working calendar, masked names, objections that hold an entry.
@Suite struct PublicNoticeTests {
    @Test func aNoticeRunsItsWorkingDaysAndSkipsTheHolidays() throws {
        // Wednesday 30 September 2026, National Day 1–7 October off, Saturday 10 October a working day.
        let calendar = WorkingCalendar(holidays: (1...7).map { try! CalendarDate(parsing: "2026-10-0\($0)") },
                                       workdays: [try CalendarDate(parsing: "2026-10-10")])
        let start = try CalendarDate(parsing: "2026-09-30")
        #expect(PublicNotices.lastDay(from: start, days: 5, rule: .working, calendar: calendar).description == "2026-10-12")
        #expect(PublicNotices.lastDay(from: start, days: 5, rule: .calendar, calendar: calendar).description == "2026-10-04")
        #expect(PublicNotices.lastDay(from: try CalendarDate(parsing: "2026-10-03"), days: 1, rule: .working, calendar: calendar).description == "2026-10-08")
        #expect(PublicNotices.mask("王明") == "王*")
        #expect(PublicNotices.mask("欧阳小梅") == "欧***")
        #expect(PublicNotices.mask("李") == "李*")
    }

    @Test func anObjectionHoldsItsEntryUntilTheUnitAnswers() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let notice = try await PublicNotices.open(kind: "test", refID: 1, org: f.jianwai, title: "2026 年困难职工建档公示", days: 5, rule: .working,
                                                      lines: [.init(refID: 10, name: "王明", unitName: "北京华联科技有限公司工会", summary: "相对困难"),
                                                              .init(refID: 11, name: "李红梅", unitName: "北京华联科技有限公司工会", summary: "深度困难")],
                                                      on: app.db)
            let list = try await app.send(.GET, "/api/v1/public-notices")
            #expect(list.status == .ok)
            #expect(list.body.string.contains("王*") && list.body.string.contains("李**"))
            #expect(!list.body.string.contains("王明") && !list.body.string.contains("李红梅"))
            let shown = try await app.send(.GET, "/api/v1/public-notices/\(notice.id!)")
            let entries = try #require(shown.json["entries"] as? [[String: Any]])
            let first = try #require(entries.first?["id"] as? Int)

            // An objection needs the entry, a real name, a phone and a reason, each named when missing.
            let bad = try await app.send(.POST, "/api/v1/public-notices/\(notice.id!)/objections", json: "{\"phone\":\"123\"}")
            #expect(Set(bad.problemFields) == ["entryId", "name", "phone", "text"])
            let objected = try await app.send(.POST, "/api/v1/public-notices/\(notice.id!)/objections",
                                              json: "{\"entryId\":\(first),\"name\":\"张邻居\",\"phone\":\"13911112222\",\"text\":\"他家有两套房\"}")
            #expect(objected.status == .created, "\(objected.body.string)")
            #expect(!objected.body.string.contains("13911112222"))
            let objectionID = try #require(objected.json["id"] as? Int)

            // While it runs nothing is cleared; after it, only the entry nobody holds.
            #expect(try await PublicNotices.cleared(notice, on: app.db).isEmpty)
            let after = try CalendarDate(parsing: notice.endsOn).adding(days: 1)
            #expect(try await PublicNotices.cleared(notice, today: after, on: app.db).map(\.refID) == [11])

            // Another district cannot see or answer it; the street answers and the entry is free.
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/public-notices/\(notice.id!)/objections", haidian).status == .notFound)
            let path = "/api/v1/public-notices/\(notice.id!)/objections/\(objectionID)/answer"
            #expect(try await app.send(.POST, path, haidian, json: "{\"answer\":\"x\"}").status == .notFound)
            let jianwai = try await app.token("jianwai")
            #expect(try await app.send(.POST, path, jianwai, json: "{}").problemFields == ["answer"])
            let answered = try await app.send(.POST, path, jianwai, json: "{\"answer\":\"经入户核实，其中一套为父母名下\"}")
            #expect(answered.status == .ok, "\(answered.body.string)")
            #expect(try await app.send(.POST, path, jianwai, json: "{\"answer\":\"again\"}").status == .conflict)
            #expect(try await PublicNotices.cleared(notice, today: after, on: app.db).map(\.refID) == [10, 11])
            #expect(try await app.auditCount("notice.answer") == 1)
            let objections = try await app.send(.GET, "/api/v1/public-notices/\(notice.id!)/objections", jianwai)
            #expect(objections.body.string.contains("139****2222"))
        }
    }
}
