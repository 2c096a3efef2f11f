import Fluent
import Foundation
import GonghuiCore

/// An honour as data: who gives it, who may be nominated, how often, its prize and its 公示.
final class HonourTitle: Model, @unchecked Sendable {
    static let schema = "honour_titles"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "code") var code: String
    @Field(key: "name") var name: String
    /// `national` (nominations sent up to the ACFTU) or `city`.
    @Field(key: "level") var level: String
    /// `person`, `unit` or `team`.
    @Field(key: "nominee") var nominee: String
    @Field(key: "cycle_years") var cycleYears: Int
    @Field(key: "sent_up") var sentUp: Bool
    @Field(key: "prize_fen") var prizeFen: Int64
    @Field(key: "notice_days") var noticeDays: Int
    @Field(key: "day_rule") var dayRule: String

    init() {}

    struct Seed: Sendable {
        let code, name, level, nominee: String
        let cycleYears: Int
        let sentUp: Bool
        let prizeFen: Int64
        let noticeDays: Int
        let dayRule: String
    }

    /// The titles the research names (§4.1, §4.2); the prizes are the published ones.
    static let builtIn: [Seed] = [
        Seed(code: "modelWorker", name: "北京市劳动模范", level: "city", nominee: "person", cycleYears: 5, sentUp: false, prizeFen: 0, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "advancedWorker", name: "北京市先进工作者", level: "city", nominee: "person", cycleYears: 5, sentUp: false, prizeFen: 0, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "capitalMedal", name: "首都劳动奖章", level: "city", nominee: "person", cycleYears: 1, sentUp: false, prizeFen: 500_000, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "capitalAward", name: "首都劳动奖状", level: "city", nominee: "unit", cycleYears: 1, sentUp: false, prizeFen: 0, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "mayDayMedal", name: "全国五一劳动奖章", level: "national", nominee: "person", cycleYears: 1, sentUp: true, prizeFen: 1_000_000, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "mayDayAward", name: "全国五一劳动奖状", level: "national", nominee: "unit", cycleYears: 1, sentUp: true, prizeFen: 0, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "pioneerTeam", name: "工人先锋号", level: "national", nominee: "team", cycleYears: 1, sentUp: true, prizeFen: 0, noticeDays: 7, dayRule: "calendar"),
        Seed(code: "bjCraftsman", name: "北京大工匠", level: "city", nominee: "person", cycleYears: 2, sentUp: false, prizeFen: 3_000_000, noticeDays: 7, dayRule: "calendar"),
    ]
}

final class HonourCampaign: Model, @unchecked Sendable {
    static let schema = "honour_campaigns"

    enum State: String, Codable, Sendable { case open, closed }

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "honour_code") var honourCode: String
    @Field(key: "title") var title: String
    @Field(key: "year") var year: Int
    @Field(key: "quota") var quota: Int
    @Field(key: "notice_days") var noticeDays: Int
    @Field(key: "day_rule") var dayRule: String
    @Field(key: "prize_fen") var prizeFen: Int64
    @OptionalField(key: "fund_id") var fundID: Int?
    @Field(key: "state") var state: State
    /// The notice the shortlist stands in (one per campaign: later additions join it while it runs).
    @OptionalField(key: "notice_id") var noticeID: Int?
    @OptionalField(key: "closed_on") var closedOn: String?
    @OptionalField(key: "override_reason") var overrideReason: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

final class HonourQuotaRule: Model, @unchecked Sendable {
    static let schema = "honour_quota_rules"

    /// The nominee categories a rule can count.
    static let categories = ["frontLine", "technical", "managerial", "nonPublic", "women", "migrant", "newForms"]

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "campaign_id") var campaignID: Int
    @Field(key: "category") var category: String
    /// Shares in basis points (4500 = 45%).
    @OptionalField(key: "min_bp") var minBP: Int?
    @OptionalField(key: "max_bp") var maxBP: Int?

    init() {}
}

final class HonourDistrictQuota: Model, @unchecked Sendable {
    static let schema = "honour_district_quotas"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "campaign_id") var campaignID: Int
    @Field(key: "org_id") var orgID: Int
    @Field(key: "quota") var quota: Int

    init() {}
}

final class HonourNomination: Model, @unchecked Sendable {
    static let schema = "honour_nominations"

    enum State: String, Codable, Sendable, CaseIterable {
        case nominated, districtReviewed, cityReviewed, inNotice, awarded, rejected, revoked
        /// Still on the list the quota rules count.
        var counts: Bool { self != .rejected && self != .revoked }
    }

    /// The nominee's work: exactly one per nomination.
    static let workCategories = ["frontLine", "technical", "managerial"]

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "campaign_id") var campaignID: Int
    /// The union (or unit) that nominates.
    @Field(key: "org_id") var orgID: Int
    /// The node whose district quota the nomination takes, if any.
    @OptionalField(key: "quota_org_id") var quotaOrgID: Int?
    @Field(key: "nominee_kind") var nomineeKind: String
    @OptionalField(key: "member_id") var memberID: Int?
    @Field(key: "name") var name: String
    @Field(key: "employer") var employer: String
    @Field(key: "category") var category: String
    @Field(key: "women") var women: Bool
    @Field(key: "non_public") var nonPublic: Bool
    @Field(key: "migrant") var migrant: Bool
    @Field(key: "new_forms") var newForms: Bool
    @Field(key: "citation") var citation: String
    /// The vetting checklist as `credit,tax,safety,discipline` of the checks passed.
    @Field(key: "checklist") var checklist: String
    @Field(key: "state") var state: State
    @OptionalField(key: "notice_entry_id") var noticeEntryID: Int?
    @OptionalField(key: "district_reviewed_by") var districtReviewedBy: Int?
    @OptionalField(key: "city_reviewed_by") var cityReviewedBy: Int?
    @OptionalField(key: "reason") var reason: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func has(_ category: String) -> Bool {
        switch category {
        case "women": return women
        case "nonPublic": return nonPublic
        case "migrant": return migrant
        case "newForms": return newForms
        default: return self.category == category
        }
    }
}

/// The registry: one row per honour given, kept when it is revoked.
final class HonourAward: Model, @unchecked Sendable {
    static let schema = "honour_awards"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @OptionalField(key: "nomination_id") var nominationID: Int?
    @OptionalField(key: "campaign_id") var campaignID: Int?
    @Field(key: "honour_code") var honourCode: String
    @Field(key: "honour_name") var honourName: String
    @Field(key: "year") var year: Int
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "member_id") var memberID: Int?
    @Field(key: "name") var name: String
    @Field(key: "employer") var employer: String
    @Field(key: "category") var category: String
    @Field(key: "prize_fen") var prizeFen: Int64
    @OptionalField(key: "fund_entry_id") var fundEntryID: Int?
    @Field(key: "awarded_on") var awardedOn: String
    @OptionalField(key: "revoked_on") var revokedOn: String?
    @OptionalField(key: "revoke_reason") var revokeReason: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}
