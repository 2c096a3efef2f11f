import Foundation
import GonghuiCore
import Vapor

struct ReliefProgramInput: Content {
    var kind: String?
    var year: Int?
    var name: String?
    var amountYuan: Decimal?
    var householdYearCapYuan: Decimal?
    var personYearCapYuan: Decimal?
    /// Multiples of the district's monthly 低保 per category, in months (one decimal at most).
    var monthsDeep: Decimal?
    var monthsRelative: Decimal?
    var monthsAccident: Decimal?
    var relativeOneKind: Bool?
}

struct ReliefProgramDTO: Content {
    let id: Int
    let kind: ReliefKind
    let year: Int
    let name: String
    let orgId: Int
    let fundId: Int
    let amountYuan: Decimal?
    let monthsDeep: Decimal?
    let monthsRelative: Decimal?
    let monthsAccident: Decimal?
    let gradeRules: [GradeRuleDTO]
    let householdYearCapYuan: Decimal?
    let personYearCapYuan: Decimal?
    let relativeOneKind: Bool

    struct GradeRuleDTO: Content {
        let grade: String
        let amountYuan: Decimal?
        let months: Decimal?
        let condition: String
    }

    init(_ p: ReliefProgram) {
        func months(_ tenths: Int?) -> Decimal? { tenths.map { Decimal($0) / 10 } }
        id = p.id ?? 0
        kind = p.kind
        year = p.year
        name = p.name
        orgId = p.orgID
        fundId = p.fundID
        amountYuan = p.fixedFen.map { Decimal(fen: $0) }
        monthsDeep = months(p.kDeep)
        monthsRelative = months(p.kRelative)
        monthsAccident = months(p.kAccident)
        gradeRules = p.grades.map { .init(grade: $0.grade, amountYuan: $0.fen.map { Decimal(fen: $0) }, months: months($0.k), condition: $0.condition.rawValue) }
        householdYearCapYuan = p.householdYearCapFen.map { Decimal(fen: $0) }
        personYearCapYuan = p.personYearCapFen.map { Decimal(fen: $0) }
        relativeOneKind = p.relativeOneKind
    }
}

struct ReliefBudgetInput: Content {
    var orgId: Int?
    var amountYuan: Decimal?
}

struct ReliefBatchInput: Content {
    var programId: Int?
    var orgId: Int?
}

struct ReliefLineInput: Content {
    var householdId: Int?
    var personId: Int?
    var name: String?
    var idNumber: String?
    var amountYuan: Decimal?
    var account: String?
}

struct ReliefActionInput: Content {
    struct Payment: Content {
        var lineId: Int?
        var reference: String?
        var failed: Bool?
    }

    var action: String?
    var note: String?
    /// pay: the bank's answer per line (a reference, or failed); lines not named are paid with the batch's reference.
    var payments: [Payment]?
    var reference: String?
}

struct ReliefReverseInput: Content {
    var reason: String?
}

struct ReliefBatchDTO: Content {
    let id: Int
    let programId: Int
    let programName: String
    let kind: ReliefKind
    let year: Int
    let orgId: Int
    let orgName: String
    let state: ReliefBatchState
    let lineCount: Int
    let totalYuan: Decimal
    let noticeId: Int?
    let noticeEndsOn: String?
    let createdAt: Date?
    let paidAt: Date?
}

struct ReliefLineDTO: Content {
    let id: Int
    let householdId: Int?
    let personId: Int?
    let name: String
    let idNumberMasked: String?
    let amountYuan: Decimal
    let state: ReliefLineState
    let account: String?
    let payReference: String?
    let reason: String?
}
