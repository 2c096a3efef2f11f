import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// 职工医疗互助 on both engines: the rule, settlement files end to end, payouts, scope and the member's view.
@Suite struct MutualAidTests {
    typealias S = AidSupport

    @Test func theRuleTakesTheDeductibleTheRatioAndEveryCapRoundedDownToTheFen() {
        let terms = AidRule.Terms(deductibleFen: 130_000, ratioBP: 5_000, perClaimCapFen: 500_000, yearlyCapFen: 1_000_000, totalCapFen: 1_500_000)
        #expect(AidRule.decide(selfPaidFen: 530_000, terms: terms, yearlyUsed: 0, totalUsed: 0) == .init(outcome: .paid, benefitFen: 200_000))
        #expect(AidRule.decide(selfPaidFen: 130_000, terms: terms, yearlyUsed: 0, totalUsed: 0).outcome == .belowDeductible)
        #expect(AidRule.decide(selfPaidFen: 130_001, terms: terms, yearlyUsed: 0, totalUsed: 0).outcome == .belowDeductible) // ½ fen rounds to 0
        #expect(AidRule.decide(selfPaidFen: 130_003, terms: terms, yearlyUsed: 0, totalUsed: 0).benefitFen == 1)
        #expect(AidRule.decide(selfPaidFen: 9_000_000, terms: terms, yearlyUsed: 0, totalUsed: 0).benefitFen == 500_000) // per claim
        #expect(AidRule.decide(selfPaidFen: 9_000_000, terms: terms, yearlyUsed: 800_000, totalUsed: 800_000).benefitFen == 200_000) // yearly left
        #expect(AidRule.decide(selfPaidFen: 9_000_000, terms: terms, yearlyUsed: 0, totalUsed: 1_400_000).benefitFen == 100_000) // total left
        #expect(AidRule.decide(selfPaidFen: 9_000_000, terms: terms, yearlyUsed: 1_000_000, totalUsed: 1_000_000).outcome == .capReached)
        #expect(AidRule.basisPoints(Decimal(string: "0.5")!) == 5_000)
        #expect(AidRule.basisPoints(Decimal(string: "1.2")!) == nil)
        #expect(AidRule.basisPoints(Decimal(string: "0.12345")!) == nil)
    }

