import Fluent
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct OrganizationTests {
    @Test func firstMigrationCreatesTheCityAndSeventeenDistricts() async throws {
        try await withApp { app in
            let city = try await Organization.query(on: app.db).filter(\.$parentID == nil).all()
            #expect(city.count == 1)
            #expect(city[0].divisionCode == "110000")
            let districts = try await Organization.query(on: app.db).filter(\.$kind == .district).all()
            #expect(districts.count == 17)
            #expect(districts.contains { $0.name == "朝阳区总工会" && $0.divisionCode == "110105" })
            #expect(districts.contains { $0.name == "北京经济技术开发区总工会" && $0.divisionCode == nil })
            #expect(districts.allSatisfy { $0.path == "/\(city[0].id!)/\($0.id!)/" && $0.depth == 1 })
        }
    }

    @Test func migratingAgainChangesNothing() async throws {
        try await withApp { app in
            try await app.autoMigrate()
            #expect(try await Organization.query(on: app.db).count() == 18)
        }
    }

    @Test func createsAUnionWithDetailsAndAudits() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            // act
            let response = try await app.send(.POST, "/api/v1/orgs", auth, json: """
                {"kind":"enterprise","name":" 北京  京信物流有限公司工会 ","parentId":\(f.jianwai.id!),
                 "creditCode":"９１３５０１００m０００１００y４３","foundedOn":"2019/5/1","termEndsOn":"2024-04-30",
                 "chairName":"王磊","contactPhone":"+86 138 0013 8000","address":"建国门外大街1号"}
                """)
            // verify
            #expect(response.status == .created, "\(response.body.string)")
            let json = response.json
            #expect(json["name"] as? String == "北京 京信物流有限公司工会")
            #expect(json["creditCode"] as? String == "91350100M000100Y43")
            #expect(json["foundedOn"] as? String == "2019-05-01")
            #expect(json["contactPhone"] as? String == "13800138000")
            #expect((json["warnings"] as? [Any])?.isEmpty == true)
            #expect(try await app.auditCount("org.create") == 1)
        }
    }

    @Test func aCreditCodeFailingItsChecksumIsAWarningNotARejection() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jianwai")
            let response = try await app.send(.POST, "/api/v1/orgs", auth, json: """
                {"kind":"enterprise","name":"试点企业工会","parentId":\(f.jianwai.id!),"creditCode":"91350100M000100Y44"}
                """)
            #expect(response.status == .created)
            let warnings = response.json["warnings"] as? [[String: Any]]
            #expect(warnings?.first?["field"] as? String == "creditCode")
            #expect(warnings?.first?["code"] as? String == "checksum")
            // the same code again is a conflict
            let again = try await app.send(.POST, "/api/v1/orgs", auth, json: """
                {"kind":"enterprise","name":"另一个","parentId":\(f.jianwai.id!),"creditCode":"91350100M000100Y44"}
                """)
            #expect(again.status == .conflict)
            #expect(again.headers.contentType?.description.hasPrefix("application/problem+json") == true)
        }
    }

    @Test func badInputNamesEveryFieldInTheCallersLanguage() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            var auth = try await app.token("jianwai")
            let body = """
                {"kind":"factory","name":"","parentId":\(f.jianwai.id!),"creditCode":"123","divisionCode":"11","foundedOn":"2099-01-01",
                 "contactPhone":"call me","address":"\(String(repeating: "长", count: 201))"}
                """
            let zh = try await app.send(.POST, "/api/v1/orgs", auth, json: body)
            #expect(zh.status == .unprocessableEntity)
            #expect(Set(zh.problemFields) == ["kind", "name", "creditCode", "divisionCode", "foundedOn", "contactPhone", "address"])
            #expect(zh.json["title"] as? String == "提交的内容有误")
            auth.replaceOrAdd(name: .acceptLanguage, value: "en-US,en;q=0.9")
            let en = try await app.send(.POST, "/api/v1/orgs", auth, json: body)
            #expect(en.json["title"] as? String == "Some fields are not valid")
            let messages = (en.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            #expect(messages.contains("Name is required"))
        }
    }

    @Test func malformedBodiesAreFourHundredsNeverFiveHundreds() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let admin = try await app.token("admin")
            for body in ["not json", "[1,2]", "{\"parentId\":\"one\"}", "{\"name\":null}", "{\"parentId\":1e400}", "\"x\""] {
                let response = try await app.send(.POST, "/api/v1/orgs", admin, json: body)
                #expect((400...422).contains(Int(response.status.code)), "\(body) → \(response.status)")
            }
            let typeError = try await app.send(.POST, "/api/v1/orgs", admin, json: "{\"parentId\":\"one\"}")
            #expect(typeError.problemFields == ["parentId"])
            for path in ["/api/v1/orgs/abc", "/api/v1/orgs/-1", "/api/v1/orgs/99999999999999999999", "/api/v1/orgs/0"] {
                #expect(try await app.send(.GET, path, admin).status == .notFound)
            }
            let query = try await app.send(.GET, "/api/v1/orgs?parentId=x&page=0&per=1000&kind=zzz", admin)
            #expect(query.status == .unprocessableEntity)
            #expect(Set(query.problemFields) == ["parentId", "page", "per", "kind"])
        }
    }

    @Test func refusesKindsThatDoNotFitTheTree() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("chaoyang")
            let street = try await app.send(.POST, "/api/v1/orgs", auth, json: "{\"kind\":\"street\",\"name\":\"x\",\"parentId\":\(f.jianwai.id!)}")
            #expect(street.status == .unprocessableEntity)
            #expect(street.problemFields == ["parentId"])
            let underUnion = try await app.send(.POST, "/api/v1/orgs", auth, json: "{\"kind\":\"enterprise\",\"name\":\"x\",\"parentId\":\(f.jianwaiUnion.id!)}")
            #expect(underUnion.problemFields == ["parentId"])
        }
    }

    @Test func movesASubtreeAndKeepsEveryPathTrue() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("admin")
            let moved = try await app.send(.PATCH, "/api/v1/orgs/\(f.jianwai.id!)", auth, json: "{\"parentId\":\(f.haidian.id!)}")
            #expect(moved.status == .ok, "\(moved.body.string)")
            let union = try await Organization.find(f.jianwaiUnion.id, on: app.db)!
            #expect(union.path == "/\(f.city.id!)/\(f.haidian.id!)/\(f.jianwai.id!)/\(union.id!)/")
            #expect(union.depth == 3)
            #expect(try await app.auditCount("org.move") == 1)
            // haidian's staff now see it; chaoyang's no longer do
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/orgs/\(union.id!)", haidian).status == .ok)
            let chaoyang = try await app.token("chaoyang")
            #expect(try await app.send(.GET, "/api/v1/orgs/\(union.id!)", chaoyang).status == .notFound)
            // a node cannot move under its own descendant
            let cycle = try await app.send(.PATCH, "/api/v1/orgs/\(f.haidian.id!)", auth, json: "{\"parentId\":\(f.jianwai.id!)}")
            #expect(cycle.status == .unprocessableEntity)
        }
    }

    @Test func deleteRefusesNodesWithChildrenOrAccountsWithAClearMessage() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("admin")
            let withChildren = try await app.send(.DELETE, "/api/v1/orgs/\(f.jianwai.id!)", auth)
            #expect(withChildren.status == .conflict)
            #expect((withChildren.json["detail"] as? String)?.contains("1 个下级组织") == true)
            let withStaff = try await app.send(.DELETE, "/api/v1/orgs/\(f.jianwaiUnion.id!)", auth)
            #expect(withStaff.status == .conflict)
            #expect((withStaff.json["detail"] as? String)?.contains("工作人员账号") == true)
            let empty = try await app.send(.DELETE, "/api/v1/orgs/\(f.zgcUnion.id!)", auth)
            #expect(empty.status == .noContent)
            #expect(try await Organization.find(f.zgcUnion.id, on: app.db) == nil)
            #expect(try await app.auditCount("org.delete") == 1)
        }
    }

    @Test func patchClearsOnlyWhatItNames() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("jwunion")
            let set = try await app.send(.PATCH, "/api/v1/orgs/\(f.jianwaiUnion.id!)", auth, json: "{\"chairName\":\"刘洋\",\"address\":\"光华路\"}")
            #expect(set.status == .ok)
            let cleared = try await app.send(.PATCH, "/api/v1/orgs/\(f.jianwaiUnion.id!)", auth, json: "{\"address\":null}")
            #expect(cleared.json["chairName"] as? String == "刘洋")
            #expect(cleared.json["address"] == nil)
            // a union admin edits its own node's details but cannot move it or make new nodes
            let move = try await app.send(.PATCH, "/api/v1/orgs/\(f.jianwaiUnion.id!)", auth, json: "{\"parentId\":\(f.chaoyang.id!)}")
            #expect(move.status == .unprocessableEntity)
            let create = try await app.send(.POST, "/api/v1/orgs", auth, json: "{\"kind\":\"other\",\"name\":\"x\",\"parentId\":\(f.jianwaiUnion.id!)}")
            #expect(create.status == .forbidden)
        }
    }

    @Test func listsChildrenAndSearchesWithCounts() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let auth = try await app.token("chaoyang")
            let children = try await app.send(.GET, "/api/v1/orgs?parentId=\(f.chaoyang.id!)", auth)
            #expect(children.json["total"] as? Int == 1)
            let search = try await app.send(.GET, "/api/v1/orgs?q=%E5%8D%8E%E8%81%94", auth) // 华联
            #expect(search.json["total"] as? Int == 1)
            let show = try await app.send(.GET, "/api/v1/orgs/\(f.chaoyang.id!)", auth)
            let counts = show.json["counts"] as? [String: Int]
            #expect(counts == ["children": 1, "descendants": 2, "grassroots": 1, "staff": 3])
        }
    }

    @Test func seedMakesAConsistentTree() async throws {
        try await withApp { app in
            #expect(try await Seeder(db: app.db, progress: { _ in }).seed(.demo))
            #expect(try await !Seeder(db: app.db, progress: { _ in }).seed(.demo))
            let unions = try await Organization.query(on: app.db).filter(\.$depth == 3).all()
            #expect(unions.count == 400)
            let streets = try await Organization.query(on: app.db).filter(\.$kind == .street).all()
            #expect(streets.count > 60)
            let byID = Dictionary(uniqueKeysWithValues: streets.map { ($0.id!, $0) })
            #expect(unions.allSatisfy { u in byID[u.parentID!].map { s in u.path == s.path + "\(u.id!)/" } ?? false })
            #expect(Set(unions.map(\.kind)) == [.enterprise, .community, .building, .industry, .other])
            #expect(unions.allSatisfy { !$0.creditCodeChecksumFails })
        }
    }
}
