import Fluent
import Foundation
import GonghuiCore
import Testing
import VaporTesting
@testable import Gonghui

/// The archive in the console: a street files by the member's card number, sees the working and
/// the masked ID numbers, takes the steps; bad input shows beside its field; another district sees nothing.
@Suite struct HouseholdPageTests {
    @Test func aStreetFilesFromTheFormAndWorksTheFileFromItsPage() async throws {
        try await withApp { app in
            let f = try await Fixture.make(app)
            try await HouseholdTests.setDibao(app, f.chaoyang, fen: 124_500)
            let member = try await MemberScopeAndPrivacyTests.member(app, seq: 731, union: f.jianwaiUnion, staff: "jianwai")
            let street = try await ConsoleSession.signIn(app, "jianwai")
            #expect(try await street.get("/console/assistance/new").status == .ok)
            // Bad input: the form comes back with each message beside its field.
            let bad = try await street.post("/console/assistance/new", ["memberKey": member.card, "category": "deep", "householdSize": "0",
                                                                        "annualIncomeYuan": "1.234", "m0_name": "王小明", "m0_idNumber": "123"])
            #expect(bad.status == .unprocessableEntity)
            let html = bad.body.string
            for label in ["家庭人口", "家庭近 12 个月收入", "家庭成员 1 身份证号", "家庭成员 1 关系", "致困原因"] { #expect(html.contains(label), "\(label)") }
            let made = try await street.post("/console/assistance/new", [
                "memberKey": member.card, "category": "deep", "causes_illness": "1", "householdSize": "3", "annualIncomeYuan": "30000",
                "medicalYuan": "6000", "m0_name": "王小明", "m0_relation": "child", "m0_idNumber": residentID(9301, born: "20100101"), "m0_schoolGrade": "seniorHigh"])
            #expect(made.status == .seeOther, "\(made.body.string.prefix(600))")
            let location = try #require(made.headers.first(name: .location))
            let page = try await street.get(location).body.string
            #expect(page.contains("666.66") && page.contains("1,245.00"))
            #expect(page.contains("王小明") && !page.contains(residentID(9301, born: "20100101")))
            #expect(page.contains("提交申请"))
            // The first step from the page.
            let submitted = try await street.post(location, ["action": "submit"])
            #expect(submitted.status == .seeOther)
            #expect(try await street.get(location).body.string.contains("已申请"))
            // The list shows it to the street and the district, not to another district.
            #expect(try await street.get("/console/assistance").body.string.contains("王小红"))
            let haidian = try await ConsoleSession.signIn(app, "haidian")
            #expect(!(try await haidian.get("/console/assistance").body.string.contains("王小红")))
            #expect(try await haidian.get(location).status == .notFound)
            let export = try await street.get("/console/assistance/export?format=csv")
            #expect(export.status == .ok && export.body.string.contains("王小红"))
        }
    }
}
