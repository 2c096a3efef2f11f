import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The ledger and the meetings through the console pages a street's and a district's staff use.
@Suite struct OutreachPageTests {
    static func upload(_ app: Application, _ staff: ConsoleSession, path: String, fields: [String: String], fileName: String, file: [UInt8]) async throws -> TestingHTTPResponse {
        let boundary = "----gonghui-outreach"
        var body = ByteBuffer()
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(staff.csrf)\r\n")
        for (k, v) in fields { body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(k)\"\r\n\r\n\(v)\r\n") }
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\nContent-Type: application/octet-stream\r\n\r\n")
        body.writeBytes(file)
        body.writeString("\r\n--\(boundary)--\r\n")
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .cookie, value: staff.cookie)
        headers.replaceOrAdd(name: .accept, value: "text/html")
        headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
        return try await app.testing().sendRequest(.POST, path, headers: headers, body: body)
    }

    @Test func aStreetKeepsItsLedgerInTheConsoleAndTheOtherDistrictSeesNoneOfIt() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            // Bad input: the form comes back with each message beside its field and what was typed kept.
            let bad = try await staff.post("/console/enterprises/new", ["name": "北京蓝天快递有限公司", "creditCode": "123", "orgId": "\(f.jianwai.id!)", "headcount": "很多"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("统一社会信用代码须为 18 位"))
            #expect(bad.body.string.contains("value=\"北京蓝天快递有限公司\""))
            let made = try await staff.post("/console/enterprises/new", ["name": "北京蓝天快递有限公司", "creditCode": creditCode(41), "orgId": "\(f.jianwai.id!)",
                                                                         "headcount": "80", "type": "privateOwned", "industry": "G", "unionStatus": "none"])
            #expect(made.status == .seeOther, "\(made.body.string)")
            let location = try #require(made.headers.first(name: .location))
            let id = try #require(Int(location.split(separator: "/").last!.split(separator: "?").first!))
            let detail = try await staff.get("/console/enterprises/\(id)")
            #expect(detail.status == .ok)
            #expect(detail.body.string.contains("北京蓝天快递有限公司") && detail.body.string.contains("G 交通运输、仓储和邮政业"))
            #expect(try await staff.post("/console/enterprises/\(id)/contacts", ["kind": "visit", "note": "见到人事经理"]).status == .seeOther)
            let refused = try await staff.post("/console/enterprises/\(id)/founding", ["voters": "10", "votesCast": "3", "chairName": "赵敏", "heldOn": "2026-01-01", "termEndsOn": "2028-01-01"])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("三分之二"))
            let ledger = try await staff.get("/console/enterprises")
            #expect(ledger.body.string.contains("北京蓝天快递有限公司") && ledger.body.string.contains("建会率"))
            let csv = try await staff.get("/console/enterprises/export?format=csv")
            #expect(csv.headers.contentType?.description.hasPrefix("text/csv") == true)
            #expect(csv.body.string.contains(creditCode(41)) && csv.body.string.contains("已联系"))
            #expect(try await app.auditCount("enterprise.export") == 1)

            // A meeting planned from the console, its page with the booth's link, the calendar and the figures.
            let meeting = try await staff.post("/console/meetings/new", ["kind": "worker", "orgId": "\(f.jianwai.id!)", "startsAt": "2026-11-18T14:00", "place": "建外SOHO广场"])
            #expect(meeting.status == .seeOther, "\(meeting.body.string)")
            let meetingPath = try #require(meeting.headers.first(name: .location))
            let page = try await staff.get(meetingPath)
            #expect(page.body.string.contains("/join?org=\(f.jianwai.id!)&amp;meeting=") || page.body.string.contains("/join?org=\(f.jianwai.id!)&meeting="))
            #expect(page.body.string.contains("<svg"))
            #expect(try await staff.post(meetingPath + "/record", ["consultations": "14", "recordsCollected": "6", "staffPresent": "李娜、王强"]).status == .seeOther)
            let visit = try await staff.post("/console/meetings/new", ["kind": "enterprise", "orgId": "\(f.jianwai.id!)", "startsAt": "2026-11-19T10:00",
                                                                        "place": "蓝天快递", "enterprises": "\(creditCode(41))\n不存在的公司"])
            #expect(visit.status == .unprocessableEntity)
            #expect(visit.body.string.contains("不存在的公司"))
            #expect(try await staff.get("/console/meetings/calendar?month=2026-11").body.string.contains("建外街道总工会"))
            let stats = try await ConsoleSession.signIn(app, "chaoyang").get("/console/outreach-stats?from=2026-11-01&to=2026-11-30")
            #expect(stats.status == .ok)
            #expect(stats.body.string.contains("<svg class=\"chart\"") && stats.body.string.contains("建外街道总工会"))
            let xlsx = try await staff.get("/console/outreach-stats/export?format=xlsx&from=2026-11-01&to=2026-11-30")
            #expect(xlsx.status == .ok)
            #expect(Array(xlsx.body.readableBytesView.prefix(2)) == [0x50, 0x4B])

            // The other district: not found, everywhere.
            let haidian = try await ConsoleSession.signIn(app, "haidian")
            #expect(try await haidian.get("/console/enterprises/\(id)").status == .notFound)
            #expect(try await haidian.get(meetingPath).status == .notFound)
            #expect(try await haidian.post("/console/enterprises/\(id)/contacts", ["kind": "visit", "note": "x"]).status == .notFound)
            #expect(!(try await haidian.get("/console/enterprises").body.string.contains("蓝天快递")))
            #expect(!(try await haidian.get("/console/enterprises/export?format=csv").body.string.contains("蓝天快递")))
        }
    }

    @Test func aLedgerSheetImportsItsGoodRowsReportsTheRestAndAddsNothingTheSecondTime() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let csv = """
                单位名称,统一社会信用代码,所在街道,单位类型,职工人数,行业门类,建会状态,联系电话
                北京甲物流有限公司,\(creditCode(51)),建外街道,民营企业,120,G,未建会,010-65123456
                北京乙餐饮有限公司,\(creditCode(52)),,国有企业,30,H 住宿和餐饮业,已建会,
                北京丙科技有限公司,123,建外街道,民营企业,10,I,未建会,
                北京丁超市有限公司,\(creditCode(53)),中关村街道,民营企业,10,F,未建会,
                北京甲物流有限公司,\(creditCode(51)),建外街道,民营企业,120,G,未建会,
                北京戊商贸有限公司,\(creditCode(54)),建外街道,外星企业,abc,Z,未建会,
                """
            for round in 1...2 {
                let upload = try await Self.upload(app, staff, path: "/console/enterprises/import", fields: ["orgId": "\(f.jianwai.id!)"],
                                                   fileName: "台账.csv", file: Array(csv.utf8))
                #expect(upload.status == .seeOther, "\(upload.body.string)")
                let location = try #require(upload.headers.first(name: .location))
                await app.imports.waitForAll()
                let status = try await staff.get(location + "/status", headers: ["Accept": "application/json"])
                #expect(status.json["state"] as? String == "done")
                #expect(status.json["imported"] as? Int == (round == 1 ? 2 : 0))
                #expect(status.json["duplicates"] as? Int == (round == 1 ? 1 : 3))
                #expect(status.json["failed"] as? Int == 3)
                let report = try await staff.get(location + "/problems?format=csv").body.string
                #expect(report.contains("统一社会信用代码") && report.contains("中关村街道") && report.contains("单位类型") && report.contains("职工人数"))
                #expect(try await staff.get(location).body.string.contains("导入台账"))
            }
            let ledger = try await app.send(.GET, "/api/v1/enterprises", try await app.token("jianwai"))
            #expect(ledger.json["total"] as? Int == 2)
            let second = (ledger.json["items"] as? [[String: Any]] ?? []).first { $0["creditCode"] as? String == creditCode(52) }
            #expect(second?["orgId"] as? Int == f.jianwai.id!)
            #expect(second?["type"] as? String == "stateOwned")
            #expect(second?["industry"] as? String == "H")
            #expect(second?["unionStatus"] as? String == "founded")
            // An export imports back as nothing new.
            let xlsx = try await staff.get("/console/enterprises/export?format=xlsx")
            let again = try await Self.upload(app, staff, path: "/console/enterprises/import", fields: ["orgId": "\(f.jianwai.id!)"],
                                              fileName: "export.xlsx", file: Array(xlsx.body.readableBytesView))
            await app.imports.waitForAll()
            let status = try await staff.get(try #require(again.headers.first(name: .location)) + "/status", headers: ["Accept": "application/json"])
            #expect(status.json["imported"] as? Int == 0)
            #expect(status.json["duplicates"] as? Int == 2)
            #expect(status.json["failed"] as? Int == 0)
        }
    }
}