    @Test func aSettlementFileIsAdjudicatedPaidOnceWithinTheCapsAndPaidOutThroughTheLedger() async throws {
        try await withApp { app in
            let capture = LogCapture()
            app.logger = Logger(label: "test") { _ in PrivacyLogHandler(capture) }
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            let planID = try await S.plan(app, admin, extra: #","waitingDays":30"#)
            #expect(try await app.send(.GET, "/api/v1/mutual-aid-plans?year=\(S.year)", admin).body.string.contains("\"deductibleYuan\":1300"))
            let bad = try await app.send(.POST, "/api/v1/mutual-aid-plans", admin, json: #"{"kind":"dental","year":"x","ratio":2,"yearlyCapYuan":-1}"#)
            #expect(bad.status == .unprocessableEntity || bad.status == .badRequest)
            #expect(try await app.send(.POST, "/api/v1/mutual-aid-plans", try await app.token("chaoyang"), json: "{}").status == .forbidden)
            let a = try await S.member(app, seq: 201, union: f.jianwaiUnion, staff: "jianwai", phone: "13811110001", name: "李建华")
            let b = try await S.member(app, seq: 203, union: f.zgcUnion, staff: "zgc")
            let c = try await S.member(app, seq: 205, union: f.jianwaiUnion, staff: "jianwai", joined: S.day(20))
            let remit = try await app.send(.PUT, "/api/v1/orgs/\(f.jianwaiUnion.id!)/funds-remitted", try await app.token("jianwai"),
                                           json: "{\"year\":\(S.year),\"remitted\":true}")
            #expect(remit.status == .ok, "\(remit.body.string)")
            #expect(try await app.send(.PUT, "/api/v1/orgs/\(f.zgcUnion.id!)/funds-remitted", try await app.token("jianwai"),
                                       json: "{\"year\":\(S.year),\"remitted\":true}").status == .notFound)
            let stranger = residentID(999)
            let file = S.csv([
                [a.idNumber, "S1", "住院", S.day(30), "20000", "12000", "5300"],
                [a.idNumber, "S2", "住院", S.day(20), "3000", "2000", "1000"],
                [a.idNumber, "S3", "住院", S.day(10), "80000", "50000", "30000"],
                [a.idNumber, "S4", "inpatient", S.day(5), "9000", "4000", "5000"],
                [b.idNumber, "S5", "住院", S.day(5), "9000", "4000", "5000"],
                [stranger, "S6", "住院", S.day(5), "9000", "4000", "5000"],
                [a.idNumber, "S7", "门诊", S.day(5), "900", "400", "500"],
                [a.idNumber, "S8", "急诊", S.day(5), "900", "400", "500"],
                [a.idNumber, "S1", "住院", S.day(30), "20000", "12000", "5300"],
                [c.idNumber, "S9", "住院", S.day(10), "9000", "4000", "5000"],
            ])
            let job = try await S.importFile(app, admin, file)
            #expect(job["state"] as? String == "done", "\(job)")
            let counts = try #require(job["counts"] as? [String: Int])
            #expect(counts == ["paid": 2, "belowDeductible": 1, "capReached": 1, "notCovered": 2, "notMember": 1, "waitingPeriod": 1,
                               "badRow": 1, "duplicateSettlement": 1])
            #expect(job["paidYuan"] as? Double == 10000)
            let jobID = try #require(job["id"] as? Int)
            let problems = try await app.send(.GET, "/api/v1/settlement-imports/\(jobID)/problems?format=csv", admin).body.string
            #expect(problems.contains("就诊类型") && problems.contains("badRow") && problems.contains("duplicateSettlement"))
            #expect(!capture.lines.withLockedValue { $0.joined() }.contains(a.idNumber))
            let paid = try await S.claims(app, admin, "outcome=paid&memberId=\(a.id)")
            #expect(Set(paid.compactMap { $0["settlementNumber"] as? String }) == ["S1", "S3"])
            #expect(paid.compactMap { $0["benefitYuan"] as? Double }.sorted() == [2000, 8000])
            // Again: nothing twice.
            let again = try await S.importFile(app, admin, file)
            #expect((again["counts"] as? [String: Int])?["duplicateSettlement"] == 9)
            #expect((again["counts"] as? [String: Int])?["paid"] == 0)
            #expect(again["paidYuan"] as? Double == 0)
            let used = try await (app.db as! any SQLDatabase).raw("SELECT CAST(SUM(used_fen) AS BIGINT) AS n FROM mutual_aid_usage").first()!.decode(column: "n", as: Int64.self)
            #expect(used == 1_000_000)
            // A district sees its own members' claims only; the unmatched settlement stays with the city.
            let chaoyang = try await app.token("chaoyang"), haidian = try await app.token("haidian")
            #expect(try await S.claims(app, chaoyang).count == 6)
            #expect(try await S.claims(app, haidian).compactMap { $0["settlementNumber"] as? String } == ["S5"])
            #expect(try await S.claims(app, admin, "outcome=notMember").count == 1)
            #expect(try await app.send(.GET, "/api/v1/mutual-aid-claims?outcome=lost", admin).status == .unprocessableEntity)
            #expect(try await app.send(.GET, "/api/v1/settlement-imports/\(jobID)", chaoyang).status != .ok)
            // The member's phone.
            let member = try #require(try await Member.find(a.id, on: app.db))
            var me = HTTPHeaders()
            me.bearerAuthorization = .init(token: try await MemberAuth.issueToken(for: member, on: app.db).0)
            let mine = try await app.send(.GET, "/api/v1/me/mutual-aid", me).json
            let plans = try #require(mine["plans"] as? [[String: Any]])
            #expect(plans.first?["yearlyLeftYuan"] as? Double == 0)
            #expect(plans.first?["totalLeftYuan"] as? Double == 5000)
            #expect((mine["claims"] as? [[String: Any]])?.count == 5)
            // The same on the phone page, after the SMS sign-in of the card page.
            var (phone, _) = try await MemberPageTests.visitor(app, "/member")
            #expect(try await phone.get("/member/mutual-aid").status == .seeOther)
            _ = try await phone.post("/member/code", ["phone": "13811110001"])
            let signedIn = try await phone.post("/member/login", ["phone": "13811110001", "code": try #require(capture.lastCode())])
            phone.cookie = try #require(ConsoleSession.cookie(from: signedIn))
            let phonePage = try await phone.get("/member/mutual-aid").body.string
            #expect(phonePage.contains("我的医疗互助") && phonePage.contains("本年度剩余额度") && phonePage.contains("已达封顶"), "\(phonePage)")
            #expect(phonePage.contains("¥0.00") && !phonePage.contains(a.idNumber))
            // Payouts: the fund must hold the money; a failed payment goes back and is issued again.
            #expect(try await app.send(.POST, "/api/v1/mutual-aid-plans/\(planID)/budget", admin, json: #"{"amountYuan":5000}"#).status == .created)
            let short = try await app.send(.POST, "/api/v1/mutual-aid-payouts", admin, json: "{\"planId\":\(planID)}")
            #expect(short.status == .conflict)
            _ = try await app.send(.POST, "/api/v1/mutual-aid-plans/\(planID)/budget", admin, json: #"{"amountYuan":10000}"#)
            let payout = try await app.send(.POST, "/api/v1/mutual-aid-payouts", admin, json: "{\"planId\":\(planID)}")
            #expect(payout.status == .created, "\(payout.body.string)")
            #expect(payout.json["lines"] as? Int == 2)
            let payoutID = try #require(payout.json["id"] as? Int)
            let bank = try await app.send(.GET, "/api/v1/mutual-aid-payouts/\(payoutID)/bank-file?format=csv", admin).body.string
            #expect(bank.contains("李建华") && bank.contains(a.card) && bank.contains("8000.00"))
            #expect(!bank.contains(a.idNumber))
            let s3 = try #require(paid.first { $0["settlementNumber"] as? String == "S3" }?["id"] as? Int)
            let settled = try await app.send(.POST, "/api/v1/mutual-aid-payouts/\(payoutID)/actions", admin, json: "{\"action\":\"settle\",\"failedClaimIds\":[\(s3)]}")
            #expect(settled.status == .ok, "\(settled.body.string)")
            #expect(settled.json["paidYuan"] as? Double == 2000)
            #expect(capture.lines.withLockedValue { $0.filter { $0.contains("SMS (development driver)") && $0.contains("2000.00") }.count } == 1)
            let entries = try await FundEntry.query(on: app.db).filter(\.$batchID == payoutID).all()
            #expect(entries.filter { $0.kind == .pay }.map(\.amountFen) == [200_000])
            #expect(entries.filter { $0.kind == .release }.map(\.amountFen) == [800_000])
            let reissued = try await app.send(.POST, "/api/v1/mutual-aid-payouts", admin, json: "{\"planId\":\(planID)}")
            #expect(reissued.json["lines"] as? Int == 1)
            // Statistics, scoped, and their export.
            let stats = try await app.send(.GET, "/api/v1/mutual-aid-stats?year=\(S.year)", admin).json
            #expect(stats["claimsPaid"] as? Int == 2)
            #expect(stats["paidYuan"] as? Double == 10000)
            #expect(stats["largestClaimYuan"] as? Double == 8000)
            #expect(stats["membersCovered"] as? Int == 2)
            #expect(try await app.send(.GET, "/api/v1/mutual-aid-stats", haidian).json["claimsPaid"] as? Int == 0)
            let xlsx = try await app.send(.GET, "/api/v1/mutual-aid-stats?format=xlsx", admin)
            #expect(xlsx.status == .ok && xlsx.body.readableBytes > 100)
            let session = try await ConsoleSession.signIn(app, "admin")
            let page = try await session.get("/console/mutual-aid")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("<svg") && page.body.string.contains("10,000.00"))
            #expect(try await session.get("/console/mutual-aid/claims?outcome=paid").body.string.contains("S3"))
        }
    }

