import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// Disbursement batches on both engines: every refusal names its rule and leaves the ledger as it
/// was, the notice stands before payment, paying twice is refused, 32 clients never overspend.
@Suite struct ReliefBatchTests {
    typealias S = ReliefSupport

    func addLine(_ app: Application, _ batchID: Int, _ headers: HTTPHeaders, _ json: String) async throws -> TestingHTTPResponse {
        try await app.send(.POST, "/api/v1/relief-batches/\(batchID)/lines", headers, json: json)
    }

    @Test func aBatchFromLinesToPaymentWithEveryRefusalNamed() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await S.dibao(app, f.chaoyang)
            let jianwai = try await app.token("jianwai"), chaoyang = try await app.token("chaoyang")
            // 生活救助: deep 10 months, relative 8 months of ¥1,245; the street holds ¥25,000, a household at most ¥12,450 a year.
            let p = try await S.program(app, f, kind: .living, householdCap: 12_450, street: 2_500_000)
            let deep = try await S.household(app, org: f.jianwaiUnion, n: 1, category: .deep)
            let relative = try await S.household(app, org: f.jianwaiUnion, n: 2, category: .relative)
            let accident = try await S.household(app, org: f.jianwaiUnion, n: 3, category: .accident)
            let draft = try await S.household(app, org: f.jianwaiUnion, n: 4, state: .submitted)
            let elsewhere = try await S.household(app, org: f.zgcUnion, n: 5)
            let made = try await app.send(.POST, "/api/v1/relief-batches", jianwai, json: #"{"programId":\#(p.id!),"orgId":\#(f.jianwai.id!)}"#)
            #expect(made.status == .created)
            let batchID = try #require(made.json["id"] as? Int)
            let line = try await addLine(app, batchID, jianwai, #"{"householdId":\#(deep.id!)}"#)
            #expect(line.status == .created, "\(line.body.string)")
            #expect(line.json["amountYuan"] as? Double == 12450)
            // Lowered is fine; raised is not.
            #expect(try await addLine(app, batchID, jianwai, #"{"householdId":\#(relative.id!),"amountYuan":9960.01}"#).problemCodes == ["aboveRule"])
            let lowered = try await addLine(app, batchID, jianwai, #"{"householdId":\#(relative.id!),"amountYuan":5000}"#)
            #expect(lowered.json["amountYuan"] as? Double == 5000)
            let before = try await S.budget(app, p, f.jianwai)
            let entries = try await FundEntry.query(on: app.db).count()
            let refusals: [(String, String, HTTPStatus)] = [
                (#"{"householdId":\#(deep.id!)}"#, "alreadyPaid", .conflict),
                (#"{"householdId":\#(accident.id!)}"#, "categoryRule", .unprocessableEntity),
                (#"{"householdId":\#(draft.id!)}"#, "notActive", .conflict),
                (#"{"householdId":\#(elsewhere.id!)}"#, "notFound", .unprocessableEntity),
                (#"{"householdId":\#(relative.id!),"amountYuan":1.234}"#, "yuan", .unprocessableEntity),
            ]
            for (body, code, status) in refusals {
                let r = try await addLine(app, batchID, jianwai, body)
                #expect(r.status == status && r.problemCodes == [code], "\(body): \(r.status) \(r.body.string)")
            }
            // The cap across programmes: 送温暖 ¥8,000 to the deep household breaks its ¥12,450 living cap.
            let visit = try await S.program(app, f, kind: .festivalVisit, amountYuan: 8000)
            let visits = try await S.batch(app, visit, org: f.jianwai)
            let second = try await S.household(app, org: f.jianwaiUnion, n: 6, category: .deep)
            #expect(try await addLine(app, visits.id!, jianwai, #"{"householdId":\#(second.id!)}"#).status == .created)
            let capped = try await addLine(app, batchID, jianwai, #"{"householdId":\#(second.id!)}"#)
            #expect(capped.problemCodes == ["overCap"], "\(capped.body.string)")
            // The relative household had living aid: no second kind this year.
            #expect(try await addLine(app, visits.id!, jianwai, #"{"householdId":\#(relative.id!)}"#).problemCodes == ["categoryRule"])
            // Within budget: ¥25,000 − ¥17,450 leaves ¥7,550.
            let third = try await S.household(app, org: f.jianwaiUnion, n: 7, category: .deep)
            let over = try await addLine(app, batchID, jianwai, #"{"householdId":\#(third.id!)}"#)
            #expect(over.status == .conflict && over.problemCodes == ["overBudget"])
            let after = try await S.budget(app, p, f.jianwai)
            #expect(after.reservedFen == before.reservedFen && after.availableFen == 755_000)
            #expect(try await FundEntry.query(on: app.db).count() == entries + 4) // the 送温暖 programme's three allocations and one line
            // Another district sees nothing of it.
            let haidian = try await app.token("haidian")
            #expect(try await app.send(.GET, "/api/v1/relief-batches/\(batchID)", haidian).status == .notFound)
            #expect(try await addLine(app, batchID, haidian, #"{"householdId":\#(deep.id!)}"#).status == .notFound)
            #expect(try await app.send(.POST, "/api/v1/relief-batches/\(batchID)/actions", haidian, json: #"{"action":"submit"}"#).status == .notFound)

            // Steps: out of order is 409; the street cannot approve; approval opens the notice.
            func act(_ action: String, _ who: HTTPHeaders, extra: String = "") async throws -> TestingHTTPResponse {
                try await app.send(.POST, "/api/v1/relief-batches/\(batchID)/actions", who, json: #"{"action":"\#(action)"\#(extra)}"#)
            }
            #expect(try await act("pay", chaoyang).status == .conflict)
            #expect(try await act("approve", chaoyang).status == .conflict)
            #expect(try await act("submit", jianwai).json["state"] as? String == "submitted")
            #expect(try await addLine(app, batchID, jianwai, #"{"householdId":\#(third.id!),"amountYuan":10}"#).status == .conflict)
            #expect(try await act("approve", jianwai).status == .forbidden)
            let approved = try await act("approve", chaoyang)
            #expect(approved.json["state"] as? String == "inNotice")
            let noticeID = try #require(approved.json["noticeId"] as? Int)
            let notice = try await app.send(.GET, "/api/v1/public-notices/\(noticeID)")
            #expect(notice.status == .ok)
            #expect(!notice.body.string.contains(deep.subjectName) && notice.body.string.contains("王**"))
            #expect(!notice.body.string.contains(ReliefSupport.idNumber(1)))
            #expect(try await act("pay", chaoyang).problemCodes == ["noticeRunning"])
            // A neighbour objects; the notice ends; payment waits for the answer.
            let entryID = try #require((notice.json["entries"] as? [[String: Any]])?.first?["id"] as? Int)
            let objection = try await app.send(.POST, "/api/v1/public-notices/\(noticeID)/objections",
                                               json: #"{"entryId":\#(entryID),"name":"李四","phone":"13800138000","text":"他家有车"}"#)
            #expect(objection.status == .created)
            try await (app.db as! any SQLDatabase).raw("UPDATE public_notices SET ends_on = '2000-01-01' WHERE id = \(bind: noticeID)").run()
            #expect(try await act("pay", chaoyang).problemCodes == ["objectionHeld"])
            let objectionID = try #require(objection.json["id"] as? Int)
            #expect(try await app.send(.POST, "/api/v1/public-notices/\(noticeID)/objections/\(objectionID)/answer", jianwai,
                                       json: #"{"answer":"经核实，车辆已于去年报废"}"#).status == .ok)
            let lines = try await ReliefLine.query(on: app.db).filter(\.$batchID == batchID).sort(\.$id).all()
            let paid = try await act("pay", chaoyang, extra: #","payments":[{"lineId":\#(lines[0].id!),"reference":"JK-0001"},{"lineId":\#(lines[1].id!),"failed":true}]"#)
            #expect(paid.json["state"] as? String == "paid", "\(paid.body.string)")
            #expect(paid.json["totalYuan"] as? Double == 12450)
            #expect(try await act("pay", chaoyang).status == .conflict) // paying twice
            let street = try await S.budget(app, p, f.jianwai)
            #expect(street.paidFen == 1_245_000 && street.reservedFen == 0 && street.availableFen == 1_255_000)
            let csv = try await app.send(.GET, "/api/v1/relief-batches/\(batchID)/export?format=csv", jianwai)
            #expect(csv.status == .ok && csv.body.string.contains(deep.subjectName) && csv.body.string.contains("JK-0001") && csv.body.string.contains("12450.00"))
            #expect(try await app.send(.GET, "/api/v1/relief-batches/\(batchID)/export?format=xlsx", jianwai).status == .ok)
            #expect(try await app.send(.GET, "/api/v1/relief-batches/\(batchID)/export?format=pdf", jianwai).problemFields == ["format"])
            // A paid line is only reversed, once, with a reason.
            let reverse = "/api/v1/relief-batches/\(batchID)/lines/\(lines[0].id!)/reverse"
            #expect(try await app.send(.POST, reverse, chaoyang, json: #"{"reason":" "}"#).problemFields == ["reason"])
            #expect(try await app.send(.POST, reverse, chaoyang, json: #"{"reason":"重复发放"}"#).json["state"] as? String == "reversed")
            #expect(try await app.send(.POST, reverse, chaoyang, json: #"{"reason":"再来"}"#).status == .conflict)
            #expect(try await S.budget(app, p, f.jianwai).availableFen == 2_500_000)
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
            #expect(try await app.auditCount("relief.batch.pay") == 1)
        }
    }

    @Test func autumnSchoolingFollowsGradesAndSingleParents() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await S.dibao(app, f.chaoyang)
            let jianwai = try await app.token("jianwai")
            let p = try await S.program(app, f, kind: .autumnSchooling)
            let b = try await S.batch(app, p, org: f.jianwai)
            let high = try await S.household(app, org: f.jianwaiUnion, n: 1, children: ["seniorHigh", "college"])
            let pupil = try await S.household(app, org: f.jianwaiUnion, n: 2, category: .relative, children: ["compulsory"])
            let single = try await S.household(app, org: f.jianwaiUnion, n: 3, singleParent: true, children: ["compulsory"])
            let father = try await S.household(app, org: f.jianwaiUnion, n: 4, singleParent: true, children: ["postgraduate"])
            let mother = try await S.household(app, org: f.jianwaiUnion, n: 5, singleParent: true, sex: "F", children: ["postgraduate"])
            let accident = try await S.household(app, org: f.jianwaiUnion, n: 6, category: .accident, children: ["seniorHigh"])
            let kids = try await HardshipPerson.query(on: app.db).filter(\.$householdID == high.id!).sort(\.$id).all()
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(high.id!)}"#).json["amountYuan"] as? Double == 4000)
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(high.id!),"personId":\#(kids[1].id!)}"#).json["amountYuan"] as? Double == 12450)
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(high.id!),"personId":\#(kids[1].id!)}"#).problemCodes == ["alreadyPaid"])
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(pupil.id!)}"#).problemCodes == ["categoryRule"])
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(single.id!)}"#).json["amountYuan"] as? Double == 3000)
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(father.id!)}"#).problemCodes == ["categoryRule"])
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(mother.id!)}"#).json["amountYuan"] as? Double == 12450)
            #expect(try await addLine(app, b.id!, jianwai, #"{"householdId":\#(accident.id!)}"#).problemCodes == ["categoryRule"])
        }
    }

    @Test func temporaryReliefCapsEachPersonAYearAndDeepHouseholdsMayHaveSeveralKinds() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let jianwai = try await app.token("jianwai")
            let p = try await S.program(app, f, kind: .temporary)
            #expect(p.personYearCapFen == 300_000)
            let b = try await S.batch(app, p, org: f.jianwai)
            let id = S.idNumber(9)
            let first = try await addLine(app, b.id!, jianwai, #"{"name":"赵六","idNumber":"\#(id)","amountYuan":2000}"#)
            #expect(first.status == .created)
            #expect(!first.body.string.contains(id))
            #expect(try await addLine(app, b.id!, jianwai, #"{"name":"赵六","idNumber":"\#(id)","amountYuan":1500}"#).problemCodes == ["overCap"])
            #expect(try await addLine(app, b.id!, jianwai, #"{"name":"赵六","idNumber":"\#(id)","amountYuan":1000}"#).status == .created)
            let badID = try await addLine(app, b.id!, jianwai, #"{"name":"赵六","idNumber":"110105198001010000"}"#)
            #expect(badID.problemFields.sorted() == ["amountYuan", "idNumber"])
            // The ID number's message is a sentence from the locale files, not a missing key.
            #expect(badID.body.string.contains("身份证号码") && !badID.body.string.contains("error.field.idNumber"), "\(badID.body.string)")
            let line = try #require(try await ReliefLine.query(on: app.db).filter(\.$batchID == b.id!).first())
            #expect(try app.fieldCipher.open(line.idCipher!) == id)
            // A deep household may receive several kinds of aid in a year.
            let visit = try await S.program(app, f, kind: .festivalVisit, amountYuan: 1000)
            let medical = try await S.program(app, f, kind: .medical)
            let deep = try await S.household(app, org: f.jianwaiUnion, n: 1, category: .deep)
            #expect(try await addLine(app, try await S.batch(app, visit, org: f.jianwai).id!, jianwai, #"{"householdId":\#(deep.id!)}"#).status == .created)
            let med = try await S.batch(app, medical, org: f.jianwai)
            #expect(try await addLine(app, med.id!, jianwai, #"{"householdId":\#(deep.id!)}"#).problemFields == ["amountYuan"])
            #expect(try await addLine(app, med.id!, jianwai, #"{"householdId":\#(deep.id!),"amountYuan":5000}"#).status == .created)
            // Cancelling gives every reservation back.
            #expect(try await app.send(.POST, "/api/v1/relief-batches/\(med.id!)/actions", jianwai, json: #"{"action":"cancel"}"#).json["state"] as? String == "cancelled")
            #expect(try await S.budget(app, medical, f.jianwai).availableFen == 20_000_000)
            #expect(try await app.send(.POST, "/api/v1/relief-batches/\(med.id!)/actions", jianwai, json: #"{"action":"cancel"}"#).status == .conflict)
            #expect(try await app.send(.POST, "/api/v1/relief-batches/\(med.id!)/actions", jianwai, json: #"{"action":"fly"}"#).problemFields == ["action"])
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
        }
    }

    @Test func thirtyTwoClientsAddingLinesNeverOverspend() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            // Room for exactly 11 lines of ¥450 (¥5,000 / ¥450 = 11.1), and 32 clients at once.
            let p = try await S.program(app, f, kind: .festivalVisit, amountYuan: 450, street: 500_000)
            let b = try await S.batch(app, p, org: f.jianwai)
            var households: [Int] = []
            for n in 0..<32 { households.append(try await S.household(app, org: f.jianwaiUnion, n: n).id!) }
            let cipher = app.fieldCipher
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for hid in households {
                    group.addTask {
                        for _ in 0..<30 {
                            do {
                                let out = try await ReliefLines.add([.init(householdID: hid)], to: b, program: p, staffID: nil, cipher: cipher, on: app.db)
                                return out[0].refusal?.fields.first?.code ?? "ok"
                            } catch where DatabaseOutage.isOutage(error) {
                                continue
                            }
                        }
                        return "busy"
                    }
                }
                var results: [String] = []
                for try await r in group { results.append(r) }
                return results
            }
            #expect(outcomes.filter { $0 == "ok" }.count == 11)
            #expect(outcomes.filter { $0 == "overBudget" }.count == 21)
            let street = try await S.budget(app, p, f.jianwai)
            #expect(street.reservedFen == 11 * 45_000 && street.availableFen == 5_000)
            #expect(try await ReliefLine.query(on: app.db).count() == 11)
            #expect(try await ReliefBatch.find(b.id, on: app.db)?.lineCount == 11)
            #expect(try await FundsAudit.verify(on: app.db).isEmpty)
        }
    }
}
