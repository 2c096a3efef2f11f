import Fluent
import Foundation
import GonghuiCore
import Logging
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, item 14: the smaller defects a new user meets.
@Suite struct SmallFixesTests {
    @Test func theFollowPageShowsTheTrackingNumberAsGivenTheDueDateAndTheUnit() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "13933335555", orgId: f.jianwai.id!,
                                                                                       extra: ",\"amountYuan\":1234567.5"))
            let a = try #require(try await Appeal.find(try #require(created.json["id"] as? Int), on: app.db))
            let page = try await app.testing().sendRequest(.GET, "/appeal/follow", headers: ["Accept": "text/html"])
            let worker = ConsoleSession(app: app, cookie: try #require(ConsoleSession.cookie(from: page)), csrf: try #require(ConsoleSession.csrf(in: page.body.string)))
            _ = try await worker.post("/appeal/follow/code", ["trackingNumber": a.trackingNumber, "phone": "13933335555"])
            let code = try #require(capture.lastCode())
            let html = try await worker.post("/appeal/follow", ["trackingNumber": a.trackingNumber, "phone": "13933335555", "code": code]).body.string
            #expect(html.contains("<p class=\"tracking\">\(TrackingNumber.display(a.trackingNumber))</p>"))
            #expect(TrackingNumber.display(a.trackingNumber).count == 13)
            #expect(html.contains("承办单位") && html.contains("建外街道总工会"))
            #expect(html.contains("答复期限") && html.contains(ShanghaiClock.today(a.dueAt.addingTimeInterval(-1)).description))
            // the staff page: the amount with thousands separators
            let street = try await ConsoleSession.signIn(app, "jianwai")
            #expect(try await street.get("/console/appeals/\(a.id!)").body.string.contains("1,234,567.50"))
        }
    }

    @Test func amountsHaveThousandsSeparators() {
        #expect(MoneyText.yuan(0) == "0.00")
        #expect(MoneyText.yuan(999.5) == "999.50")
        #expect(MoneyText.yuan(1000) == "1,000.00")
        #expect(MoneyText.yuan(167317.24) == "167,317.24")
        #expect(MoneyText.yuan(-1234567.891) == "-1,234,567.89")
    }

    @Test func theAuditLogOffersPickersAndShowsNamesNotCodes() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let session = try await ConsoleSession.signIn(app, "admin")
            let created = try await session.post("/console/staff/new", [
                "username": "wangfang", "displayName": "王芳", "password": "gonghui2024", "role": "streetStaff", "orgId": String(f.jianwai.id!),
            ])
            #expect(created.status == .seeOther)
            let html = try await session.get("/console/audit?action=staff.create").body.string
            // pickers instead of codes
            #expect(html.contains("<select name=\"action\">") && html.contains("<option value=\"staff.create\" selected>新建账号</option>"))
            #expect(html.contains("<select name=\"targetType\">") && html.contains("<option value=\"staff\">账号</option>"))
            #expect(html.contains("<datalist id=\"audit-actors\">") && html.contains("<option value=\"jianwai\">"))
            // names and labelled details, no JSON and no "staff #6"
            #expect(html.contains("账号 王芳"))
            #expect(html.contains("角色：街道工作人员") && html.contains("用户名：wangfang"))
            #expect(!html.contains("{\"") && !html.contains("staff #"))
            #expect(html.contains("title=\"admin\">admin</td>"))
        }
    }

    @Test func oneNavItemIsActiveAndTheHotlineFormNamesTheCaller() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let agent = try await ConsoleSession.signIn(app, "hotline")
            let html = try await agent.get("/console/appeals/new").body.string
            #expect(html.components(separatedBy: "class=\"active\"").count - 1 == 1)
            #expect(html.contains("<a href=\"/console/appeals/new\" class=\"active\""))
            #expect(html.contains("来电人姓名") && html.contains("来电人电话") && !html.contains("您的姓名"))
        }
    }

    @Test func theFaviconIsServed() async throws {
        try await withApp { app in
            let icon = try await app.testing().sendRequest(.GET, "/favicon.ico")
            #expect(icon.status == .ok)
            #expect(icon.body.readableBytes > 0 && icon.body.readableBytes < 4096)
            #expect(Array(icon.body.readableBytesView.prefix(4)) == [0, 0, 1, 0])
        }
    }

    @Test func theFinderNamesEachAmenityInWords() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            _ = try await app.site(try await app.token("jianwai"), siteJSON("国贸东暖心驿站", orgId: f.jianwai.id!, lat: 39.9087, lng: 116.4587,
                                                                           amenities: ["water", "microwave"]))
            let html = try await app.testing().sendRequest(.GET, "/sites?lat=39.9087&lng=116.4552", headers: ["Accept": "text/html"]).body.string
            let list = try #require(html.range(of: "<ol class=\"sites\">")).upperBound
            let item = String(html[list...].prefix(2000))
            #expect(item.contains("<span class=\"amen-tag\"><span aria-hidden=\"true\">💧</span>饮用水</span>"), "\(item)")
        }
    }

    @Test func theDemoMigratesQuietlyWithOneLine() async throws {
        try await withApp { app in
            // setup: an empty database again, and every log line captured at info
            try await app.autoRevert()
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            app.logger.logLevel = .info
            // act
            try await Demo.migrate(app)
            // verify
            let lines = capture.lines.withLockedValue { $0 }
            #expect(!lines.contains { $0.contains("Migrator") }, "\(lines)")
            #expect(lines.filter { $0.contains("migrations applied") }.count == 1, "\(lines)")
            let phase = Demo.phaseLog(app.logger)
            phase("streets: 73 / 73 (100%)")
            phase("seeded 73 streets and 400 unions in 0.1 s")
            #expect(capture.lines.withLockedValue { $0 }.filter { $0.contains("streets") }.count == 1)
        }
    }
}
