import Foundation
import GonghuiCore
import Vapor

extension StaffRole {
    /// Work appeals in the subtree: every federation level, grassroots unions and the hotline.
    var worksAppeals: Bool { managesOrgs || self == .unionAdmin || self == .hotlineAgent }
    /// Keep the calendar, the subjects and the routing rules: the city.
    var keepsAppealSettings: Bool { self == .cityAdmin }
}

/// `POST /api/v1/appeals`, from a worker (no account) or a hotline agent.
struct AppealInput: Decodable, Sendable {
    var channel: String?
    var category: String?
    var subject: String?
    var name: String?
    var phone: String?
    var anonymous: Bool?
    var employerName: String?
    var employerCreditCode: String?
    var orgId: Int?
    var description: String?
    var peopleAffected: Int?
    var amountYuan: Double?
    var urgency: String?

    enum CodingKeys: String, CodingKey {
        case channel, category, subject, name, phone, anonymous, employerName, employerCreditCode, orgId, description, peopleAffected, amountYuan, urgency
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func string(_ key: CodingKeys) throws -> String? {
            if let int = try? c.decodeIfPresent(Int.self, forKey: key) { return String(int) }
            return try c.decodeIfPresent(String.self, forKey: key)
        }
        channel = try c.decodeIfPresent(String.self, forKey: .channel)
        category = try c.decodeIfPresent(String.self, forKey: .category)
        subject = try c.decodeIfPresent(String.self, forKey: .subject)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        phone = try string(.phone)
        anonymous = try c.decodeIfPresent(Bool.self, forKey: .anonymous)
        employerName = try c.decodeIfPresent(String.self, forKey: .employerName)
        employerCreditCode = try string(.employerCreditCode)
        orgId = try c.decodeIfPresent(Int.self, forKey: .orgId)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        peopleAffected = try c.decodeIfPresent(Int.self, forKey: .peopleAffected)
        if let d = try? c.decodeIfPresent(Double.self, forKey: .amountYuan) { amountYuan = d } else if let text = try c.decodeIfPresent(String.self, forKey: .amountYuan), !text.isEmpty {
            guard let d = Double(Normalize.identifier(text).replacingOccurrences(of: ",", with: "")) else {
                throw DecodingError.typeMismatch(Double.self, .init(codingPath: [CodingKeys.amountYuan], debugDescription: "not a number"))
            }
            amountYuan = d
        }
        urgency = try c.decodeIfPresent(String.self, forKey: .urgency)
    }
}

/// `POST /api/v1/appeals/{id}/actions`.
struct AppealActionInput: Content {
    var action: String?
    /// Why (reroute, sendBack, pause, reopen, escalate), or the text of a reply or note.
    var reason: String?
    var text: String?
    var orgId: Int?
    var outcome: String?
    var amountRecoveredYuan: Double?
    var assigneeId: Int?
    var tier: String?
}

struct AppealCreatedDTO: Content {
    let id: Int
    let trackingNumber: String
    let state: AppealState
    let orgId: Int
    let dueAt: Date
}

struct AppealEventDTO: Content {
    let kind: String
    let text: String?
    let isInternal: Bool
    let fromOrgId: Int?
    let toOrgId: Int?
    let fromOrgName: String?
    let toOrgName: String?
    let staffName: String?
    let at: Date
}

/// An appeal as staff see it.
struct AppealDTO: Content {
    let id: Int
    let trackingNumber: String
    let channel: AppealChannel
    let category: AppealCategory
    let subject: String
    let subjectName: String
    let anonymous: Bool
    let name: String?
    /// Masked in lists; whole on the appeal itself, for the call back.
    let phone: String?
    let memberId: Int?
    let employerName: String?
    let employerCreditCode: String?
    let enterpriseId: Int?
    let workplaceOrgId: Int?
    let description: String
    let peopleAffected: Int
    let amountYuan: Double
    let urgency: AppealUrgency
    let tier: AppealTier
    let orgId: Int
    let orgName: String?
    let supervisorOrgId: Int?
    let assigneeStaffId: Int?
    let state: AppealState
    let receivedAt: Date
    let dueAt: Date
    let overdue: Bool
    let resolvedAt: Date?
    let closedAt: Date?
    let outcome: AppealOutcome?
    let amountRecoveredYuan: Double
    let onTime: Bool?
    let rating: Int?
    let ratingComment: String?
    let reopenCount: Int
    var events: [AppealEventDTO]?
}

/// What the worker sees after the one-time code: the state, the replies, the outcome.
struct AppealFollowDTO: Content {
    struct Reply: Content {
        let kind: String
        let text: String?
        let at: Date
    }

    let trackingNumber: String
    let state: AppealState
    let subjectName: String
    /// The unit handling it now.
    let orgName: String?
    let receivedAt: Date
    let dueAt: Date
    let outcome: AppealOutcome?
    let amountRecoveredYuan: Double
    let rating: Int?
    let replies: [Reply]
    /// For `POST /api/v1/appeals/follow/respond`; valid two hours.
    let token: String
}

struct AppealStatsDTO: Content {
    struct Row: Content {
        let key: String
        let label: String
        let received: Int
        let resolved: Int
        let onTime: Int
        /// Still open and past the deadline now.
        let overdueOpen: Int
        /// On time ÷ (resolved + overdueOpen), in percent.
        let onTimeRate: Double?
        let rated: Int
        let satisfied: Int
        let satisfaction: Double?
        let recoveredYuan: Double
    }

    let from: String
    let to: String
    let by: String
    let rows: [Row]
    let total: Row
}

extension Int {
    /// Fen as yuan with two decimals.
    var yuan: Double { Double(self) / 100 }
}
