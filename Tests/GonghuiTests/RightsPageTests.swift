import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

@Suite struct RightsPageTests {
    /// A union chair starts bargaining from the console, records the offer and a round typed as two
    /// lists of names, and sees every refusal beside its field; the overview, due items and export work.
    @Test func aUnionBargainsFromTheConsolePages() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            _ = try await RightsSupport.firm(app, f)
            let union = try await ConsoleSession.signIn(app, "jwunion")
            let form = try await union.get("/console/rights/contracts/new")
            #expect(form.status == .ok && form.body.string.contains(f.jianwaiUnion.name))
            let blank = try await union.post("/console/rights/contracts", ["kind": "wage", "orgId": String(f.jianwaiUnion.id!), "title": " "])
            #expect(blank.status == .unprocessableEntity && blank.body.string.contains("field-error"))
            let made = try await union.post("/console/rights/contracts", ["kind": "wage", "orgId": String(f.jianwaiUnion.id!), "title": "华联科技工资专项集体合同"])
            #expect(made.status == .seeOther, "\(made.body.string)")
            let id = try #require(try await CollectiveContract.query(on: app.db).first()?.id)
            let page = try await union.get("/console/rights/contracts/\(id)").body.string
            #expect(page.contains("华联科技工资专项集体合同") && page.contains("发出协商要约") && page.contains("筹备"))
            #expect(try await union.post("/console/rights/contracts/\(id)/actions", ["action": "offer", "date": RightsSupport.day(-5), "by": "union"]).status == .seeOther)
            #expect(try await union.post("/console/rights/contracts/\(id)/actions", ["action": "reply", "date": RightsSupport.day(-3)]).status == .seeOther)
            // Four on the workers' side, three for the employer: refused, the form kept, the reason shown.
            let unequal = try await union.post("/console/rights/contracts/\(id)/actions",
                                               ["action": "round", "unionSide": "张建国\n李秀兰\n王芳\n专家 周律师", "employerSide": "赵总\n钱经理\n孙主管"])
            #expect(unequal.status == .unprocessableEntity)
            #expect(unequal.body.string.contains("双方代表人数须相等") && unequal.body.string.contains("周律师"))
            let round = try await union.post("/console/rights/contracts/\(id)/actions",
                                             ["action": "round", "unionSide": "张建国\n李秀兰\n专家 周律师", "employerSide": "赵总\n钱经理\n孙主管", "minutes": "首轮"])
            #expect(round.status == .seeOther)
            let shown = try await union.get("/console/rights/contracts/\(id)").body.string
            #expect(shown.contains("★张建国") && shown.contains("周律师（专家）") && shown.contains("协商中"))
            // A step the state does not allow answers 409 on the page, not a crash.
            #expect(try await union.post("/console/rights/contracts/\(id)/actions", ["action": "publish"]).status == .conflict)
            let overview = try await union.get("/console/rights")
            #expect(overview.status == .ok && overview.body.string.contains("<svg") && overview.body.string.contains("华联科技工资专项集体合同"))
            let due = try await union.get("/console/due-items").body.string
            #expect(due.contains("答复协商要约") == false && due.contains("暂无记录"))
            let xlsx = try await union.get("/console/rights?format=xlsx")
            #expect(xlsx.status == .ok && xlsx.body.readableBytesView.starts(with: [0x50, 0x4B]))
            // Another district's staff: the contract page is not found.
            let haidian = try await ConsoleSession.signIn(app, "haidian")
            #expect(try await haidian.get("/console/rights/contracts/\(id)").status == .notFound)
        }
    }

    @Test func theDeskRegistersACaseFromAnAppealAndClosesIt() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            let appeal = try await app.send(.POST, "/api/v1/appeals", json: appealJSON(orgId: f.jianwai.id!, extra: ",\"amountYuan\":8600"))
            let appealID = try #require(appeal.json["id"] as? Int)
            let street = try await ConsoleSession.signIn(app, "jianwai")
            let form = try await street.get("/console/rights/cases/new?appeal=\(appealID)").body.string
            #expect(form.contains("李师傅") && form.contains("8600"))
            let bad = try await street.post("/console/rights/cases", ["appealId": String(appealID), "kind": "mediation", "applicantName": "李师傅",
                                                                     "phone": "13911112222", "employerName": "北京星河物流有限公司", "claimYuan": "八千",
                                                                     "idNumber": "11010519491231002X", "orgId": String(f.jianwai.id!)])
            #expect(bad.status == .unprocessableEntity && bad.body.string.contains("请求金额（元）须为数字"))
            // The ID number typed is not sent back into the page.
            #expect(!bad.body.string.contains("11010519491231002X"))
            let made = try await street.post("/console/rights/cases", ["appealId": String(appealID), "kind": "mediation", "applicantName": "李师傅",
                                                                      "phone": "13911112222", "employerName": "北京星河物流有限公司", "claimYuan": "8600",
                                                                      "orgId": String(f.jianwai.id!), "migrant": "on"])
            #expect(made.status == .seeOther, "\(made.body.string)")
            let id = try #require(try await LegalCase.query(on: app.db).first()?.id)
            #expect(try await street.post("/console/rights/cases/\(id)/actions", ["action": "decide", "eligible": "yes"]).status == .seeOther)
            #expect(try await street.post("/console/rights/cases/\(id)/actions", ["action": "mediate"]).status == .seeOther)
            let early = try await street.post("/console/rights/cases/\(id)/actions", ["action": "close", "outcome": "mediated", "recoveredYuan": "8600", "report": "调解成功"])
            #expect(early.status == .unprocessableEntity && early.body.string.contains("调解协议书"))
            let uploaded = try await street.upload("/console/rights/cases/\(id)/files", [:], fileName: "agreement.pdf", contents: "%PDF-1.4\n%%EOF\n")
            #expect(uploaded.status == .seeOther, "\(uploaded.body.string)")
            #expect(try await street.post("/console/rights/cases/\(id)/actions", ["action": "close", "outcome": "mediated", "recoveredYuan": "8,600", "report": "调解成功"]).status == .seeOther)
            let page = try await street.get("/console/rights/cases/\(id)").body.string
            #expect(page.contains("已结案") && page.contains("调解成功") && page.contains("8,600.00") && page.contains("agreement.pdf"))
        }
    }
}
