import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct RosterImportTests {
    /// Uploads through the API, waits for the background import, answers the job.
    static func upload(_ app: Application, _ auth: HTTPHeaders, orgID: Int, name: String, _ bytes: [UInt8]) async throws -> [String: Any] {
        let started = try await app.testing().sendRequest(.POST, "/api/v1/member-imports?orgId=\(orgID)&fileName=\(name)", headers: auth, beforeRequest: { req in
            req.headers.contentType = HTTPMediaType(type: "text", subType: "csv")
            req.body = ByteBuffer(bytes: bytes)
        })
        #expect(started.status == .accepted, "\(started.body.string)")
        let id = try #require(started.json["id"] as? Int)
        await app.imports.waitForAll()
        return try await app.send(.GET, "/api/v1/member-imports/\(id)", auth).json
    }

    @Test func aRosterWithBadAndDuplicateRowsImportsTheGoodOnesAndReportsTheRest() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let existing = try await MemberScopeAndPrivacyTests.member(app, seq: 900, union: f.jianwaiUnion, staff: "jianwai")
            let a = residentID(1), b = residentID(2, born: "19851231"), c = residentID(3)
            let csv = """
                姓名,身份证号码,手机号码,工作单位,统一社会信用代码,入会时间
                李娜,\(a),13800000001,北京华联科技有限公司,91350100M000100Y43,2023-05-01
                "阿卜杜·热合曼",\(b),+86 138 0000 0002,"公司, ""甲"" 分部",,2024/3/15
                张三,11010519491231003X,13800000003,单位,,
                赵四,\(c),123,单位,,2099-01-01

                重复人,\(a),13800000005,单位,,
                老会员,\(existing.idNumber),13800000006,单位,,
                钱七,１１０１０５１９９００１０１００４\(String(residentID(4).last!)),13800000007,单位,,2021-06-01 00:00:00
                """
            let auth = try await app.token("jianwai")
            let job = try await Self.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "roster.csv", Array("\u{FEFF}\(csv)".utf8))
            #expect(job["state"] as? String == "done", "\(job)")
            #expect(job["imported"] as? Int == 3)
            #expect(job["duplicates"] as? Int == 2)
            #expect(job["failed"] as? Int == 2)
            let members = try await Member.query(on: app.db).filter(\.$orgID == f.jianwaiUnion.id!).filter(\.$source == "import").all()
            #expect(Set(members.map(\.name)) == ["李娜", "阿卜杜·热合曼", "钱七"])
            #expect(Set(members.map(\.cardNumber)).count == 3)
            #expect(members.allSatisfy { (try? CardNumber(parsing: $0.cardNumber)) != nil })
            #expect(members.first { $0.name == "阿卜杜·热合曼" }?.joinedOn == "2024-03-15")
            #expect(members.first { $0.name == "阿卜杜·热合曼" }?.phone == "13800000002")
            #expect(members.first { $0.name == "钱七" }?.joinedOn == "2021-06-01")

            let problems = try await ImportProblem.query(on: app.db).sort(\.$line).all()
            let byLine = Dictionary(grouping: problems, by: \.line)
            #expect(byLine[4]?.map(\.code) == ["checksum"])
            #expect(byLine[4]?.first?.column == "身份证号码")
            #expect(Set(byLine[5]?.map(\.code) ?? []) == ["format", "future"])
            #expect(byLine[7]?.first?.message.contains("第 2 行") == true)
            #expect(byLine[8]?.first?.code == "duplicate")
            // The report downloads as CSV and XLSX.
            let jobID = job["id"] as! Int
            let report = try await app.send(.GET, "/api/v1/member-imports/\(jobID)/problems?format=csv", auth)
            #expect(report.body.string.contains("身份证号码"))
            #expect(report.body.string.split(whereSeparator: \.isNewline).count == 1 + problems.count)
            let xlsx = try await app.send(.GET, "/api/v1/member-imports/\(jobID)/problems?format=xlsx", auth)
            #expect(xlsx.body.readableBytesView.starts(with: [0x50, 0x4B]))

            // The same file again adds nothing.
            let again = try await Self.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "roster.csv", Array("\u{FEFF}\(csv)".utf8))
            #expect(again["imported"] as? Int == 0)
            #expect(again["duplicates"] as? Int == 5)
            #expect(try await Member.query(on: app.db).count() == 4)
            #expect(try await app.auditCount("member.import") == 2)
        }
    }

    @Test func aGB18030FileFromExcelIsReadWithoutAsking() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let id = residentID(55)
            // 姓名,身份证号码,手机号码,工作单位 / 张伟,{ID},13800001111,北京燕京啤酒有限公司 in GB18030
            let hex = "d0d5c3fb2cc9edb7ddd6a4bac5c2eb2ccad6bbfabac5c2eb2cb9a4d7f7b5a5cebb0d0ad5c5ceb02c7b49447d2c31333830303030313131312cb1b1bea9d1e0bea9c6a1bec6d3d0cfdeb9abcbbe0d0a"
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                bytes.append(UInt8(hex[index..<next], radix: 16)!)
                index = next
            }
            let marker = Array("{ID}".utf8)
            let at = (0...(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker }!
            bytes.replaceSubrange(at..<(at + marker.count), with: Array(id.utf8))
            let auth = try await app.token("jwunion")
            let job = try await Self.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "gbk.csv", bytes)
            #expect(job["imported"] as? Int == 1, "\(job)")
            let member = try await Member.query(on: app.db).first()
            #expect(member?.name == "张伟")
            #expect(member?.employerName == "北京燕京啤酒有限公司")
        }
    }

    @Test func aFileWithoutTheRequiredColumnsFailsWithAMessageAndScopeHolds() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            let job = try await Self.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "x.csv", Array("名字,电话\n张三,13800000000\n".utf8))
            #expect(job["state"] as? String == "failed")
            #expect((job["message"] as? String)?.contains("身份证号码") == true)
            // Importing into the other district's union, or reading its jobs, is refused.
            let other = try await app.testing().sendRequest(.POST, "/api/v1/member-imports?orgId=\(f.zgcUnion.id!)", headers: auth, beforeRequest: { req in
                req.body = ByteBuffer(string: "姓名,身份证号码,手机号码\n")
            })
            #expect(other.problemFields == ["orgId"])
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/member-imports/\(job["id"] as! Int)", haidian).status == .notFound)
            #expect(try await app.send(.GET, "/api/v1/member-imports/\(job["id"] as! Int)/problems", haidian).status == .notFound)
            let empty = try await app.send(.POST, "/api/v1/member-imports?orgId=\(f.jianwaiUnion.id!)", auth)
            #expect(empty.problemFields == ["body"])
            // an empty orgId is a 422 naming it, not a crash
            let blank = try await app.testing().sendRequest(.POST, "/api/v1/member-imports?orgId=", headers: auth, beforeRequest: { req in
                req.body = ByteBuffer(string: "姓名,身份证号码,手机号码\n")
            })
            #expect(blank.status == .unprocessableEntity)
            #expect(blank.problemFields == ["orgId"])
        }
    }
}