    @Test func twoImportsAtOnceNeverPayPastTheYearlyCapNorASettlementTwice() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let admin = try await app.token("admin")
            _ = try await S.plan(app, admin)
            let a = try await S.member(app, seq: 211, union: f.jianwaiUnion, staff: "jianwai")
            try await AidPlanController.setRemitted(org: f.jianwaiUnion.id!, year: S.year, remitted: true, staffID: nil, on: app.db)
            func file(_ range: ClosedRange<Int>) throws -> String {
                let path = testDatabaseFolder + "/settle-\(UUID().uuidString).csv"
                try S.csv(range.map { [a.idNumber, "X\($0)", "住院", S.day($0), "9000", "3000", "5300"] }).write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            let one = try file(1...10), two = try file(6...15)
            let city = f.city
            let jobA = try await SettlementImports.makeJob(root: city, staffID: nil, fileName: "a.csv", totalBytes: 1, on: app.db)
            let jobB = try await SettlementImports.makeJob(root: city, staffID: nil, fileName: "b.csv", totalBytes: 1, on: app.db)
            async let x = SettlementImports.execute(job: jobA, path: one, root: city, app: app, lang: .zhHans, actor: nil, ip: nil, removeFile: true)
            async let y = SettlementImports.execute(job: jobB, path: two, root: city, app: app, lang: .zhHans, actor: nil, ip: nil, removeFile: true)
            let (doneA, doneB) = await (x, y)
            #expect(doneA.state == "done" && doneB.state == "done")
            let claims = try await AidClaim.query(on: app.db).all()
            #expect(claims.count == 15)
            #expect(Set(claims.compactMap(\.settlementNumber)).count == 15)
            #expect(claims.reduce(0) { $0 + $1.benefitFen } == 1_000_000) // five of ¥2,000, the yearly cap
            #expect(claims.filter { $0.outcome == "paid" }.count == 5)
            #expect(claims.filter { $0.outcome == "capReached" }.count == 10)
            let a1 = try await SettlementImports.dto(doneA, on: app.db), b1 = try await SettlementImports.dto(doneB, on: app.db)
            #expect((a1.counts["duplicateSettlement"] ?? 0) + (b1.counts["duplicateSettlement"] ?? 0) == 5)
            #expect(a1.paidYuan + b1.paidYuan == 10000)
        }
    }

    @Test func aFileWithoutAColumnOrNotASpreadsheetIsRefusedAtOnceNamingWhatIsMissing() async throws {
        try await withApp { app in
            _ = try await Fixture.make(app)
            let admin = try await app.token("admin")
            func post(_ contents: String) async throws -> TestingHTTPResponse {
                let boundary = "----gonghui-aid"
                let body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\nContent-Type: text/csv\r\n\r\n\(contents)\r\n--\(boundary)--\r\n"
                var headers = admin
                headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
                return try await app.testing().sendRequest(.POST, "/api/v1/settlement-imports", headers: headers, body: ByteBuffer(string: body))
            }
            let missing = try await post("idNumber,settlementNumber,visitType,visitDate,totalYuan,insurancePaidYuan\n")
            #expect(missing.status == .unprocessableEntity)
            #expect(missing.body.string.contains("个人自付"))
            #expect(missing.headers.contentType?.description.contains("problem+json") == true)
            let junk = try await post("PK\u{03}\u{04}not really a zip")
            #expect(junk.status == .unprocessableEntity, "\(junk.body.string)")
            #expect(try await post("").status == .unprocessableEntity)
            #expect(try await ImportJob.query(on: app.db).filter(\.$kind == "settlements").count() == 0)
            #expect(try await app.send(.POST, "/api/v1/settlement-imports", try await app.token("chaoyang"), json: "{}").status == .forbidden)
        }
    }
}
