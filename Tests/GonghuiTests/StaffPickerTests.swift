import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, item 1: any node of the subtree can get an account from the console, and the demo
/// makes every account it prints.
@Suite struct StaffPickerTests {
    @Test func theStaffFormFindsAGrassrootsUnionByNameAndGivesItAnAccount() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let session = try await ConsoleSession.signIn(app, "admin")
            // act: the search without JavaScript posts the form with its search button
            let found = try await session.post("/console/staff/new", [
                "username": "liuyang", "displayName": "刘洋", "password": "", "role": "unionAdmin", "orgId": String(f.city.id!),
                "orgQ": "华联", "findOrg": "1",
            ])
            // verify: the same form again, the union offered and chosen, nothing created
            #expect(found.status == .ok, "\(found.body.string)")
            let html = found.body.string
            #expect(html.contains("<option value=\"\(f.jianwaiUnion.id!)\" selected>北京华联科技有限公司工会 · 朝阳区总工会 › 建外街道总工会</option>"))
            #expect(html.contains("value=\"liuyang\""))
            #expect(try await StaffUser.query(on: app.db).filter(\.$username == "liuyang").count() == 0)

            let created = try await session.post("/console/staff/new", [
                "username": "liuyang", "displayName": "刘洋", "password": "gonghui2024", "role": "unionAdmin",
                "orgId": String(f.jianwaiUnion.id!),
            ])
            #expect(created.status == .seeOther, "\(created.body.string)")
            let staff = try #require(try await StaffUser.query(on: app.db).filter(\.$username == "liuyang").first())
            #expect(staff.orgID == f.jianwaiUnion.id && staff.role == .unionAdmin)

            // No choice made: "please choose", and the form says what is missing.
            let blank = try await session.post("/console/staff/new", [
                "username": "nobody", "displayName": "某人", "password": "gonghui2024", "role": "unionAdmin", "orgId": "",
            ])
            #expect(blank.status == .unprocessableEntity)
            #expect(blank.body.string.contains("<option value=\"\" selected>请选择</option>"))
        }
    }

    @Test func thePickersSearchEndpointStaysInsideTheSubtree() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await ConsoleSession.signIn(app, "admin")
            let all = try await admin.get("/console/orgs/pick?q=%E5%B7%A5%E4%BC%9A&role=unionAdmin", headers: ["Accept": "application/json"])
            #expect(all.status == .ok)
            let ids = ((all.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int }
            #expect(Set(ids) == [f.jianwaiUnion.id!, f.zgcUnion.id!])

            let street = try await ConsoleSession.signIn(app, "jianwai")
            let mine = try await street.get("/console/orgs/pick?q=%E5%B7%A5%E4%BC%9A", headers: ["Accept": "application/json"])
            let names = ((mine.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
            #expect(names.contains("北京华联科技有限公司工会") && !names.contains("北京中科软件有限公司工会"))

            let bad = try await app.testing().sendRequest(.GET, "/console/orgs/pick?q=", headers: ["Cookie": street.cookie, "Accept": "application/json"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.problemFields == ["q"])
        }
    }

    @Test func theDemoMakesEveryAccountItPrints() async throws {
        try await withApp { app in
            // setup: the demo's tree
            #expect(try await Seeder(db: app.db, progress: { _ in }).seed(.demo))
            // act
            try await Demo.ensureAccounts(app)
            // verify
            for account in Demo.accounts {
                let staff = try #require(try await StaffUser.query(on: app.db).filter(\.$username == account.username).first(), "\(account.username)")
                #expect(staff.role == account.role)
                let org = try #require(try await Organization.find(staff.orgID, on: app.db))
                #expect(account.role.fits(org.kind), "\(account.username) at \(org.name)")
            }
        }
    }

    @Test func theDemoStopsWhenAnAccountsNodeIsMissing() async throws {
        try await withApp(configured: { _ in }) { app in
            // setup: districts only, no streets or unions
            #expect(try await Organization.query(on: app.db).filter(\.$kind == .street).count() == 0)
            // act
            var missing: String?
            do { try await Demo.ensureAccounts(app) } catch let error as Demo.MissingNode { missing = error.username }
            // verify: it names the first account it could not place
            #expect(missing == "jianwai")
        }
    }
}
