import Fluent
import Foundation
import Testing
import VaporTesting
@testable import Gonghui

/// A fragment found anywhere in a name, on both engines, through `TextSearch`.
@Suite struct TextSearchTests {
    static func ids(_ response: TestingHTTPResponse) -> [Int] {
        (response.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }.sorted()
    }

    static func encoded(_ q: String) -> String { q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    @Test func theLengthOfAFragmentDecidesHowItIsLookedUp() {
        #expect(TextSearch.plan("") == nil)
        #expect(TextSearch.plan(" \u{3} ") == nil)
        #expect(TextSearch.plan("王") == .prefix("王"))
        #expect(TextSearch.plan("正泰") == .terms("正泰"))
        #expect(TextSearch.plan("正泰超市") == .index("正泰超市"))
        #expect(TextSearch.likePattern("5%_\\") == "%5\\%\\_\\\\%")
        #expect(TextSearch.phrase("a\"b") == "\"a\"\"b\"")
    }

    @Test func membersAreFoundByAFragmentOfTheirNameOrEmployerAnywhere() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let a = try await MemberScopeAndPrivacyTests.member(app, seq: 201, union: f.jianwaiUnion, staff: "jianwai",
                                                                name: "王芳", employer: "北京正泰超市2号有限公司")
            let b = try await MemberScopeAndPrivacyTests.member(app, seq: 202, union: f.jianwaiUnion, staff: "jianwai",
                                                                name: "张正泰", employer: "北京华鑫科技有限公司")
            let c = try await MemberScopeAndPrivacyTests.member(app, seq: 203, union: f.jianwaiUnion, staff: "jianwai",
                                                                name: "李四", employer: "上海正泰")
            let other = try await MemberScopeAndPrivacyTests.member(app, seq: 204, union: f.zgcUnion, staff: "zgc",
                                                                    name: "赵六", employer: "北京正泰电器有限公司")
            let chaoyang = try await app.token("chaoyang")
            func found(_ q: String) async throws -> [Int] {
                let response = try await app.send(.GET, "/api/v1/members?q=\(Self.encoded(q))", chaoyang)
                #expect(response.status == .ok, "\(q): \(response.body.string)")
                return Self.ids(response)
            }
            // two characters: inside a name, inside an employer, at the very end of one
            #expect(try await found("正泰") == [a.id, b.id, c.id].sorted())
            #expect(try await found("正泰超市") == [a.id])
            #expect(try await found("泰超") == [a.id])
            #expect(try await found("华鑫科技") == [b.id])
            #expect(try await found("有限公司") == [a.id, b.id].sorted())
            #expect(try await found("王芳") == [a.id])
            #expect(try await found("鑫科") == [b.id])
            // one character: by the beginning, as before
            #expect(try await found("王") == [a.id])
            #expect(try await found("芳") == [])
            // nothing like it, and LIKE's own characters are plain text
            #expect(try await found("正泰超级") == [])
            #expect(try await found("100%") == [])
            #expect(try await found("_") == [])
            // the other district's member stays out of sight
            #expect(!(try await found("正泰电器")).contains(other.id))
            let city = try await app.token("admin")
            #expect(Self.ids(try await app.send(.GET, "/api/v1/members?q=\(Self.encoded("正泰电器"))", city)) == [other.id])

            // a changed employer is found by its new name only (the SQLite index is kept by triggers)
            let member = try #require(try await Member.find(c.id, on: app.db))
            member.employerName = "北京远航物流有限公司"
            try await member.update(on: app.db)
            #expect(try await found("上海正泰") == [])
            #expect(try await found("远航物流") == [c.id])
            #expect(try await found("正泰") == [a.id, b.id].sorted())
        }
    }

    @Test func enterprisesAppealsAndSitesAreFoundByAFragmentAnywhere() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let admin = try await app.token("admin")
            // enterprises
            var firms: [Int] = []
            for (i, name) in ["北京正泰超市2号有限公司", "北京华鑫ABC科技有限公司", "正泰", "北京长城物流有限公司"].enumerated() {
                let created = try await app.send(.POST, "/api/v1/enterprises", jianwai, json: enterpriseJSON(300 + i, name: name, orgId: f.jianwai.id!))
                #expect(created.status == .created, "\(created.body.string)")
                firms.append(try #require(created.json["id"] as? Int))
            }
            func enterprises(_ q: String) async throws -> [Int] {
                Self.ids(try await app.send(.GET, "/api/v1/enterprises?q=\(Self.encoded(q))", jianwai))
            }
            #expect(try await enterprises("正泰") == [firms[0], firms[2]].sorted())
            #expect(try await enterprises("正泰超市") == [firms[0]])
            #expect(try await enterprises("abc") == [firms[1]])
            #expect(try await enterprises("AbC科技") == [firms[1]])
            #expect(try await enterprises("物流") == [firms[3]])
            #expect(try await enterprises("有限公司") == [firms[0], firms[1], firms[3]].sorted())
            // a firm deleted leaves the index with it
            try await EnterpriseContact.query(on: app.db).filter(\.$enterpriseID == firms[2]).delete()
            try await Enterprise.query(on: app.db).filter(\.$id == firms[2]).delete()
            #expect(try await enterprises("正泰") == [firms[0]])

            // appeals, by the employer they name
            var appeals: [Int] = []
            for (i, employer) in ["北京正泰超市2号有限公司", "北京长城物流有限公司"].enumerated() {
                let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "1391111000\(i)", employer: employer, orgId: f.jianwai.id!))
                #expect(created.status == .created, "\(created.body.string)")
                appeals.append(try #require(created.json["id"] as? Int))
            }
            func appealsFound(_ q: String) async throws -> [Int] {
                Self.ids(try await app.send(.GET, "/api/v1/appeals?q=\(Self.encoded(q))", admin))
            }
            #expect(try await appealsFound("正泰") == [appeals[0]])
            #expect(try await appealsFound("长城物流") == [appeals[1]])
            #expect(try await appealsFound("城物") == [appeals[1]])

            // sites, by their name or their host's; the term is not lost beside the other filters
            let station = try await app.site(jianwai, siteJSON("建外正泰驿站", orgId: f.jianwai.id!, lat: 39.9087, lng: 116.4587))
            let hosted = try await app.site(jianwai, siteJSON("建外便民驿站", orgId: f.jianwai.id!, lat: 39.9088, lng: 116.4588,
                                                            extra: ",\"hostName\":\"北京正泰超市\""))
            let plain = try await app.site(jianwai, siteJSON("国贸职工之家", orgId: f.jianwai.id!, lat: 39.9089, lng: 116.4589))
            func sites(_ q: String, _ more: String = "") async throws -> [Int] {
                Self.ids(try await app.send(.GET, "/api/v1/sites?q=\(Self.encoded(q))\(more)", jianwai))
            }
            #expect(try await sites("正泰") == [station, hosted].sorted())
            #expect(try await sites("正泰超市") == [hosted])
            #expect(try await sites("职工之家") == [plain])
            #expect(try await sites("职工之家", "&stale=false") == [plain])
            #expect(try await sites("无此站点", "&stale=false") == [])
        }
    }

    @Test func anImportedRosterIsFoundByAFragmentAndItsDuplicatesAddNothing() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let csv = """
                姓名,身份证号码,手机号码,工作单位
                欧阳娜娜,\(residentID(31)),13800000031,北京正泰超市2号有限公司
                司马光,\(residentID(32)),13800000032,上海远航物流有限公司
                欧阳娜娜,\(residentID(31)),13800000031,北京正泰超市2号有限公司
                """
            let auth = try await app.token("jianwai")
            let job = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "roster.csv", Array(csv.utf8))
            #expect(job["imported"] as? Int == 2, "\(job)")
            func found(_ q: String) async throws -> [String] {
                let r = try await app.send(.GET, "/api/v1/members?q=\(TextSearchTests.encoded(q))", auth)
                return (r.json["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            }
            #expect(try await found("正泰超市") == ["欧阳娜娜"])
            #expect(try await found("正泰") == ["欧阳娜娜"])
            #expect(try await found("阳娜") == ["欧阳娜娜"])
            #expect(try await found("远航物流") == ["司马光"])
            // the same file again: nothing new in the index either
            _ = try await RosterImportTests.upload(app, auth, orgID: f.jianwaiUnion.id!, name: "again.csv", Array(csv.utf8))
            #expect(try await found("正泰") == ["欧阳娜娜"])
            // and a member written afterwards through the app is indexed by the trigger again
            _ = try await MemberScopeAndPrivacyTests.member(app, seq: 33, union: f.jianwaiUnion, staff: "jianwai", name: "诸葛亮", employer: "北京正泰电器有限公司")
            #expect(Set(try await found("正泰")) == ["欧阳娜娜", "诸葛亮"])
        }
    }
}
