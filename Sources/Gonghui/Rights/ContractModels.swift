import Fluent
import Foundation
import GonghuiCore
import Vapor

enum ContractKind: String, Codable, CaseIterable, Sendable {
    case comprehensive, wage, womenWorkers, safety
}

/// 要约 → 回应 → 协商 → 草案 → 职代会通过 → 签字 → 报送 → 审查 → 生效 → 到期 (or superseded by the next
/// version, or ended by agreement). The clocks between the steps are kept in `deadlines`.
enum ContractState: String, Codable, CaseIterable, Sendable {
    case preparing, offered, bargaining, drafted, adopted, signed, underReview, inForce, expired, superseded, ended

    var isFinal: Bool { [.expired, .superseded, .ended].contains(self) }
}

/// The 四必谈 topics a contract's terms may cover.
enum BargainingTopic: String, CaseIterable, Sendable {
    case welfareFund, educationFund, labourProtection, highSkillPay, paidLeave
}

final class CollectiveContract: Model, @unchecked Sendable {
    static let schema = "collective_contracts"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// The union that bargains: an enterprise union, or a street or industry union for a regional
    /// or industry contract (its enterprises in `collective_contract_enterprises`).
    @Field(key: "org_id") var orgID: Int
    @Field(key: "kind") var kind: ContractKind
    @Field(key: "title") var title: String
    @Field(key: "state") var state: ContractState
    /// 1 for the first contract; an amendment or a renewal is a new row with the next version.
    @Field(key: "version") var version: Int
    @OptionalField(key: "previous_id") var previousID: Int?
    @OptionalField(key: "successor_id") var successorID: Int?
    @OptionalField(key: "offer_on") var offerOn: String?
    /// `union` or `employer`: who made the offer.
    @OptionalField(key: "offer_by") var offerBy: String?
    @OptionalField(key: "reply_due_on") var replyDueOn: String?
    @OptionalField(key: "replied_on") var repliedOn: String?
    @Field(key: "rounds") var rounds: Int
    @OptionalField(key: "last_round_on") var lastRoundOn: String?
    @OptionalField(key: "draft_on") var draftOn: String?
    @OptionalField(key: "resolution_id") var resolutionID: Int?
    @OptionalField(key: "voted_on") var votedOn: String?
    @OptionalField(key: "signed_on") var signedOn: String?
    @OptionalField(key: "term_years") var termYears: Int?
    @OptionalField(key: "filing_due_on") var filingDueOn: String?
    @OptionalField(key: "filed_on") var filedOn: String?
    @OptionalField(key: "review_ends_on") var reviewEndsOn: String?
    @OptionalField(key: "objected_on") var objectedOn: String?
    @OptionalField(key: "objection") var objection: String?
    @OptionalField(key: "in_force_on") var inForceOn: String?
    @OptionalField(key: "publish_due_on") var publishDueOn: String?
    @OptionalField(key: "published_on") var publishedOn: String?
    @OptionalField(key: "expires_on") var expiresOn: String?
    @OptionalField(key: "ended_on") var endedOn: String?
    @OptionalField(key: "end_reason") var endReason: String?
    /// The terms agreed: the rise in basis points of the wage bill (350 = 3.5%), the lowest wage in
    /// the firm in fen a month, the 四必谈 topics (comma-separated), the workers covered.
    @OptionalField(key: "wage_rise_bp") var wageRiseBP: Int?
    @OptionalField(key: "lowest_wage_fen") var lowestWageFen: Int64?
    @OptionalField(key: "topics") var topics: String?
    @OptionalField(key: "workers_covered") var workersCovered: Int?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    var subject: Deadlines.Subject { .init(kind: "collectiveContract", id: id ?? 0) }

    /// Filed after the tenth day from signature (or not filed and already past it).
    func filingLate(today: CalendarDate) -> Bool {
        guard let due = filingDueOn else { return false }
        if let filed = filedOn { return filed > due }
        return state == .signed && today.description > due
    }
}

/// The enterprises a contract covers: the enterprise of an enterprise union's contract, or the list
/// of a regional or industry contract.
final class ContractEnterprise: Model, @unchecked Sendable {
    static let schema = "collective_contract_enterprises"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "contract_id") var contractID: Int
    @Field(key: "enterprise_id") var enterpriseID: Int

    init() {}

    init(contractID: Int, enterpriseID: Int) {
        self.contractID = contractID
        self.enterpriseID = enterpriseID
    }
}

/// One bargaining meeting: the day, the minutes, and who sat on each side.
final class BargainingRound: Model, @unchecked Sendable {
    static let schema = "bargaining_rounds"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "contract_id") var contractID: Int
    @Field(key: "held_on") var heldOn: String
    @OptionalField(key: "minutes") var minutes: String?
    /// JSON: `{"union": [{"name","chief","expert"}], "employer": [...]}`.
    @Field(key: "representatives") var representatives: String
    @OptionalField(key: "staff_id") var staffID: Int?

    init() {}
}

/// A step of a contract's history, kept for its timeline.
final class ContractEvent: Model, @unchecked Sendable {
    static let schema = "collective_contract_events"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "contract_id") var contractID: Int
    @Field(key: "action") var action: String
    @Field(key: "on_day") var onDay: String
    @OptionalField(key: "note") var note: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "at", on: .create) var at: Date?

    init() {}

    init(contractID: Int, action: String, on day: String, note: String? = nil, staffID: Int?) {
        self.contractID = contractID
        self.action = action
        self.onDay = day
        self.note = note
        self.staffID = staffID
    }
}
