import Fluent
import Testing
import VaporTesting
@testable import Gonghui

/// Two sibling districts' accounts go through every route; neither reaches the other's records.
@Suite struct ScopeTests {
    @Test func siblingDistrictsCannotReachEachOthersRecordsThroughTheAPI() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let chaoyang = try await app.token("chaoyang")
            let haidian = try await app.token("haidian")
            let haidianStaff = try await StaffUser.query(on: app.db).filter(\.$username == "zgc").first()!
            let chaoyangStaff = try await StaffUser.query(on: app.db).filter(\.$username == "jianwai").first()!

            for (auth, other, otherStreet, otherUnion, otherStaff) in [
                (chaoyang, f.haidian, f.zhongguancun, f.zgcUnion, haidianStaff),
                (haidian, f.chaoyang, f.jianwai, f.jianwaiUnion, chaoyangStaff),
            ] {
                for org in [other, otherStreet, otherUnion, f.city] {
                    #expect(try await app.send(.GET, "/api/v1/orgs/\(org.id!)", auth).status == .notFound)
                    #expect(try await app.send(.PATCH, "/api/v1/orgs/\(org.id!)", auth, json: "{\"name\":\"hijack\"}").status == .notFound)
                    #expect(try await app.send(.DELETE, "/api/v1/orgs/\(org.id!)", auth).status == .notFound)
                    #expect(try await app.send(.GET, "/api/v1/orgs?parentId=\(org.id!)", auth).status == .notFound)
                    #expect(try await app.send(.GET, "/api/v1/staff?orgId=\(org.id!)", auth).status == .notFound)
                }
                let create = try await app.send(.POST, "/api/v1/orgs", auth, json: "{\"kind\":\"enterprise\",\"name\":\"x\",\"parentId\":\(otherStreet.id!)}")
                #expect(create.status == .unprocessableEntity)
                #expect(create.problemFields == ["parentId"])
                let staff = try await app.send(.POST, "/api/v1/staff", auth, json: """
                    {"username":"intruder","password":"secret123","role":"streetStaff","orgId":\(otherStreet.id!)}
                    """)
                #expect(staff.problemFields == ["orgId"])
                #expect(try await app.send(.GET, "/api/v1/staff/\(otherStaff.id!)", auth).status == .notFound)
                #expect(try await app.send(.PATCH, "/api/v1/staff/\(otherStaff.id!)", auth, json: "{\"disabled\":true}").status == .notFound)
                // moving one's own node under the other district is refused too
                let steal = try await app.send(.PATCH, "/api/v1/orgs/\(otherUnion.id!)", auth, json: "{\"parentId\":\(f.jianwai.id!)}")
                #expect(steal.status == .notFound)
                // lists and search never show the other side
                let all = try await app.send(.GET, "/api/v1/orgs?per=200", auth)
                let ids = ((all.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int }
                #expect(!ids.contains(other.id!) && !ids.contains(otherStreet.id!) && !ids.contains(otherUnion.id!))
                let staffList = try await app.send(.GET, "/api/v1/staff?per=200", auth)
                let names = ((staffList.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["username"] as? String }
                #expect(!names.contains(otherStaff.username))
                // the audit log shows only their own subtree
                let audit = try await app.send(.GET, "/api/v1/audit?per=200", auth)
                let orgIDs = ((audit.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["orgId"] as? Int }
                #expect(!orgIDs.isEmpty)
                #expect(!orgIDs.contains(otherStreet.id!) && !orgIDs.contains(otherUnion.id!) && !orgIDs.contains(other.id!))
            }
            // nothing of haidian's changed
            #expect(try await Organization.find(f.zgcUnion.id, on: app.db)?.name == "北京中科软件有限公司工会")
            #expect(try await StaffUser.find(haidianStaff.id, on: app.db)?.disabledAt == nil)
        }
    }

    @Test func siblingDistrictsCannotReachEachOthersRecordsThroughThePages() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let session = try await ConsoleSession.signIn(app, "chaoyang")
            let other = try await StaffUser.query(on: app.db).filter(\.$username == "zgc").first()!
            for path in ["/console/orgs?id=\(f.haidian.id!)", "/console/orgs?id=\(f.zgcUnion.id!)",
                         "/console/orgs/\(f.zgcUnion.id!)/edit", "/console/orgs/new?parent=\(f.zhongguancun.id!)",
                         "/console/orgs/export.csv?id=\(f.haidian.id!)", "/console/staff/\(other.id!)"] {
                #expect(try await session.get(path).status == .notFound, "\(path)")
            }
            for path in ["/console/orgs/\(f.zgcUnion.id!)/edit", "/console/orgs/\(f.zgcUnion.id!)/delete", "/console/staff/\(other.id!)"] {
                #expect(try await session.post(path, ["name": "hijack", "displayName": "hijack"]).status == .notFound, "\(path)")
            }
            let mine = try await session.get("/console/orgs?id=\(f.chaoyang.id!)")
            #expect(mine.status == .ok)
            #expect(mine.body.string.contains("建外街道总工会"))
            #expect(!mine.body.string.contains("中关村"))
        }
    }

    @Test func lowerRolesCannotGrantHigherRolesOrReadTheAuditLog() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let street = try await app.token("jianwai")
            let escalate = try await app.send(.POST, "/api/v1/staff", street, json: """
                {"username":"boss","password":"secret123","role":"districtStaff","orgId":\(f.chaoyang.id!)}
                """)
            #expect(escalate.status == .unprocessableEntity)
            #expect(Set(escalate.problemFields) == ["role", "orgId"])
            let hotline = try await app.token("hotline")
            #expect(try await app.send(.GET, "/api/v1/audit", hotline).status == .forbidden)
            #expect(try await app.send(.POST, "/api/v1/orgs", hotline, json: "{\"kind\":\"district\",\"name\":\"x\",\"parentId\":\(f.city.id!)}").status == .forbidden)
            #expect(try await app.send(.GET, "/api/v1/audit", street).status == .forbidden)
        }
    }
}
