import Fluent
import Foundation
import GonghuiCore
import Vapor

enum LegalCaseKind: String, Codable, CaseIterable, Sendable {
    case consultation, drafting, mediation, arbitration, litigation
}

/// received → accepted (legal aid granted) or refused → mediating → arbitrating → litigating → closed.
/// A consultation or a drafting job goes from accepted straight to closed.
enum LegalCaseState: String, Codable, CaseIterable, Sendable {
    case received, accepted, refused, mediating, arbitrating, litigating, closed

    var isOpen: Bool { self != .refused && self != .closed }
}

enum LegalOutcome: String, Codable, CaseIterable, Sendable {
    case mediated, award, judgment, withdrawn, advised
}

final class LegalCase: Model, @unchecked Sendable {
    static let schema = "legal_cases"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// The union (or service centre) that took the case.
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "appeal_id") var appealID: Int?
    @Field(key: "kind") var kind: LegalCaseKind
    @Field(key: "state") var state: LegalCaseState
    @Field(key: "applicant_name") var applicantName: String
    @OptionalField(key: "member_id") var memberID: Int?
    /// The applicant's ID number, sealed like a member's; the blind index finds their other cases.
    @OptionalField(key: "id_cipher") var idCipher: Data?
    @OptionalField(key: "id_index") var idIndex: String?
    @OptionalField(key: "phone") var phone: String?
    /// 农民工: wage and injury claims skip the means test, and the statistics count their share.
    @Field(key: "migrant") var migrant: Bool
    @Field(key: "employer_name") var employerName: String
    @OptionalField(key: "enterprise_id") var enterpriseID: Int?
    /// `wage`, `injury`, `contract`, `socialInsurance`, `other`: what the claim is about.
    @Field(key: "claim_type") var claimType: String
    /// JSON `[{"item","fen"}]`; `claim_fen` is their sum (or the one amount given).
    @OptionalField(key: "claims") var claims: String?
    @Field(key: "claim_fen") var claimFen: Int64
    @OptionalField(key: "income_per_head_fen") var incomePerHeadFen: Int64?
    /// Workers in the case: five or more make a group case (群体性).
    @Field(key: "workers") var workers: Int
    /// The day the worker knew of the harm: the one-year arbitration limit runs from it.
    @OptionalField(key: "knew_on") var knewOn: String?
    @OptionalField(key: "limitation_ends_on") var limitationEndsOn: String?
    @Field(key: "opened_on") var openedOn: String
    @Field(key: "decision_due_on") var decisionDueOn: String
    /// What the rule says (`eligible` by the data of the case), beside what staff decided.
    @Field(key: "suggested") var suggested: Bool
    @OptionalField(key: "eligible") var eligible: Bool?
    @OptionalField(key: "decided_on") var decidedOn: String?
    @OptionalField(key: "refusal") var refusal: String?
    @OptionalField(key: "lawyer_id") var lawyerID: Int?
    @OptionalField(key: "mediation_on") var mediationOn: String?
    @OptionalField(key: "mediation_due_on") var mediationDueOn: String?
    @OptionalField(key: "arbitration_on") var arbitrationOn: String?
    @OptionalField(key: "award_due_on") var awardDueOn: String?
    @Field(key: "extended") var extended: Bool
    @OptionalField(key: "litigation_on") var litigationOn: String?
    @OptionalField(key: "outcome") var outcome: LegalOutcome?
    @Field(key: "recovered_fen") var recoveredFen: Int64
    @OptionalField(key: "closed_on") var closedOn: String?
    @OptionalField(key: "report") var report: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    var subject: Deadlines.Subject { .init(kind: "legalCase", id: id ?? 0) }
    var isGroup: Bool { workers >= 5 }
}

/// A lawyer on a district's legal-aid roster (bought-in firms, the 一街一月两日 rota).
final class Lawyer: Model, @unchecked Sendable {
    static let schema = "legal_aid_lawyers"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "name") var name: String
    @Field(key: "firm") var firm: String
    @OptionalField(key: "phone") var phone: String?
    @Field(key: "active") var active: Bool

    init() {}
}

/// Who gets union legal aid, as data per city or district (the nearest one up the tree applies):
/// at least `min_claim_fen` at stake and a household income per head under `income_limit_fen` a
/// month; migrant workers' wage and injury claims skip the means test when `migrant_exempt`.
final class LegalAidRule: Model, @unchecked Sendable {
    static let schema = "legal_aid_rules"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "min_claim_fen") var minClaimFen: Int64
    @Field(key: "income_limit_fen") var incomeLimitFen: Int64
    @Field(key: "migrant_exempt") var migrantExempt: Bool
    @Field(key: "decision_working_days") var decisionWorkingDays: Int

    init() {}

    /// ¥1,000 at stake, Beijing's minimum wage of 2024 (¥2,420 a month), five working days.
    static func standard(org: Int) -> LegalAidRule {
        let r = LegalAidRule()
        r.orgID = org
        r.minClaimFen = 100_000
        r.incomeLimitFen = 242_000
        r.migrantExempt = true
        r.decisionWorkingDays = 5
        return r
    }

    /// The rule's answer for a case: eligible or not.
    func suggests(claimFen: Int64, incomePerHeadFen: Int64?, migrant: Bool, claimType: String) -> Bool {
        if migrantExempt, migrant, claimType == "wage" || claimType == "injury" { return true }
        guard claimFen >= minClaimFen else { return false }
        guard let income = incomePerHeadFen else { return false }
        return income < incomeLimitFen
    }
}
