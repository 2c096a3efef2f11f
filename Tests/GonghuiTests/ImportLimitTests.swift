import Fluent
import FluentSQL
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// What one import may cost: it stops after its problem limit, lists rows already registered only
/// while there is room, writes its report a batch at a time, and runs one at a time per account.
@Suite struct ImportLimitTests {
    /// A name the roster accepts (letters only), different for each `i`.
    static func name(_ i: Int) -> String { "会员" + String(Character(UnicodeScalar(0x4E00 + i)!)) }

    static func csv(_ rows: [String]) -> [UInt8] {
        Array(("姓名,身份证号码,手机号码\n" + rows.joined(separator: "\n")).utf8)
    }

    /// A 297 KB sheet once made 2,000,000 problem rows: an import now stops at its limit, says where,
    /// and keeps the good rows before it.
    @Test func anImportStopsAfterItsProblemLimitAndSaysWhere() async throws {
        try await withApp(configured: { $0.importMaxProblems = 20 }) { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            let good = (1...5).map { "好人\(Self.name($0)),\(residentID($0)),1380000000\($0)" }
            let bad = (1...200).map { "坏人\(Self.name($0)),110105199001019999,123" } // each row: two problems
            let after = ["后来,\(residentID(99)),13800000099"]
            let job = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "bad.csv", Self.csv(good + bad + after))
            #expect(job["state"] as? String == "stopped", "\(job)")
            #expect((job["message"] as? String)?.contains("第 16 行停止") == true, "\(job)")
            #expect(job["imported"] as? Int == 5)
            #expect(try await ImportProblem.query(on: app.db).count() == 20)
            #expect(try await Member.query(on: app.db).filter(\.$name == "后来").count() == 0)
            let page = try await ConsoleSession.signIn(app, "jianwai").get("/console/imports/\(job["id"] as! Int)")
            #expect(page.body.string.contains("已停止"))
        }
    }

    /// Importing the same file again (resuming an interrupted import) never stops: the rows already
    /// registered are counted, and listed only up to the limit.
    @Test func rowsAlreadyRegisteredAreCountedAndListedOnlyUpToTheLimit() async throws {
        try await withApp(configured: { $0.importMaxProblems = 20 }) { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            let rows = (1...30).map { "\(Self.name($0)),\(residentID($0)),138000000\(String(format: "%02d", $0))" }
            let first = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "a.csv", Self.csv(rows))
            #expect(first["imported"] as? Int == 30)
            let again = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "a.csv", Self.csv(rows + ["新人,\(residentID(31)),13800000031"]))
            #expect(again["state"] as? String == "done", "\(again)")
            #expect(again["duplicates"] as? Int == 30)
            #expect(again["imported"] as? Int == 1)
            #expect((again["message"] as? String)?.contains("另有 10 条") == true, "\(again)")
            #expect(try await ImportProblem.query(on: app.db).filter(\.$jobID == again["id"] as! Int).count() == 20)
        }
    }

    /// The report is read in batches by (line, id): every problem once, in order, however many.
    @Test func theReportIsReadInBatchesInLineOrder() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            let job = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "x.csv", Self.csv(["坏,1,2"]))
            let jobID = job["id"] as! Int
            // 12,000 more problems, two to a line, written out of order
            for chunk in stride(from: 0, to: 6_000, by: 500) {
                var insert = app.db.sql.insert(into: ImportProblem.schema).columns("job_id", "line", "column_name", "code", "message")
                for line in (chunk..<(chunk + 500)).reversed() {
                    for code in ["b", "a"] { insert = insert.values(SQLBind(jobID), SQLBind(line + 10), SQLBind("列"), SQLBind(code), SQLBind("m")) }
                }
                try await insert.run()
            }
            var seen: [Int] = []
            var batches = 0
            try await ImportReport.batches(jobID: jobID, on: app.db) { rows in
                batches += 1
                #expect(rows.count <= ImportLimits.reportBatch)
                for row in rows { if case let .integer(line) = row[0] { seen.append(Int(line)) } }
            }
            #expect(batches == 3)
            #expect(seen.count == 12_000 + (try await ImportProblem.query(on: app.db).filter(\.$line < 10).count()))
            #expect(seen == seen.sorted())
            let csv = try await app.send(.GET, "/api/v1/member-imports/\(jobID)/problems?format=csv", auth)
            #expect(csv.status == .ok)
            #expect(csv.body.string.split(whereSeparator: \.isNewline).count == seen.count + 1)
        }
    }

    /// One import at a time per account: a second upload while one runs is refused with 409, and
    /// nothing of it is written; a job whose heartbeat stopped long ago does not count.
    @Test func oneImportAtATimePerAccount() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            let staff = try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first()!
            let running = ImportJob()
            running.kind = "members"
            running.orgID = f.jianwaiUnion.id!
            running.staffID = staff.id
            running.fileName = "big.csv"
            running.state = "running"
            (running.totalBytes, running.bytesRead, running.rowsRead, running.imported, running.duplicates, running.failed) = (1, 0, 0, 0, 0, 0)
            running.heartbeatAt = Date()
            try await running.create(on: app.db)
            let refused = try await app.testing().sendRequest(.POST, "/api/v1/member-imports?orgId=\(f.jianwaiUnion.id!)", headers: auth, beforeRequest: { req in
                req.headers.contentType = HTTPMediaType(type: "text", subType: "csv")
                req.body = ByteBuffer(bytes: Self.csv(["王五,\(residentID(5)),13800000005"]))
            })
            #expect(refused.status == .conflict)
            #expect(refused.problemFields == ["file"])
            #expect(try await ImportJob.query(on: app.db).count() == 1)
            // the console says so beside the file
            let console = try await ConsoleSession.signIn(app, "jianwai")
            let page = try await console.upload("/console/members/import", ["orgId": String(f.jianwaiUnion.id!)], fileName: "a.csv", contents: "姓名\n")
            #expect(page.status == .conflict)
            #expect(page.body.string.contains("您有一个导入正在进行"))
            // another account is not held up
            let other = try await RosterImportTests.upload(app, try await app.token("admin"), orgID: f.jianwaiUnion.id!, name: "b.csv",
                                                           Self.csv(["王五,\(residentID(5)),13800000005"]))
            #expect(other["state"] as? String == "done")
            // a job nobody has run for a while (its process died) does not block
            running.heartbeatAt = Date().addingTimeInterval(-3600)
            try await running.save(on: app.db)
            _ = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "c.csv", Self.csv(["赵六,\(residentID(6)),13800000006"]))
        }
    }
}

