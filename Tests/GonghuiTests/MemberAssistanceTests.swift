import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Issue 15 item 8: the member sees the file and the aid, and applies for 金秋助学 for a child in the file.
@Suite struct MemberAssistanceTests {
    @Test func aMemberSeesTheFileAndAidAndAppliesForSchoolingOncePerChild() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let m = try await MemberScopeAndPrivacyTests.member(app, seq: 751, union: f.jianwaiUnion, staff: "jianwai")
            let member = try #require(try await Member.find(m.id, on: app.db))
            var me = HTTPHeaders()
            me.bearerAuthorization = .init(token: try await MemberAuth.issueToken(for: member, on: app.db).0)
            // No file yet: an empty answer, and no application.
            let none = try await app.send(.GET, "/api/v1/me/assistance", me)
            #expect(none.status == .ok && none.body.string.contains("\"household\":null") || none.json["household"] == nil)
            let childID = residentID(9401, born: "20080101")
            let jianwai = try await app.token("jianwai")
            let id = try #require(try await app.send(.POST, "/api/v1/hardship-households", jianwai,
                                                     json: HouseholdTests.fileJSON(memberId: m.id, childID: childID)).json["id"] as? Int)
            let apply = "{\"childIdNumber\":\"\(childID)\",\"school\":\"北京市第八十中学\",\"grade\":\"seniorHigh\"}"
            #expect(try await app.send(.POST, "/api/v1/me/schooling-applications", me, json: apply).status == .conflict)
            // Active (as the district would leave it), with ¥1,000 paid to it through the ledger.
            let h = try #require(try await HardshipHousehold.find(id, on: app.db))
            h.state = .active
            try await h.save(on: app.db)
            let fund = try await FundsLedger.fund(kind: "test", refID: 1, year: 2026, name: "两节送温暖", rootOrgID: f.city.id!, on: app.db)
            let ctx = FundsLedger.Context(staffID: nil, reason: nil, householdID: id)
            _ = try await FundsLedger.allocate(fund, to: f.city, from: nil, fen: 500_000, ctx, on: app.db)
            _ = try await FundsLedger.reserve(fund, org: f.city, fen: 100_000, ctx, on: app.db)
            _ = try await FundsLedger.pay(fund, orgID: f.city.id!, fen: 100_000, ctx, on: app.db)
            let mine = try await app.send(.GET, "/api/v1/me/assistance", me)
            #expect((mine.json["household"] as? [String: Any])?["state"] as? String == "active")
            #expect("\(mine.json["totalYuan"] ?? "")" == "1000")
            #expect(!mine.body.string.contains(childID))
            // Bad input names its fields; a child not in the file is refused; one application per child a year.
            #expect(Set(try await app.send(.POST, "/api/v1/me/schooling-applications", me, json: "{\"grade\":\"phd\"}").problemFields) == ["school", "grade", "childIdNumber"])
            let stranger = "{\"childIdNumber\":\"\(residentID(9402, born: "20080101"))\",\"school\":\"x\",\"grade\":\"college\"}"
            #expect(try await app.send(.POST, "/api/v1/me/schooling-applications", me, json: stranger).problemFields == ["childIdNumber"])
            let made = try await app.send(.POST, "/api/v1/me/schooling-applications", me, json: apply)
            #expect(made.status == .created, "\(made.body.string)")
            #expect(try await app.send(.POST, "/api/v1/me/schooling-applications", me, json: apply).status == .conflict)
            // The admission letter, from the member's phone; the street reads it, another district cannot.
            let appID = try #require(made.json["id"] as? Int)
            let letter = try await app.testing().sendRequest(.POST, "/api/v1/me/schooling-applications/\(appID)/attachments", headers: me,
                                                             body: ByteBuffer(string: "%PDF-1.4\n%%EOF\n"))
            #expect(letter.status == .created, "\(letter.body.string)")
            #expect(try await app.send(.GET, "/api/v1/schooling-applications/\(appID)/attachments", jianwai).body.string.contains("sha256"))
            #expect(try await app.send(.GET, "/api/v1/schooling-applications/\(appID)/attachments", try await app.token("haidian")).status == .notFound)
            // The union's side: the street sees it and accepts; another district does not.
            #expect(try await app.send(.GET, "/api/v1/schooling-applications", try await app.token("haidian")).body.string == "[]")
            #expect(try await app.send(.POST, "/api/v1/schooling-applications/\(appID)/actions", try await app.token("haidian"), json: "{\"action\":\"accept\"}").status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/schooling-applications/\(appID)/actions", jianwai, json: "{\"action\":\"reject\"}").problemFields == ["reason"])
            #expect(try await app.send(.POST, "/api/v1/schooling-applications/\(appID)/actions", jianwai, json: "{\"action\":\"accept\"}").problemFields == ["batchId"])
            // Accepted into a 金秋助学 batch: the line carries the rule's amount (senior high ¥4,000) and is reserved.
            let program = try await ReliefSupport.program(app, f, kind: .autumnSchooling)
            let batch = try await ReliefSupport.batch(app, program, org: f.jianwai)
            let accepted = try await app.send(.POST, "/api/v1/schooling-applications/\(appID)/actions", jianwai,
                                              json: "{\"action\":\"accept\",\"batchId\":\(batch.id!)}")
            #expect(accepted.json["state"] as? String == "accepted", "\(accepted.body.string)")
            #expect(accepted.json["batchId"] as? Int == batch.id)
            let line = try #require(try await ReliefLine.query(on: app.db).filter(\.$batchID == batch.id!).first())
            #expect(line.householdID == id && line.amountFen == 400_000)

            // The member moves to 中关村's union: the file follows, with its history.
            let asked = try await app.send(.POST, "/api/v1/me/transfers", me, json: "{\"toOrgId\":\(f.zgcUnion.id!),\"reason\":\"换工作\"}")
            let transferID = try #require(asked.json["id"] as? Int)
            let zgc = try await app.token("zgc")
            #expect(try await app.send(.POST, "/api/v1/member-transfers/\(transferID)/accept", zgc).status == .ok)
            let moved = try await app.send(.GET, "/api/v1/hardship-households/\(id)", zgc)
            #expect(moved.json["orgId"] as? Int == f.zgcUnion.id && moved.json["state"] as? String == "active")
            #expect((moved.json["timeline"] as? [[String: Any]] ?? []).contains { $0["action"] as? String == "transfer" })
            #expect(try await app.send(.GET, "/api/v1/hardship-households/\(id)", jianwai).status == .notFound)
        }
    }
}
