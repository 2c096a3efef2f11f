import Fluent
import Foundation
import GonghuiCore
import Logging
import Testing
import VaporTesting
@testable import Gonghui

/// The booth flow through the pages a worker and a street's staff use.
@Suite struct MemberPageTests {
    /// A visitor's session on the public pages (a cookie and its CSRF token from the page itself).
    static func visitor(_ app: Application, _ path: String) async throws -> (ConsoleSession, TestingHTTPResponse) {
        let page = try await app.testing().sendRequest(.GET, path, headers: ["Accept": "text/html"])
        let cookie = try #require(ConsoleSession.cookie(from: page))
        let csrf = try #require(ConsoleSession.csrf(in: page.body.string))
        return (ConsoleSession(app: app, cookie: cookie, csrf: csrf), page)
    }

    @Test func aWorkerAppliesAtTheBoothAndStaffApproveFromTheBoothScreen() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let (worker, form) = try await Self.visitor(app, "/join?org=\(f.jianwai.id!)")
            #expect(form.status == .ok)
            #expect(form.body.string.contains("建外街道总工会 的服务台"))
            // bad input: each field named beside it, what was typed kept
            let bad = try await worker.post("/join", ["name": "李梅", "idNumber": "11010519491231003X", "phone": "12", "employerName": "", "orgId": "\(f.jianwai.id!)"])
            #expect(bad.status == .unprocessableEntity)
            let html = bad.body.string
            #expect(html.contains("身份证号码校验位不符") && html.contains("手机号码须为") && html.contains("请填写工作单位"))
            #expect(html.contains("value=\"李梅\""))
            let id = residentID(77, born: "19920315")
            let ok = try await worker.post("/join", ["name": "李梅", "idNumber": id, "phone": "13912345678", "employerName": "顺丰速运", "orgId": "\(f.jianwai.id!)"])
            #expect(ok.status == .seeOther)
            #expect(ok.headers.first(name: .location)?.hasPrefix("/join/done?id=") == true)

