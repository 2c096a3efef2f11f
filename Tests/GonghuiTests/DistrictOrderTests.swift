import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 14, item 13: districts in one order everywhere, the GB/T 2260 code order, the
/// development zone (no code) last.
@Suite struct DistrictOrderTests {
    static let official = ["东城区", "西城区", "朝阳区", "丰台区", "石景山区", "海淀区", "门头沟区", "房山区", "通州区", "顺义区",
                           "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区", "北京经济技术开发区"]

    /// The districts in the order the text names them.
    static func order(in text: String) -> [String] {
        official.compactMap { name in text.range(of: name).map { (name, $0.lowerBound) } }
            .sorted { $0.1 < $1.1 }.map(\.0)
    }

    @Test func everyListOfDistrictsIsInCodeOrder() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            // public pages
            for path in ["/sites", "/join"] {
                let html = try await app.testing().sendRequest(.GET, path, headers: ["Accept": "text/html"]).body.string
                #expect(Self.order(in: html) == Self.official, "\(path)")
            }
            // console pages
            let admin = try await ConsoleSession.signIn(app, "admin")
            for path in ["/console/orgs", "/console/appeal-stats", "/console/sites", "/console/enterprises", "/console/staff/new"] {
                let html = try await admin.get(path).body.string
                #expect(Self.order(in: html).filter { html.contains($0) } == Self.official.filter { html.contains($0) }, "\(path)")
                #expect(Self.order(in: html).count >= 2, "\(path)")
            }
        }
    }

    @Test func statisticsByUnitListDistrictsInCodeOrderNotByCount() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            // setup: more appeals in 海淀 (110108) than in 朝阳 (110105)
            for (n, org) in [f.zhongguancun, f.zhongguancun, f.jianwai].enumerated() {
                let created = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(phone: "1390000003\(n)", orgId: org.id!, description: "第\(n)件"))
                #expect(created.status == .created)
            }
            let stats = try await app.send(.GET, "/api/v1/appeal-stats?by=unit", try await app.token("admin"))
            let keys = ((stats.json["rows"] as? [[String: Any]]) ?? []).compactMap { $0["key"] as? String }
            #expect(keys == [String(f.chaoyang.id!), String(f.haidian.id!)])
        }
    }

    @Test func theOrderPutsParentsFirstAndNodesWithoutACodeLast() {
        func node(_ id: Int, _ path: String, _ code: String?) -> Organization {
            let org = Organization(kind: .district, name: "\(id)", parentID: nil)
            org.id = id
            org.path = path
            org.divisionCode = code
            return org
        }
        let city = node(1, "/1/", "110000")
        let zone = node(2, "/1/2/", nil)
        let haidian = node(3, "/1/3/", "110108")
        let chaoyang = node(4, "/1/4/", "110105")
        let street = node(5, "/1/3/5/", nil)
        let sorted = OrgOrder.sorted([zone, street, haidian, chaoyang, city]).compactMap(\.id)
        #expect(sorted == [1, 4, 3, 5, 2])
    }
}
