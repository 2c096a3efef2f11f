import Fluent
import Foundation
import Logging
import Testing
import VaporTesting
@testable import Gonghui

/// The causes of the slow pages (issue 14), proved without timing anything: how many statements a
/// page runs, how many options it renders, how deep pages are reached.
extension Application {
    /// The SQL statements the drivers log (at debug) while `body` runs.
    func statements(_ body: () async throws -> Void) async throws -> [String] {
        let capture = LogCapture()
        let saved = logger
        logger = Logger(label: "queries") { _ in capture }
        defer { logger = saved }
        try await body()
        return capture.lines.withLockedValue { $0 }.filter { line in
            let upper = line.uppercased()
            return upper.hasPrefix("DEBUG") && (upper.contains("SELECT ") || upper.contains("INSERT ") || upper.contains("UPDATE "))
        }
    }
}

@Suite struct SpeedTests {
    @Test func aPageOfSitesTakesTheSameFewQueriesWhateverItsLength() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            func queries(per: Int) async throws -> Int {
                try await app.statements {
                    let page = try await app.send(.GET, "/api/v1/sites?per=\(per)", jianwai)
                    #expect(page.status == .ok)
                    #expect(page.items.count == per)
                }.count
            }
            for i in 0..<12 {
                _ = try await app.site(jianwai, siteJSON("建外驿站\(i)", orgId: f.jianwai.id!, lat: 39.9087 + Double(i) * 0.001, lng: 116.4587))
            }
            let two = try await queries(per: 2)
            let twelve = try await queries(per: 12)
            #expect(two > 3 && two == twelve, "a query per row: \(two) for 2 sites, \(twelve) for 12")
            // and each row still carries its amenities and organisation
            let page = try await app.send(.GET, "/api/v1/sites?per=12", jianwai)
            #expect(page.items.allSatisfy { ($0["amenities"] as? [String]) == ["water", "charging"] && $0["orgName"] as? String == "建外街道总工会" })
        }
    }

    /// Twenty-five unions under a street: more than a select lists.
    static func manyUnions(_ app: Application, under street: Organization) async throws {
        for i in 0..<25 {
            try await OrgTree.insert(Organization(kind: .enterprise, name: "北京测试\(i)号科技有限公司工会", parentID: street.id), under: street, on: app.db)
        }
    }

    @Test func deepRosterPagesAreReadByKeyNotByOffset() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            var ids: [Int] = []
            for i in 0..<7 {
                ids.append(try await MemberScopeAndPrivacyTests.member(app, seq: 900 + i, union: f.jianwaiUnion, staff: "jianwai").id)
            }
            ids.sort(by: >)
            let auth = try await app.token("jianwai")
            // the API: each answer says where the next begins
            var seen: [Int] = []
            var path = "/api/v1/members?per=3"
            var offsets: [String] = []
            while true {
                var answer: TestingHTTPResponse!
                offsets += try await app.statements { answer = try await app.send(.GET, path, auth) }.filter { $0.uppercased().contains("OFFSET") && path.contains("after=") }
                #expect(answer.status == .ok)
                #expect(answer.json["total"] as? Int == 7)
                seen += (answer.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                guard let next = answer.json["nextAfter"] as? Int else { break }
                path = "/api/v1/members?per=3&after=\(next)"
            }
            #expect(seen == ids)
            #expect(offsets.isEmpty, "\(offsets)")
            // the console: next and previous links carry the key
            let staff = try await ConsoleSession.signIn(app, "jianwai")
            let first = try await staff.get("/console/members?per=3")
            #expect(first.body.string.contains("after=\(ids[2])") && !first.body.string.contains("before="))
            let second = try await staff.get("/console/members?per=3&after=\(ids[2])")
            #expect(second.body.string.contains("before=\(ids[3])") && second.body.string.contains("after=\(ids[5])"))
            let back = try await staff.get("/console/members?per=3&before=\(ids[3])")
            #expect(back.body.string.contains("after=\(ids[2])") && !back.body.string.contains("before="))
            let last = try await staff.get("/console/members?per=3&after=\(ids[5])")
            #expect(last.body.string.contains("before=\(ids[6])") && !last.body.string.contains("after="))
            #expect(try await app.send(.GET, "/api/v1/members?after=abc", auth).problemFields == ["after"])
        }
    }

    @Test func theCityOpensItsOutreachFiguresByDistrict() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let city = try await ConsoleSession.signIn(app, "admin")
            let page = try await city.get("/console/outreach-stats")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("<option value=\"district\" selected>"))
            let district = try await ConsoleSession.signIn(app, "chaoyang").get("/console/outreach-stats")
            #expect(district.body.string.contains("<option value=\"street\" selected>"))
            let asked = try await city.get("/console/outreach-stats?by=street&orgId=\(f.chaoyang.id!)")
            #expect(asked.body.string.contains("<option value=\"street\" selected>"))
        }
    }
}
