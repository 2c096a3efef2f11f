import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, item 6: the roster template's example row never becomes a member.
@Suite struct RosterTemplateTests {
    @Test(arguments: ["csv", "xlsx"])
    func theTemplateImportedAsDownloadedAddsNobody(format: String) async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            // setup: the template as it downloads, and one real row below its example
            let template = try await app.send(.GET, "/api/v1/member-imports/template?format=\(format)", auth)
            #expect(template.status == .ok)
            var bytes = Array(template.body.readableBytesView)
            if format == "csv" {
                #expect(template.body.string.contains("张三（示例，导入时跳过）"))
                bytes += Array("李娜,\(residentID(1)),13800000001,北京华联科技有限公司,,2023-05-01\r\n".utf8)
            } else {
                // the workbook as a user fills it: the example row left in place above a real one
                let path = NSTemporaryDirectory() + "roster-\(UUID().uuidString).xlsx"
                defer { try? FileManager.default.removeItem(atPath: path) }
                let writer = try XLSXWriter(path: path, sheetName: "roster")
                try writer.addHeader(RosterColumn.allCases.map(\.templateHeader))
                try writer.addRow(RosterExample.cells)
                try writer.addRow([.text("李娜"), .text(residentID(1)), .text("13800000001"), .text("北京华联科技有限公司"), .text(""), .text("2023-05-01")])
                try writer.close()
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            }
            // act
            let job = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "roster.\(format)", bytes)
            // verify
            #expect(job["state"] as? String == "done", "\(job)")
            #expect(job["imported"] as? Int == 1)
            #expect(job["failed"] as? Int == 0)
            #expect(try await Member.query(on: app.db).filter(\.$name ~~ "张三").count() == 0)
        }
    }

    @Test func theBareExampleAndMarkedRowsAreSkippedAndRealNamesAreNot() {
        #expect(RosterExample.isExample(name: "张三", idNumber: "11010519491231002x"))
        #expect(RosterExample.isExample(name: "张三(示例)", idNumber: "110101199001011234"))
        #expect(RosterExample.isExample(name: "Zhang San (example)", idNumber: nil))
        #expect(!RosterExample.isExample(name: "张三", idNumber: "11010519491231003X"))
        #expect(!RosterExample.isExample(name: "李示例", idNumber: "11010519491231002X"))
    }
}
