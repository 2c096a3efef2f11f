import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Members, plans and settlement files for the mutual-aid suites.
enum AidSupport {
    static let year = ShanghaiClock.today().year

    /// A day of this year, `daysAgo` before today (never before 1 January).
    static func day(_ daysAgo: Int) -> String {
        let today = ShanghaiClock.today()
        let d = today.adding(days: -daysAgo)
        return d.year == today.year ? d.description : "\(today.year)-01-01"
    }

    /// A member through the joining API, joined `joinedDaysAgo` days ago (set directly: the API joins today).
    static func member(_ app: Application, seq: Int, union: Organization, staff: String, phone: String = "13800138000",
                       name: String = "王小红", joined: String = "2020-01-01") async throws -> (id: Int, card: String, idNumber: String) {
        let m = try await MemberScopeAndPrivacyTests.member(app, seq: seq, union: union, staff: staff, phone: phone, name: name)
        try await (app.db as! any SQLDatabase).raw("UPDATE members SET joined_on = \(bind: joined) WHERE id = \(bind: m.id)").run()
        return m
    }

    static func plan(_ app: Application, _ admin: HTTPHeaders, kind: String = "inpatient", extra: String = "") async throws -> Int {
        let made = try await app.send(.POST, "/api/v1/mutual-aid-plans", admin, json: """
            {"kind":"\(kind)","year":\(year),"name":"\(year)年\(kind)","coverFrom":"\(year)-01-01","coverTo":"\(year)-12-31",
             "deductibleYuan":1300,"ratio":0.5,"yearlyCapYuan":10000,"totalCapYuan":15000\(extra)}
            """)
        #expect(made.status == .created, "\(made.body.string)")
        return try #require(made.json["id"] as? Int)
    }

    static func csv(_ rows: [[String]]) -> String {
        (["身份证号,结算单号,就诊类型,就诊日期,医疗总费用,统筹支付,个人自付"] + rows.map { $0.joined(separator: ",") }).joined(separator: "\n") + "\n"
    }

    /// Posts the file as a multipart form (field `file`) and waits for the import to finish.
    static func importFile(_ app: Application, _ auth: HTTPHeaders, _ contents: String, name: String = "settlements.csv") async throws -> [String: Any] {
        let boundary = "----gonghui-aid"
        let body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\nContent-Type: text/csv\r\n\r\n\(contents)\r\n--\(boundary)--\r\n"
        var headers = auth
        headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
        let started = try await app.testing().sendRequest(.POST, "/api/v1/settlement-imports", headers: headers, body: ByteBuffer(string: body))
        #expect(started.status == .accepted, "\(started.body.string)")
        let id = try #require(started.json["id"] as? Int)
        #expect(started.json["state"] as? String == "running")
        await app.imports.waitForAll()
        return try await app.send(.GET, "/api/v1/settlement-imports/\(id)", auth).json
    }

    static func claims(_ app: Application, _ auth: HTTPHeaders, _ query: String = "") async throws -> [[String: Any]] {
        let r = try await app.send(.GET, "/api/v1/mutual-aid-claims?per=200&\(query)", auth)
        #expect(r.status == .ok, "\(r.body.string)")
        return try JSONSerialization.jsonObject(with: Data(r.body.string.utf8)) as? [[String: Any]] ?? []
    }
}
