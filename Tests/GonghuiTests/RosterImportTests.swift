import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
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

    /// Many small batches, each written while the next is read: repeats across batches, rows
    /// already registered and bad rows land in the right counts, on the job row as well. On SQLite
    /// the batches go through the writer's own connection (the path the benchmark times).
    @Test func manySmallBatchesKeepEveryCount() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let writer = try await SQLiteMemberWriter.open(for: app.db, source: "import", cardPrefix: CardSerials.prefix(app))
            #expect((writer != nil) == !onPostgres)
            let existing = try await MemberScopeAndPrivacyTests.member(app, seq: 950, union: f.jianwaiUnion, staff: "jianwai")
            var lines = ["姓名,身份证号码,手机号码,工作单位"]
            for n in 0..<20 { lines.append("会员\(Character(Unicode.Scalar(0x4E00 + n)!)),\(residentID(100 + n)),138000001\(String(format: "%02d", n)),单位") }
            lines.insert("重复甲,\(residentID(101)),13800000201,单位", at: 9)    // line 11: the same person as line 3
            lines.append("重复乙,\(residentID(118)),13800000202,单位")           // line 24: the same person as line 21
            lines.append("老会员,\(existing.idNumber),13800000203,单位")        // line 25: registered before
            lines.insert("坏号码,\(residentID(300)),12345,单位", at: 5)          // line 6: a bad mobile number
            lines.append("坏身份证,110105199001010000,13800000204,单位")          // line 26: a bad check character
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("batches-\(UUID()).csv").path
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }

            func run() async throws -> (RosterImporter.Outcome, ImportJob) {
                let job = try await RosterImports.makeJob(union: f.jianwaiUnion, staffID: nil, fileName: "batches.csv", totalBytes: 1, on: app.db)
                var importer = RosterImporter(db: app.db, cipher: app.fieldCipher, union: f.jianwaiUnion, cardPrefix: CardSerials.prefix(app),
                                              jobID: try job.requireID(), describe: RosterImports.describer(app.localizer, .zhHans))
                importer.batchSize = 4
                let outcome = try await importer.run(reader: try Spreadsheet.open(path: path)) { _ in }
                return (outcome, try #require(try await ImportJob.find(job.requireID(), on: app.db)))
            }
            let (first, job) = try await run()
            #expect(first.progress.rowsRead == 25)
            #expect(first.progress.imported == 20)
            #expect(first.progress.duplicates == 3)
            #expect(first.progress.failed == 2)
            #expect(job.imported == 20 && job.duplicates == 3 && job.failed == 2 && job.rowsRead == 25, "\(job.imported) \(job.duplicates) \(job.failed)")
            let problems = try await ImportProblem.query(on: app.db).filter(\.$jobID == job.requireID()).sort(\.$line).all()
            #expect(problems.map(\.line) == [6, 11, 24, 25, 26], "\(problems.map { "\($0.line) \($0.column) \($0.code)" })")
            #expect(problems.first { $0.line == 11 }?.message.contains("第 3 行") == true, "\(problems.map(\.message))")
            #expect(problems.first { $0.line == 25 }?.message.contains("已有该身份证号码") == true, "\(problems.map(\.message))")
            let cards = try await Member.query(on: app.db).filter(\.$source == "import").all().map(\.cardNumber)
            #expect(Set(cards).count == 20)

            // Again: every good row is now registered.
            let (second, again) = try await run()
            #expect(second.progress.imported == 0)
            #expect(second.progress.duplicates == 23)
            #expect(again.imported == 0 && again.duplicates == 23 && again.failed == 2, "\(again.imported) \(again.duplicates) \(again.failed)")
            #expect(try await Member.query(on: app.db).count() == 21)
        }
    }

    /// A file that turns unreadable after a batch was sent to the database: the import fails only
    /// once that batch has ended, so the members written and the job's counts agree.
    @Test func aFileThatBreaksMidwayLeavesNothingWritingBehindIt() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            var csv = "姓名,身份证号码,手机号码\n"
            for n in 0..<3 { csv += "会员\(Character(Unicode.Scalar(0x4E00 + n)!)),\(residentID(400 + n)),1380000040\(n)\n" }
            csv += String(repeating: ",", count: 70_000) + "\n"  // more fields than any sheet has: the reader gives up here
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID()).csv").path
            try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let job = try await RosterImports.makeJob(union: f.jianwaiUnion, staffID: nil, fileName: "broken.csv", totalBytes: 1, on: app.db)
            var importer = RosterImporter(db: app.db, cipher: app.fieldCipher, union: f.jianwaiUnion, cardPrefix: CardSerials.prefix(app),
                                          jobID: try job.requireID(), describe: RosterImports.describer(app.localizer, .zhHans))
            importer.batchSize = 2
            await #expect(throws: SpreadsheetError.self) {
                _ = try await importer.run(reader: try Spreadsheet.open(path: path)) { _ in }
            }
            let stored = try await Member.query(on: app.db).count()
            let saved = try #require(try await ImportJob.find(job.requireID(), on: app.db))
            #expect(stored == 2)
            #expect(saved.imported == stored)
        }
    }

    /// `seed` writes its members through the same writer: valid, distinct cards, ID numbers sealed.
    @Test func theSeederWritesMembersWithCards() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let seeder = MemberSeeder(db: app.db, cipher: app.fieldCipher, cardPrefix: CardSerials.prefix(app), progress: { _ in })
            try await seeder.seed(count: 250)
            let members = try await Member.query(on: app.db).all()
            #expect(members.count == 250)
            #expect(Set(members.map(\.cardNumber)).count == 250)
            #expect(members.allSatisfy { (try? CardNumber(parsing: $0.cardNumber)) != nil })
            #expect(members.contains { (try? app.fieldCipher.open($0.idCipher)) == MemberSeeder.person(0).id })
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
