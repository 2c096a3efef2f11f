import Fluent
import Foundation
import GonghuiCore
import Vapor

/// 职业技能竞赛: a trade at a level, organised by a union; members register from their phones up to
/// a capacity no concurrency can pass; scores per stage with weights; a ranking with ties; medals
/// and prizes through the funds ledger; grade promotions proposed to the appraisal body.
final class Contest: Model, @unchecked Sendable {
    static let schema = "contests"

    enum State: String, Codable, Sendable { case open, published }

    static let levels = ["grassroots", "district", "city", "national"]

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "name") var name: String
    @Field(key: "trade") var trade: String
    @Field(key: "level") var level: String
    @Field(key: "capacity") var capacity: Int
    /// Kept in step with the registrations by the conditional update that admits each one.
    @Field(key: "registered") var registered: Int
    @Field(key: "registration_closes_at") var registrationClosesAt: Date
    /// `[ContestStage]` as JSON.
    @Field(key: "stages") var stages: String
    @Field(key: "state") var state: State
    /// `[gold, silver, bronze]` prizes in fen, as JSON.
    @Field(key: "prizes") var prizes: String
    @OptionalField(key: "fund_id") var fundID: Int?
    @Field(key: "promote_top") var promoteTop: Int
    /// The share of a stage's full marks a promotion needs in every stage (percent).
    @Field(key: "pass_mark") var passMark: Int
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    var stageList: [ContestStage] { (try? JSONDecoder().decode([ContestStage].self, from: Data(stages.utf8))) ?? [] }
    var prizeFen: [Int64] { (try? JSONDecoder().decode([Int64].self, from: Data(prizes.utf8))) ?? [0, 0, 0] }
    func isOpen(at now: Date) -> Bool { state == .open && now <= registrationClosesAt }
}

struct ContestStage: Content, Equatable {
    var code: String
    var name: String
    /// Percent of the total; the stages' weights add up to 100.
    var weight: Int
    var maxScore: Int
}

final class ContestRegistration: Model, @unchecked Sendable {
    static let schema = "contest_registrations"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "contest_id") var contestID: Int
    @Field(key: "member_id") var memberID: Int
    @Field(key: "org_id") var orgID: Int
    @Field(key: "name") var name: String
    /// The weighted total in hundredths of a point × percent, set when results are published.
    @OptionalField(key: "total_bp") var totalBP: Int64?
    @OptionalField(key: "rank") var rank: Int?
    @OptionalField(key: "medal") var medal: String?
    @Field(key: "prize_fen") var prizeFen: Int64
    @OptionalField(key: "fund_entry_id") var fundEntryID: Int?
    @Field(key: "promoted") var promoted: Bool
    @Field(key: "registered_at") var registeredAt: Date

    init() {}
}

final class ContestScore: Model, @unchecked Sendable {
    static let schema = "contest_scores"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "registration_id") var registrationID: Int
    @Field(key: "stage") var stage: String
    /// Hundredths of a point.
    @Field(key: "score_cp") var scoreCP: Int
    @OptionalField(key: "staff_id") var staffID: Int?

    init() {}
}

struct ContestInput: Content {
    var orgId: Int?
    var name: String?
    var trade: String?
    var level: String?
    var capacity: Int?
    var registrationClosesAt: String?
    var stages: [ContestStage]?
    var goldYuan: Decimal?
    var silverYuan: Decimal?
    var bronzeYuan: Decimal?
    var prizeBudgetYuan: Decimal?
    var promoteTop: Int?
    var passMark: Int?
}

struct ContestDTO: Content {
    let id: Int
    let orgId: Int
    let orgName: String?
    let name: String
    let trade: String
    let level: String
    let capacity: Int
    let registered: Int
    let registrationClosesAt: Date
    let open: Bool
    let stages: [ContestStage]
    let prizesYuan: [Decimal]
    let promoteTop: Int
    let passMark: Int
    let state: String

    init(_ c: Contest, orgName: String?, now: Date = Date()) {
        id = c.id ?? 0
        orgId = c.orgID
        self.orgName = orgName
        name = c.name
        trade = c.trade
        level = c.level
        capacity = c.capacity
        registered = c.registered
        registrationClosesAt = c.registrationClosesAt
        open = c.isOpen(at: now) && c.registered < c.capacity
        stages = c.stageList
        prizesYuan = c.prizeFen.map { Decimal(fen: $0) }
        promoteTop = c.promoteTop
        passMark = c.passMark
        state = c.state.rawValue
    }
}

struct ContestScoreInput: Content {
    var registrationId: Int?
    var memberId: Int?
    var stage: String?
    var score: Decimal?
}

struct ContestScoresInput: Content {
    var registrationId: Int?
    var memberId: Int?
    var stage: String?
    var score: Decimal?
    var scores: [ContestScoreInput]?
}

struct ContestResultDTO: Content {
    let registrationId: Int
    let name: String
    let unionName: String
    let scores: [String: Decimal]
    let total: Decimal?
    let rank: Int?
    let medal: String?
    let prizeYuan: Decimal
    let promoted: Bool
}

struct ContestResultsDTO: Content {
    let contestId: Int
    let name: String
    let published: Bool
    let registered: Int
    let results: [ContestResultDTO]
}
