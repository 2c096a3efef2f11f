import Fluent
import Foundation
import NIOCore
import Testing
import VaporTesting
@testable import Gonghui

/// Attachments: the type read from the bytes, 10 MB at most, stored once by content, read only
/// through the owning record's scoped routes, every download audited.
@Suite struct AttachmentTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 100)
    static let pdf: [UInt8] = Array("%PDF-1.7\n%工资条\n".utf8) + Array(repeating: 32, count: 50)

    static func upload(_ app: Application, _ path: String, _ auth: HTTPHeaders, bytes: [UInt8], name: String,
                       contentType: String = "application/octet-stream") async throws -> TestingHTTPResponse {
        try await app.testing().sendRequest(.POST, path, headers: auth, beforeRequest: { req in
            req.headers.replaceOrAdd(name: .contentType, value: contentType)
            req.headers.replaceOrAdd(name: "X-File-Name", value: name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            req.body = ByteBuffer(bytes: bytes)
        })
    }

    /// A multipart part whose header name is not ASCII once stopped the whole server (MultipartKit
    /// indexes a 128-entry table with the byte); now it is a 400, on the API and on a console form.
    @Test func aMultipartHeaderNameThatIsNotASCIIIsRefusedNotACrash() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            let id = try #require(created.json["id"] as? Int)
            var headers = try await app.token("jianwai")
            headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=b884f3861356792c")
            var body = ByteBuffer(string: "--b884f3861356792c\r\n")
            body.writeBytes([0xF3, 0x85, 0xAE, 0x9B, 0xF0, 0xBB, 0x9D, 0x89])
            body.writeString("--b884f3861356792c--\r\n")
            let refused = try await app.testing().sendRequest(.POST, "/api/v1/appeals/\(id)/attachments", headers: headers, body: body)
            #expect(refused.status == .badRequest)
            #expect(refused.headers.contentType?.description.hasPrefix("application/problem+json") == true)
            // A name with a UTF-8 file name in the header's value is still fine.
            #expect(MultipartGuard.headerNamesAreASCII(Array("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"合同.pdf\"\r\n\r\nx\r\n--b--\r\n".utf8),
                                                       boundary: Array("--b".utf8)))
            let street = try await ConsoleSession.signIn(app, "jianwai")
            var form = HTTPHeaders()
            form.replaceOrAdd(name: .cookie, value: street.cookie)
            form.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=b884f3861356792c")
            let page = try await app.testing().sendRequest(.POST, "/console/mutual-aid/import", headers: form, body: body)
            #expect(page.status == .badRequest)
            #expect(try await app.send(.GET, "/healthz").status == .ok)
        }
    }

    @Test func aFileIsStoredByItsContentAndReadOnlyInScopeWithAnAuditLine() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!))
            let id = try #require(created.json["id"] as? Int)
            let jianwai = try await app.token("jianwai")
            let path = "/api/v1/appeals/\(id)/attachments"

            let up = try await Self.upload(app, path, jianwai, bytes: Self.pdf, name: "工资条.pdf")
            #expect(up.status == .created, "\(up.body.string)")
            #expect(up.json["mediaType"] as? String == "application/pdf")
            #expect(up.json["fileName"] as? String == "工资条.pdf")
            let fileID = try #require(up.json["id"] as? Int)
            // The same bytes again (under another name) are stored once on disk.
            let again = try await Self.upload(app, path, jianwai, bytes: Self.pdf, name: "copy.pdf")
            #expect(again.status == .created)
            let sha = try #require(up.json["sha256"] as? String)
            let store = FileStore(root: app.gonghui.filesDirectory)
            #expect(FileManager.default.fileExists(atPath: store.path(for: sha)))
            let perms = try FileManager.default.attributesOfItem(atPath: store.path(for: sha))[.posixPermissions] as? Int
            #expect(perms == 0o600)

            // A PNG renamed .pdf is a PNG; a text file named .pdf is refused; so is an empty body.
            let png = try await Self.upload(app, path, jianwai, bytes: Self.png, name: "photo.pdf", contentType: "application/pdf")
            #expect(png.json["mediaType"] as? String == "image/png")
            #expect(png.json["fileName"] as? String == "photo.png")
            let fake = try await Self.upload(app, path, jianwai, bytes: Array("<script>alert(1)</script>".utf8), name: "evil.pdf", contentType: "application/pdf")
            #expect(fake.status == .unprocessableEntity)
            #expect(fake.problemFields == ["file"])
            #expect(try await Self.upload(app, path, jianwai, bytes: [], name: "x.pdf").problemFields == ["file"])
            let big = try await Self.upload(app, path, jianwai, bytes: Self.pdf + Array(repeating: 0, count: Attachments.maxBytes), name: "big.pdf")
            #expect(big.status == .unprocessableEntity || big.status == .payloadTooLarge)

            // Listed and downloaded in scope, audited; another district gets 404 for both.
            let list = try await app.send(.GET, path, jianwai)
            #expect(list.body.string.contains("工资条.pdf"))
            let download = try await app.send(.GET, "\(path)/\(fileID)", jianwai)
            #expect(download.status == .ok)
            #expect(download.headers.contentType?.description.hasPrefix("application/pdf") == true)
            #expect(download.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(Array(download.body.readableBytesView) == Self.pdf)
            #expect(try await app.auditCount("attachment.download") == 1)
            #expect(try await app.auditCount("attachment.upload") == 3)
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "\(path)/\(fileID)", haidian).status == .notFound)
            #expect(try await app.send(.GET, path, haidian).status == .notFound)
            #expect(try await Self.upload(app, path, haidian, bytes: Self.pdf, name: "x.pdf").status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/appeals/\(id)/attachments/999999", jianwai).status == .notFound)
            #expect(try await app.auditCount("attachment.download") == 1)
        }
    }

    @Test func theTypeIsReadFromTheFirstBytes() {
        #expect(Attachments.sniff(Self.pdf) == "application/pdf")
        #expect(Attachments.sniff(Self.png) == "image/png")
        #expect(Attachments.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) == "image/jpeg")
        #expect(Attachments.sniff(Array("GIF89a".utf8)) == nil)
        #expect(Attachments.sniff(Array("PK\u{3}\u{4}".utf8)) == nil)
        #expect(Attachments.displayName("报告\u{202E}fdp.exe", mediaType: "application/pdf").hasSuffix(".pdf"))
    }
}
