import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// A NUL (U+0000) cannot be stored in PostgreSQL's text: before the guard, a site whose type held
/// one answered 500 there (found by schemathesis). Every way in now answers 422 naming the field.
@Suite struct TextGuardTests {
    @Test func aNulInAJSONFieldIsNamedNotA500() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let body = """
            {"": {"\\u00ecd\\u0002": false}, "name": "便利蜂城关暖心驿站", "lat": 39.9, "lng": 116.45, "coord": "wgs84",
             "type": "\\u0000\\fA\\u001b", "amenities": ["water", "\\u0085\\u0000"], "orgId": \(f.jianwai.id!)}
            """
            let site = try await app.send(.POST, "/api/v1/sites", jianwai, json: body)
            #expect(site.status == .unprocessableEntity, "\(site.body.string)")
            #expect(site.headers.contentType?.subType == "problem+json")
            #expect(site.problemFields == ["amenities[1]", "type"])
            let messages = ((site.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["message"] as? String }
            #expect(messages.contains { $0.contains("U+0000") })

            // The public application form, and a key that holds the NUL.
            let join = try await app.send(.POST, "/api/v1/member-applications", json: """
            {"name": "王\\u0000芳", "idNumber": "11010519491231002X", "phone": "13800138000", "employerName": "某公司"}
            """)
            #expect(join.status == .unprocessableEntity, "\(join.body.string)")
            #expect(join.problemFields == ["name"])
            let key = try await app.send(.POST, "/api/v1/appeals", json: #"{"a\u0000b": 1}"#)
            #expect(key.status == .unprocessableEntity)
            #expect(key.problemFields == ["body"])

            // An escaped backslash before "u0000" is text, not a NUL: that body is decoded as usual.
            let text = try await app.send(.POST, "/api/v1/sites", jianwai,
                                          json: siteJSON(#"驿站\\u0000"#, orgId: f.jianwai.id!, lat: 39.9, lng: 116.45))
            #expect(text.status == .created, "\(text.body.string)")
        }
    }

    @Test func aNulInAQueryOrAFormIsNamed() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            for path in ["/api/v1/members?q=%00", "/api/v1/sites?type=a%00b", "/api/v1/appeals?q=x%00"] {
                let response = try await app.send(.GET, path, jianwai)
                #expect(response.status == .unprocessableEntity, "\(path): \(response.body.string)")
                #expect(response.problemFields == [path.contains("type") ? "type" : "q"], "\(path)")
            }
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let list = try await staff.get("/console/sites?q=%00")
            #expect(list.status == .unprocessableEntity)
            #expect(list.body.string.contains("<html"))
            let login = try await app.testing().sendRequest(.POST, "/login", headers: ["Accept": "text/html"], beforeRequest: { req in
                req.headers.contentType = .urlEncodedForm
                req.body = ByteBuffer(string: "username=admin%00&password=x")
            })
            #expect(login.status == .unprocessableEntity, "\(login.body.string)")
        }
    }

    /// A file name comes in a multipart header, past the decoders' guard: a NUL in it answered
    /// 500 on PostgreSQL when the job was stored.
    @Test func aControlCharacterInAnUploadedFileNameIsDropped() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let upload = try await staff.upload("/console/members/import", ["orgId": String(f.jianwaiUnion.id!)], fileName: "花名\u{0}册\u{1}.csv",
                                                contents: "姓名,身份证号码,手机号码\n王芳,\(residentID(12)),13800000012\n")
            #expect(upload.status == .seeOther, "\(upload.body.string)")
            await app.imports.waitForAll()
            let job = try #require(try await ImportJob.query(on: app.db).first())
            #expect(job.fileName == "花名册.csv")
            #expect(job.imported == 1)
            #expect(RosterImports.displayName(" \u{7}\n ") == "upload")
        }
    }

    /// A NUL inside a CSV cell failed the whole import on PostgreSQL; it is dropped by the reader.
    @Test func aNulInsideARosterCellDoesNotFailTheImport() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            // Long enough that one NUL does not look like a binary file (one NUL in 500 bytes does).
            var csv = "姓名,身份证号码,手机号码,工作单位\n王芳,\(residentID(13)),13800000013,某\u{0}公司\n"
            for n in 0..<11 { csv += "李娜\(Character(Unicode.Scalar(0x4E00 + n)!)),\(residentID(20 + n)),138000000\(20 + n),北京华联科技有限公司\n" }
            let job = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "nul.csv", Array(csv.utf8))
            #expect(job["state"] as? String == "done", "\(job)")
            #expect(job["imported"] as? Int == 12)
            let employers = try await Member.query(on: app.db).all().compactMap(\.employerName)
            #expect(employers.contains("某公司"))
        }
    }

    /// An error page for a request that never passed the sessions middleware (an unknown path)
    /// asked for a form token and tripped Vapor's "No SessionsMiddleware" assertion.
    @Test func anUnknownPageIsAPageNotACrash() async throws {
        try await withApp { app in
            let page = try await app.testing().sendRequest(.GET, "/no-such-page", headers: ["Accept": "text/html"])
            #expect(page.status == .notFound)
            #expect(page.body.string.contains("<html"))
        }
    }

    @Test func escapedNulDetection() {
        #expect(TextGuard.containsEscapedNul(Array(#"{"a":"\u0000"}"#.utf8)))
        #expect(TextGuard.containsEscapedNul(Array(#"{"a":"\\\u0000"}"#.utf8)))
        #expect(!TextGuard.containsEscapedNul(Array(#"{"a":"\\u0000"}"#.utf8)))
        #expect(!TextGuard.containsEscapedNul(Array(#"{"a":"u0000 \u0001"}"#.utf8)))
        #expect(TextGuard.nulFields(form: "a=1&b%5B%5D=x%00y&c=%00") == ["b[]", "c"])
        #expect(TextGuard.nulFields(form: "a=%000") == ["a"])
        #expect(TextGuard.nulFields(form: "a=%2500") == [])
        #expect(TextGuard.nulFields(form: "a=1&b=x\u{0}y") == ["b"])
        // A raw zero byte: UTF-16 JSON is read and walked; anything else unreadable is the body's fault.
        let utf16 = Array(#"{"name":"a\u0000b"}"#.data(using: .utf16LittleEndian)!)
        #expect(TextGuard.nulFields(json: utf16) == ["name"])
        #expect(TextGuard.nulFields(json: Array("{\"name\":\"a\u{0}b".utf8)) == ["body"])
        #expect(RosterImports.displayName("名单\u{202E}vsc.exe") == "名单vsc.exe")
    }
}