            // the street's booth screen: the feed has it, masked
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let booth = try await staff.get("/console/booth?org=\(f.jianwai.id!)")
            #expect(booth.status == .ok)
            #expect(booth.body.string.contains("/join?org=\(f.jianwai.id!)"))
            let feed = try await staff.get("/console/booth/feed?org=\(f.jianwai.id!)&after=0", headers: ["Accept": "application/json"])
            let items = feed.json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 1)
            #expect(items.first?["idMasked"] as? String == ResidentID.mask(id))
            #expect(!feed.body.string.contains(id) && !feed.body.string.contains("13912345678"))
            let appID = try #require(items.first?["id"] as? Int)
            // one tap: approve into a union of the street, the card number back as JSON
            var headers = HTTPHeaders()
            headers.replaceOrAdd(name: .cookie, value: staff.cookie)
            headers.replaceOrAdd(name: .accept, value: "application/json")
            let approved = try await app.testing().sendRequest(.POST, "/console/applications/\(appID)/approve", headers: headers, beforeRequest: { req in
                try req.content.encode(["_csrf": staff.csrf, "orgId": "\(f.jianwaiUnion.id!)"], as: .urlEncodedForm)
            })
            #expect(approved.status == .ok, "\(approved.body.string)")
            let card = try #require(approved.json["cardNumber"] as? String)
            // without the form's token it is refused
            let forged = try await staff.post("/console/applications/\(appID)/approve", ["orgId": "\(f.jianwaiUnion.id!)"], csrf: "forged")
            #expect(forged.status == .forbidden)
            let newer = try await staff.get("/console/booth/feed?org=\(f.jianwai.id!)&after=\(appID)", headers: ["Accept": "application/json"])
            #expect((newer.json["items"] as? [[String: Any]])?.isEmpty == true)

            // the worker checks the status with a code and sees the card; then signs in and sees the card
            let (checker, _) = try await Self.visitor(app, "/join/status")
            let sent = try await checker.post("/join/status/code", ["phone": "13912345678"])
            #expect(sent.body.string.contains("验证码已发送"))
            let code = try #require(capture.lastCode())
            let status = try await checker.post("/join/status", ["phone": "13912345678", "code": code])
            #expect(status.body.string.contains("已通过"))
            #expect(status.body.string.contains(try CardNumber(parsing: card).grouped))

            var (member, _) = try await Self.visitor(app, "/member")
            _ = try await member.post("/member/code", ["phone": "13912345678"])
            let signInCode = try #require(capture.lastCode())
            let signedIn = try await member.post("/member/login", ["phone": "13912345678", "code": signInCode])
            #expect(signedIn.status == .seeOther)
            // A new session at sign-in: the id from before it no longer signs anybody in.
            let before = member.cookie
            member.cookie = try #require(ConsoleSession.cookie(from: signedIn))
            #expect(member.cookie != before)
            let stale = try await ConsoleSession(app: app, cookie: before, csrf: member.csrf).get("/member")
            #expect(!stale.body.string.contains("李梅"))
            let cardPage = try await member.get("/member")
            #expect(cardPage.body.string.contains(try CardNumber(parsing: card).grouped))
            #expect(cardPage.body.string.contains(f.jianwaiUnion.name))
            #expect(cardPage.body.string.contains("李梅"))
        }
    }

    @Test func consoleMemberPagesAreScopedAndRevealIsAudited() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let ours = try await MemberScopeAndPrivacyTests.member(app, seq: 601, union: f.jianwaiUnion, staff: "jianwai")
            let theirs = try await MemberScopeAndPrivacyTests.member(app, seq: 602, union: f.zgcUnion, staff: "zgc")
            let chaoyang = try await ConsoleSession.signIn(app, "chaoyang")
            let list = try await chaoyang.get("/console/members")
            #expect(list.status == .ok)
            #expect(list.body.string.contains(ResidentID.mask(ours.idNumber)))
            #expect(!list.body.string.contains(ours.idNumber))
            #expect(!list.body.string.contains(ResidentID.mask(theirs.idNumber)))
            #expect(try await chaoyang.get("/console/members/\(theirs.id)").status == .notFound)
            #expect(try await chaoyang.post("/console/members/\(theirs.id)/reveal", [:]).status == .notFound)
            #expect(try await chaoyang.post("/console/members/\(theirs.id)/status", ["status": "left"]).status == .notFound)
            let page = try await chaoyang.get("/console/members/\(ours.id)")
            #expect(page.status == .ok)
            #expect(!page.body.string.contains(ours.idNumber))
            let revealed = try await chaoyang.post("/console/members/\(ours.id)/reveal", [:])
            #expect(revealed.body.string.contains(ours.idNumber))
            #expect(try await app.auditCount("member.reveal") == 1)
            let status = try await chaoyang.post("/console/members/\(ours.id)/status", ["status": "left", "note": "离职"])
            #expect(status.status == .seeOther)
            #expect(try await Member.find(ours.id, on: app.db)?.status == .left)
            let export = try await chaoyang.get("/console/members/export?format=csv")
            #expect(export.body.string.contains(ours.card) && !export.body.string.contains(theirs.card))
            for path in ["/console/applications", "/console/transfers", "/console/members/import", "/console/booth"] {
                #expect(try await chaoyang.get(path).status == .ok, "\(path)")
            }
            #expect(try await chaoyang.get("/console/booth?org=\(f.zhongguancun.id!)").status == .notFound)
            // an application at the district is passed to its street from the page
            let filed = try await app.send(.POST, "/api/v1/member-applications", json: applicationJSON(id: residentID(603), orgId: f.chaoyang.id!))
            let appID = filed.json["id"] as! Int
            let appPage = try await chaoyang.get("/console/applications/\(appID)")
            #expect(appPage.body.string.contains("转交"))
            let passed = try await chaoyang.post("/console/applications/\(appID)/assign", ["orgId": "\(f.jianwai.id!)"])
            #expect(passed.status == .seeOther)
            #expect(try await MemberApplication.find(appID, on: app.db)?.orgID == f.jianwai.id)
        }
    }

    @Test func aRosterUploadedInTheConsoleShowsProgressAndItsReport() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let form = try await staff.get("/console/members/import")
            #expect(form.body.string.contains(f.jianwaiUnion.name))
            let csv = "姓名,身份证号码,手机号码\n王芳,\(residentID(11)),13800000011\n坏行,123,1\n"
            let upload = try await staff.upload("/console/members/import", ["orgId": String(f.jianwaiUnion.id!)], fileName: "花名册.csv", contents: csv)
            #expect(upload.status == .seeOther, "\(upload.body.string)")
            let location = try #require(upload.headers.first(name: .location))
            await app.imports.waitForAll()
            let job = try await staff.get(location)
            #expect(job.body.string.contains("花名册.csv"))
            let status = try await staff.get(location + "/status", headers: ["Accept": "application/json"])
            #expect(status.json["imported"] as? Int == 1)
            #expect(status.json["failed"] as? Int == 1)
            let report = try await staff.get(location + "/problems?format=csv")
            #expect(report.body.string.contains("身份证号码"))
            // another district cannot see the job
            let haidian = try await ConsoleSession.signIn(app, "haidian")
            #expect(try await haidian.get(location).status == .notFound)
        }
    }

    /// Over real HTTP a big upload arrives in many reads; the form's token must still be found in it.
    @Test func aTwentyThousandRowRosterUploadsOverRealHTTP() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            var csv = "姓名,身份证号码,手机号码,工作单位\n"
            for n in 0..<20_000 {
                let p = MemberSeeder.person(n)
                csv += "\(p.name),\(p.id),\(p.phone),北京华联科技有限公司\n"
            }
            let boundary = "----gonghui-live"
            var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(staff.csrf)\r\n"
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"orgId\"\r\n\r\n\(f.jianwaiUnion.id!)\r\n"
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n\(csv)\r\n--\(boundary)--\r\n"
            #expect(body.utf8.count > 1_000_000)
            var headers = HTTPHeaders()
            headers.replaceOrAdd(name: .cookie, value: staff.cookie)
            headers.replaceOrAdd(name: .accept, value: "text/html")
            headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
            let upload = try await app.testing(method: .running(port: 0)).sendRequest(.POST, "/console/members/import", headers: headers,
                                                                                     body: ByteBuffer(string: body))
            // the client follows the redirect to the job's page
            #expect(upload.status == .ok, "\(upload.status) \(upload.body.string.prefix(300))")
            #expect(upload.body.string.contains("big.csv"))
            await app.imports.waitForAll()
            let job = try #require(try await ImportJob.query(on: app.db).first())
            #expect(job.state == "done")
            #expect(job.imported == 20_000)
            #expect(try await Member.query(on: app.db).count() == 20_000)
        }
    }
}
