import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Plans a union enrols its unit in, claims by application with documents, and the random review.
@Suite struct MutualAidEnrolmentTests {
    typealias S = AidSupport

    @Test func aUnionEnrolsItsWomenWorkersAndAClaimIsReviewedAndPaidUpToTheShare() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin"), union = try await app.token("jwunion"), chaoyang = try await app.token("chaoyang")
            let planID = try await S.plan(app, admin, kind: "womenSpecial", extra: """
                ,"admission":"enrolled","sharePriceYuan":25,"perClaimCapYuan":15000,"minShare":0.8,"waitingDays":0
                """)
            // ratio 0.5 from the helper; a plan of its own kind pays a ratio of what is asked
            let w1 = try await S.member(app, seq: 302, union: f.jianwaiUnion, staff: "jianwai", name: "赵丽")
            let w2 = try await S.member(app, seq: 304, union: f.jianwaiUnion, staff: "jianwai", name: "钱芳")
            let w3 = try await S.member(app, seq: 306, union: f.jianwaiUnion, staff: "jianwai", name: "孙敏")
            let man = try await S.member(app, seq: 301, union: f.jianwaiUnion, staff: "jianwai", name: "周强")
            let mixed = try await app.send(.POST, "/api/v1/mutual-aid-enrolments", union,
                                           json: "{\"planId\":\(planID),\"orgId\":\(f.jianwaiUnion.id!),\"memberIds\":[\(w1.id),\(man.id)]}")
            #expect(mixed.status == .unprocessableEntity)
            #expect(mixed.body.string.contains("周强"))
            let small = try await app.send(.POST, "/api/v1/mutual-aid-enrolments", union,
                                           json: "{\"planId\":\(planID),\"orgId\":\(f.jianwaiUnion.id!),\"memberIds\":[\(w1.id)]}")
            #expect(small.status == .created, "\(small.body.string)")
            let smallID = try #require(small.json["id"] as? Int)
            let refused = try await app.send(.POST, "/api/v1/mutual-aid-enrolments/\(smallID)/actions", union, json: #"{"action":"submit"}"#)
            #expect(refused.status == .conflict)
            #expect(refused.problemCodes == ["minShare"])
            #expect(try await app.send(.POST, "/api/v1/mutual-aid-enrolments/\(smallID)/actions", union, json: #"{"action":"cancel"}"#).status == .ok)
            // The whole unit by ID numbers (a roster file's column), matched by blind index.
            let full = try await app.send(.POST, "/api/v1/mutual-aid-enrolments", union, json: """
                {"planId":\(planID),"orgId":\(f.jianwaiUnion.id!),"idNumbers":["\(w1.idNumber)","\(w2.idNumber)","\(w3.idNumber)"]}
                """)
            #expect(full.status == .created, "\(full.body.string)")
            #expect(full.json["members"] as? Int == 3)
            #expect(full.json["amountYuan"] as? Double == 75)
            let enrolmentID = try #require(full.json["id"] as? Int)
            let twice = try await app.send(.POST, "/api/v1/mutual-aid-enrolments", union,
                                           json: "{\"planId\":\(planID),\"orgId\":\(f.jianwaiUnion.id!),\"memberIds\":[\(w2.id)]}")
            #expect(twice.status == .conflict)
            #expect(twice.body.string.contains("钱芳"))
            func act(_ auth: HTTPHeaders, _ json: String) async throws -> TestingHTTPResponse {
                try await app.send(.POST, "/api/v1/mutual-aid-enrolments/\(enrolmentID)/actions", auth, json: json)
            }
            #expect(try await act(union, #"{"action":"submit"}"#).status == .ok)
            #expect(try await act(union, #"{"action":"confirm"}"#).status == .forbidden)
            #expect(try await act(try await app.token("haidian"), #"{"action":"confirm"}"#).status == .notFound)
            #expect(try await act(chaoyang, #"{"action":"confirm"}"#).status == .ok)
            let paid = try await act(chaoyang, "{\"action\":\"pay\",\"paidOn\":\"\(S.day(40))\",\"paymentRef\":\"ZH-001\"}")
            #expect(paid.json["state"] as? String == "inForce", "\(paid.body.string)")
            #expect(paid.json["coverFrom"] as? String == max(S.day(39), "\(S.year)-01-01"))
            let premium = try await FundEntry.query(on: app.db).filter(\.$ref == "mutual-aid-enrolment:\(enrolmentID)").all()
            #expect(premium.map(\.amountFen) == [7_500])
            // An application by the union: not before cover; reviewed, asked for more, approved within the share's cap.
            let early = try await app.send(.POST, "/api/v1/mutual-aid-claims", union, json: """
                {"planId":\(planID),"memberId":\(w1.id),"eventDate":"\(S.year - 1)-12-01","askedYuan":20000,"description":"乳腺癌确诊"}
                """)
            #expect(early.status == .conflict)
            let claim = try await app.send(.POST, "/api/v1/mutual-aid-claims", union, json: """
                {"planId":\(planID),"memberId":\(w1.id),"eventDate":"\(S.day(0))","askedYuan":40000,"description":"乳腺癌确诊，二级以上医院诊断证明"}
                """)
            #expect(claim.status == .created, "\(claim.body.string)")
            #expect(claim.json["outcome"] as? String == "pending")
            let claimID = try #require(claim.json["id"] as? Int)
            func decide(_ auth: HTTPHeaders, _ json: String) async throws -> TestingHTTPResponse {
                try await app.send(.POST, "/api/v1/mutual-aid-claims/\(claimID)/actions", auth, json: json)
            }
            #expect(try await decide(union, #"{"action":"approve"}"#).status == .forbidden)
            #expect(try await decide(chaoyang, #"{"action":"requestInfo","reason":"请补充病理报告"}"#).json["state"] as? String == "moreInfo")
            #expect(try await decide(chaoyang, #"{"action":"approve"}"#).status == .conflict)
            #expect(try await decide(union, #"{"action":"resubmit"}"#).json["state"] as? String == "submitted")
            #expect(try await decide(chaoyang, #"{"action":"approve","amountYuan":16000}"#).status == .unprocessableEntity)
            let approved = try await decide(chaoyang, #"{"action":"approve"}"#)
            #expect(approved.json["benefitYuan"] as? Double == 10000) // the yearly cap of ¥10,000 is below the share's ¥15,000
            #expect(approved.json["state"] as? String == "approved")
            // The member applies from the phone, with a document; another district sees nothing of it.
            let member = try #require(try await Member.find(w2.id, on: app.db))
            var me = HTTPHeaders()
            me.bearerAuthorization = .init(token: try await MemberAuth.issueToken(for: member, on: app.db).0)
            let mine = try await app.send(.POST, "/api/v1/me/mutual-aid-claims", me, json: """
                {"planId":\(planID),"eventDate":"\(S.day(0))","askedYuan":3000,"description":"宫颈癌确诊"}
                """)
            #expect(mine.status == .created, "\(mine.body.string)")
            let mineID = try #require(mine.json["id"] as? Int)
            var upload = me
            upload.contentType = HTTPMediaType(type: "application", subType: "pdf")
            upload.replaceOrAdd(name: "X-File-Name", value: "diagnosis.pdf")
            let file = try await app.testing().sendRequest(.POST, "/api/v1/me/mutual-aid-claims/\(mineID)/attachments", headers: upload,
                                                           body: ByteBuffer(string: "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"))
            #expect(file.status == .created, "\(file.body.string)")
            #expect(try await app.send(.GET, "/api/v1/mutual-aid-claims/\(mineID)/attachments", chaoyang).status == .ok)
            #expect(try await app.send(.GET, "/api/v1/mutual-aid-claims/\(mineID)/attachments", try await app.token("haidian")).status == .notFound)
            let myView = try await app.send(.GET, "/api/v1/me/mutual-aid", me).json
            #expect((myView["plans"] as? [[String: Any]])?.first?["byApplication"] as? Bool == true)
            let rejected = try await app.send(.POST, "/api/v1/mutual-aid-claims/\(mineID)/actions", chaoyang, json: #"{"action":"reject","code":"documents","reason":"诊断证明不清晰"}"#)
            #expect(rejected.json["outcome"] as? String == "rejected")
            #expect(rejected.json["rejectCode"] as? String == "documents")
        }
    }

    @Test func aShareOfAutomaticClaimsIsDrawnForReviewAndARejectionGivesTheCapBack() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            _ = try await S.plan(app, admin, kind: "outpatient", extra: #","reviewShare":1"#)
            let a = try await S.member(app, seq: 221, union: f.jianwaiUnion, staff: "jianwai")
            try await AidPlanController.setRemitted(org: f.jianwaiUnion.id!, year: S.year, remitted: true, staffID: nil, on: app.db)
            let job = try await S.importFile(app, admin, S.csv([[a.idNumber, "R1", "门诊", S.day(3), "9000", "3000", "5300"]]))
            #expect((job["counts"] as? [String: Int])?["paid"] == 1)
            let claim = try #require(try await S.claims(app, admin).first)
            #expect(claim["state"] as? String == "review")
            let id = try #require(claim["id"] as? Int)
            let r = try await app.send(.POST, "/api/v1/mutual-aid-claims/\(id)/actions", try await app.token("chaoyang"),
                                       json: #"{"action":"reject","code":"duplicate","reason":"与商业保险重复报销"}"#)
            #expect(r.status == .ok, "\(r.body.string)")
            let used = try await (app.db as! any SQLDatabase).raw("SELECT used_fen FROM mutual_aid_usage").first()!.decode(column: "used_fen", as: Int64.self)
            #expect(used == 0)
            let stats = try await app.send(.GET, "/api/v1/mutual-aid-stats", admin).json
            #expect(stats["claimsPaid"] as? Int == 0)
        }
    }
}
