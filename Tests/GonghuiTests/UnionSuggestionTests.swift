import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, item 2: approving preselects the applicant's employer's union, never the first union
/// in alphabetical order; without a match nothing is chosen and approval waits for a choice.
@Suite struct UnionSuggestionTests {
    @Test func theApplicationPageAndTheBoothPreselectTheEmployersUnionOrNothing() async throws {
        try await withApp { app in
            // setup: a union that sorts first, the employer's union with its credit code, three applications
            let f = try await Fixture.make(app)
            let first = Organization(kind: .enterprise, name: "A公司工会", parentID: f.jianwai.id)
            try await OrgTree.insert(first, under: f.jianwai, on: app.db)
            f.jianwaiUnion.creditCode = "91350100M000100Y43"
            try await f.jianwaiUnion.save(on: app.db)
            func apply(_ n: Int, employer: String, code: String? = nil) async throws -> Int {
                let extra = code.map { ",\"employerCreditCode\":\"\($0)\"" } ?? ""
                let created = try await app.send(.POST, "/api/v1/member-applications",
                                                 json: applicationJSON(id: residentID(n), phone: "1391234567\(n)", orgId: f.jianwai.id!,
                                                                       employer: employer, extra: extra))
                #expect(created.status == .created, "\(created.body.string)")
                return try #require(created.json["id"] as? Int)
            }
            let byCode = try await apply(1, employer: "华联科技", code: "91350100M000100Y43")
            let byName = try await apply(2, employer: "北京华联科技有限公司")
            let unknown = try await apply(3, employer: "顺丰速运")
            let union = f.jianwaiUnion.id!
            let session = try await ConsoleSession.signIn(app, "jianwai")

            // verify: the application pages
            for id in [byCode, byName] {
                let html = try await session.get("/console/applications/\(id)").body.string
                #expect(html.contains("<option value=\"\(union)\" selected>北京华联科技有限公司工会</option>"), "application \(id)")
                #expect(html.contains("<option value=\"\(first.id!)\">A公司工会</option>"))
            }
            let none = try await session.get("/console/applications/\(unknown)").body.string
            #expect(none.contains("<option value=\"\">请选择</option>"))
            #expect(!none.contains("\" selected>"))
            // approval without a choice is refused and the application stays open
            let refused = try await session.post("/console/applications/\(unknown)/approve", ["orgId": ""])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("请选择会员所属的基层工会"))
            #expect(try await MemberApplication.find(unknown, on: app.db)?.status == .pending)

            // the booth's feed carries the same suggestion for its one-tap approve
            let feed = try await session.get("/console/booth/feed?org=\(f.jianwai.id!)&after=0", headers: ["Accept": "application/json"])
            let items = (feed.json["items"] as? [[String: Any]]) ?? []
            let suggested = Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as? Int ?? 0, $0["suggestedOrgId"] as? Int) })
            #expect(suggested[byCode] == union && suggested[byName] == union)
            #expect(suggested[unknown] == .some(nil))
            let booth = try await session.get("/console/booth?org=\(f.jianwai.id!)").body.string
            #expect(booth.contains("<template id=\"unions\"><option value=\"\">请选择</option>"))
        }
    }

    @Test func theRosterImportChoosesNoUnionForAStreetAndItsOwnForAUnion() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let street = try await ConsoleSession.signIn(app, "jianwai")
            let page = try await street.get("/console/members/import").body.string
            #expect(page.contains("<select name=\"orgId\" required><option value=\"\">请选择</option>"))
            #expect(!page.contains("\" selected>"))
            let union = try await ConsoleSession.signIn(app, "jwunion")
            let own = try await union.get("/console/members/import").body.string
            #expect(own.contains("<option value=\"\(f.jianwaiUnion.id!)\" selected>北京华联科技有限公司工会</option>"))
        }
    }

    @Test func aUnionAdminReviewingIsOfferedItsOwnUnion() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let created = try await app.send(.POST, "/api/v1/member-applications",
                                             json: applicationJSON(id: residentID(5), orgId: f.jianwai.id!, employer: "顺丰速运"))
            let id = try #require(created.json["id"] as? Int)
            let application = try #require(try await MemberApplication.find(id, on: app.db))
            let dto = ApplicationDTO(application, org: f.jianwai, cipher: app.fieldCipher)
            let scope = Scope(staffID: 1, username: "jwunion", displayName: "jwunion", role: .unionAdmin, rootID: f.jianwaiUnion.id!,
                              root: f.jianwaiUnion.treePath, rootName: f.jianwaiUnion.name)
            let suggested = try await UnionSuggestion.suggest([dto], filer: scope, within: f.jianwai.treePath, on: app.db)
            #expect(suggested[id]?.id == f.jianwaiUnion.id)
        }
    }
}
