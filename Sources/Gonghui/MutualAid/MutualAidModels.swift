import Fluent
import FluentSQL
import Foundation

/// The kinds of cover: the two halves of 二次报销 are paid from settlement files; the rest by application.
enum AidPlanKind: String, Codable, CaseIterable, Sendable {
    case inpatient, outpatient, specialDisease, accident, womenSpecial

    /// The settlement files' 就诊类型 this kind pays for; nil for the kinds claimed by application.
    var visitType: String? {
        switch self {
        case .inpatient: "inpatient"
        case .outpatient: "outpatient"
        default: nil
        }
    }

    var byApplication: Bool { self == .accident || self == .womenSpecial }
}

/// A plan of one year, its rules as data. Money in fen, the ratio in basis points (5000 = 50%).
final class AidPlan: Model, @unchecked Sendable {
    static let schema = "mutual_aid_plans"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "kind") var kind: AidPlanKind
    @Field(key: "year") var year: Int
    @Field(key: "name") var name: String
    @Field(key: "cover_from") var coverFrom: String
    @Field(key: "cover_to") var coverTo: String
    /// automatic (units that remitted their union funds) or enrolled (the union enrols its members).
    @Field(key: "admission") var admission: String
    @Field(key: "deductible_fen") var deductibleFen: Int64
    @Field(key: "ratio_bp") var ratioBP: Int
    @OptionalField(key: "per_claim_cap_fen") var perClaimCapFen: Int64?
    @Field(key: "yearly_cap_fen") var yearlyCapFen: Int64
    @OptionalField(key: "total_cap_fen") var totalCapFen: Int64?
    @Field(key: "waiting_days") var waitingDays: Int
    @OptionalField(key: "share_price_fen") var sharePriceFen: Int64?
    @Field(key: "max_shares") var maxShares: Int
    /// The least share of the unit's eligible members an enrolment must hold, in basis points.
    @OptionalField(key: "min_share_bp") var minShareBP: Int?
    @OptionalField(key: "enrol_from") var enrolFrom: String?
    @OptionalField(key: "enrol_to") var enrolTo: String?
    /// The share of automatic claims drawn for a reviewer before payment, in basis points.
    @Field(key: "review_bp") var reviewBP: Int
    @Field(key: "org_id") var orgID: Int
    @Field(key: "fund_id") var fundID: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    var automatic: Bool { admission == "automatic" }
    func covers(_ day: String) -> Bool { coverFrom <= day && day <= coverTo }
}

/// Whether a unit remitted its union funds (工会经费) to the city for a year: automatic cover follows it.
final class FundsRemitted: Model, @unchecked Sendable {
    static let schema = "org_funds_remitted"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "year") var year: Int
    @Field(key: "remitted") var remitted: Bool
    @OptionalField(key: "staff_id") var staffID: Int?
    @OptionalField(key: "updated_at") var updatedAt: Date?

    init() {}
}

enum EnrolmentState: String, Codable, CaseIterable, Sendable {
    case draft, submitted, confirmed, paid, inForce, ended, cancelled
}

/// A unit's enrolment in a plan for its period: the roster is its shares.
final class AidEnrolment: Model, @unchecked Sendable {
    static let schema = "mutual_aid_enrolments"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "plan_id") var planID: Int
    @Field(key: "org_id") var orgID: Int
    @Field(key: "state") var state: EnrolmentState
    @Field(key: "members") var members: Int
    @Field(key: "shares") var shares: Int
    @Field(key: "eligible") var eligible: Int
    @Field(key: "amount_fen") var amountFen: Int64
    @OptionalField(key: "paid_on") var paidOn: String?
    @OptionalField(key: "payment_ref") var paymentRef: String?
    @OptionalField(key: "cover_from") var coverFrom: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "updated_at") var updatedAt: Date?

    init() {}
}

/// One member on an enrolment. A member holds one live row per plan (a partial unique index).
final class AidShare: Model, @unchecked Sendable {
    static let schema = "mutual_aid_shares"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "enrolment_id") var enrolmentID: Int
    @Field(key: "plan_id") var planID: Int
    @Field(key: "member_id") var memberID: Int
    @Field(key: "shares") var shares: Int
    @Field(key: "live") var live: Bool

    init() {}
}

/// A claim: a settlement row adjudicated, or an application. Outcome codes as the issue names them,
/// `pending` while an application waits.
final class AidClaim: Model, @unchecked Sendable {
    static let schema = "mutual_aid_claims"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @OptionalField(key: "plan_id") var planID: Int?
    @OptionalField(key: "member_id") var memberID: Int?
    @Field(key: "org_id") var orgID: Int
    /// settlement or application
    @Field(key: "source") var source: String
    @OptionalField(key: "settlement_number") var settlementNumber: String?
    @OptionalField(key: "visit_type") var visitType: String?
    @Field(key: "visit_date") var visitDate: String
    @Field(key: "total_fen") var totalFen: Int64
    @Field(key: "insurance_fen") var insuranceFen: Int64
    @Field(key: "self_paid_fen") var selfPaidFen: Int64
    @Field(key: "benefit_fen") var benefitFen: Int64
    @Field(key: "outcome") var outcome: String
    /// closed (nothing to pay), review, submitted, moreInfo, approved, inPayout, settled, rejected
    @Field(key: "state") var state: String
    @OptionalField(key: "job_id") var jobID: Int?
    @OptionalField(key: "line") var line: Int?
    @OptionalField(key: "id_cipher") var idCipher: Data?
    @OptionalField(key: "id_index") var idIndex: String?
    @OptionalField(key: "description") var description: String?
    @OptionalField(key: "reason") var reason: String?
    @OptionalField(key: "reject_code") var rejectCode: String?
    @OptionalField(key: "payout_id") var payoutID: Int?
    @OptionalField(key: "card_snapshot") var cardSnapshot: String?
    @OptionalField(key: "reviewed_by") var reviewedBy: Int?
    @OptionalField(key: "created_by") var createdBy: Int?
    @Field(key: "month") var month: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "decided_at") var decidedAt: Date?

    init() {}
}

/// A day's payments of one plan: the bank's file is made from its lines.
final class AidPayout: Model, @unchecked Sendable {
    static let schema = "mutual_aid_payouts"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "plan_id") var planID: Int
    @Field(key: "day") var day: String
    /// issued (reserved, with the bank) or settled (the bank's answer recorded)
    @Field(key: "state") var state: String
    @Field(key: "lines") var lines: Int
    @Field(key: "total_fen") var totalFen: Int64
    @Field(key: "paid_fen") var paidFen: Int64
    @Field(key: "failed") var failed: Int
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "settled_at") var settledAt: Date?

    init() {}
}

struct CreateMutualAid: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        let pg = database.isPostgres
        let id: SQLQueryString = pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        let time: SQLQueryString = pg ? "TIMESTAMPTZ" : "DATETIME"
        let bool: SQLQueryString = pg ? "BOOLEAN" : "INTEGER"
        let blob: SQLQueryString = pg ? "BYTEA" : "BLOB"
        try await sql.raw("""
            CREATE TABLE mutual_aid_plans (id \(id), kind TEXT NOT NULL, year INTEGER NOT NULL, name TEXT NOT NULL,
              cover_from TEXT NOT NULL, cover_to TEXT NOT NULL, admission TEXT NOT NULL CHECK (admission IN ('automatic', 'enrolled')),
              deductible_fen BIGINT NOT NULL, ratio_bp INTEGER NOT NULL CHECK (ratio_bp BETWEEN 0 AND 10000), per_claim_cap_fen BIGINT,
              yearly_cap_fen BIGINT NOT NULL, total_cap_fen BIGINT, waiting_days INTEGER NOT NULL, share_price_fen BIGINT,
              max_shares INTEGER NOT NULL, min_share_bp INTEGER, enrol_from TEXT, enrol_to TEXT, review_bp INTEGER NOT NULL,
              org_id BIGINT NOT NULL REFERENCES organizations(id), fund_id BIGINT NOT NULL REFERENCES funds(id), created_at \(time))
            """).run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_plans_year ON mutual_aid_plans (year, kind)").run()
        try await sql.raw("""
            CREATE TABLE org_funds_remitted (id \(id), org_id BIGINT NOT NULL REFERENCES organizations(id), year INTEGER NOT NULL,
              remitted \(bool) NOT NULL, staff_id BIGINT, updated_at \(time))
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX uq_org_funds_remitted ON org_funds_remitted (org_id, year)").run()
        try await sql.raw("""
            CREATE TABLE mutual_aid_enrolments (id \(id), plan_id BIGINT NOT NULL REFERENCES mutual_aid_plans(id),
              org_id BIGINT NOT NULL REFERENCES organizations(id), state TEXT NOT NULL, members INTEGER NOT NULL, shares INTEGER NOT NULL,
              eligible INTEGER NOT NULL, amount_fen BIGINT NOT NULL, paid_on TEXT, payment_ref TEXT, cover_from TEXT, staff_id BIGINT,
              created_at \(time), updated_at \(time))
            """).run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_enrolments_org ON mutual_aid_enrolments (org_id, plan_id)").run()
        try await sql.raw("""
            CREATE TABLE mutual_aid_shares (id \(id), enrolment_id BIGINT NOT NULL REFERENCES mutual_aid_enrolments(id),
              plan_id BIGINT NOT NULL, member_id BIGINT NOT NULL REFERENCES members(id), shares INTEGER NOT NULL, live \(bool) NOT NULL)
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX uq_mutual_aid_shares_live ON mutual_aid_shares (plan_id, member_id) WHERE live = \(unsafeRaw: pg ? "TRUE" : "1")").run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_shares_member ON mutual_aid_shares (member_id)").run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_shares_enrolment ON mutual_aid_shares (enrolment_id)").run()
        try await sql.raw("""
            CREATE TABLE mutual_aid_payouts (id \(id), plan_id BIGINT NOT NULL REFERENCES mutual_aid_plans(id), day TEXT NOT NULL,
              state TEXT NOT NULL, lines INTEGER NOT NULL, total_fen BIGINT NOT NULL, paid_fen BIGINT NOT NULL, failed INTEGER NOT NULL,
              staff_id BIGINT, created_at \(time), settled_at \(time))
            """).run()
        try await sql.raw("""
            CREATE TABLE mutual_aid_claims (id \(id), plan_id BIGINT REFERENCES mutual_aid_plans(id), member_id BIGINT REFERENCES members(id),
              org_id BIGINT NOT NULL REFERENCES organizations(id), source TEXT NOT NULL, settlement_number TEXT, visit_type TEXT,
              visit_date TEXT NOT NULL, total_fen BIGINT NOT NULL, insurance_fen BIGINT NOT NULL, self_paid_fen BIGINT NOT NULL,
              benefit_fen BIGINT NOT NULL CHECK (benefit_fen >= 0), outcome TEXT NOT NULL, state TEXT NOT NULL, job_id BIGINT, line INTEGER,
              id_cipher \(blob), id_index TEXT, description TEXT, reason TEXT, reject_code TEXT, payout_id BIGINT REFERENCES mutual_aid_payouts(id),
              card_snapshot TEXT, reviewed_by BIGINT, created_by BIGINT, month TEXT NOT NULL, created_at \(time) NOT NULL, decided_at \(time))
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX uq_mutual_aid_claims_settlement ON mutual_aid_claims (settlement_number)").run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_claims_member ON mutual_aid_claims (member_id, plan_id)").run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_claims_org ON mutual_aid_claims (org_id, id)").run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_claims_state ON mutual_aid_claims (state, plan_id)").run()
        try await sql.raw("CREATE INDEX ix_mutual_aid_claims_payout ON mutual_aid_claims (payout_id)").run()
        // What each member has received: per plan (the yearly cap) and per kind over all years (the total cap).
        try await sql.raw("""
            CREATE TABLE mutual_aid_usage (plan_id BIGINT NOT NULL REFERENCES mutual_aid_plans(id), member_id BIGINT NOT NULL,
              used_fen BIGINT NOT NULL CHECK (used_fen >= 0), claims INTEGER NOT NULL, PRIMARY KEY (plan_id, member_id))
            """).run()
        try await sql.raw("""
            CREATE TABLE mutual_aid_totals (member_id BIGINT NOT NULL, kind TEXT NOT NULL, used_fen BIGINT NOT NULL CHECK (used_fen >= 0),
              PRIMARY KEY (member_id, kind))
            """).run()
        // The statistics' kept tallies: per union, plan, month and outcome, written with the claims.
        try await sql.raw("""
            CREATE TABLE mutual_aid_tallies (org_id BIGINT NOT NULL, plan_id BIGINT NOT NULL, month TEXT NOT NULL, outcome TEXT NOT NULL,
              claims BIGINT NOT NULL, benefit_fen BIGINT NOT NULL, max_fen BIGINT NOT NULL, PRIMARY KEY (org_id, plan_id, month, outcome))
            """).run()
        // A settlement import's counts by outcome and what it paid, beside its job.
        try await sql.raw("""
            CREATE TABLE settlement_jobs (job_id BIGINT PRIMARY KEY REFERENCES import_jobs(id), paid INTEGER NOT NULL DEFAULT 0,
              below_deductible INTEGER NOT NULL DEFAULT 0, not_member INTEGER NOT NULL DEFAULT 0, not_covered INTEGER NOT NULL DEFAULT 0,
              waiting_period INTEGER NOT NULL DEFAULT 0, cap_reached INTEGER NOT NULL DEFAULT 0, duplicate_settlement INTEGER NOT NULL DEFAULT 0,
              bad_row INTEGER NOT NULL DEFAULT 0, paid_fen BIGINT NOT NULL DEFAULT 0)
            """).run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        for table in ["settlement_jobs", "mutual_aid_tallies", "mutual_aid_totals", "mutual_aid_usage", "mutual_aid_claims", "mutual_aid_payouts",
                      "mutual_aid_shares", "mutual_aid_enrolments", "org_funds_remitted", "mutual_aid_plans"] {
            try await sql.raw("DROP TABLE \(ident: table)").run()
        }
    }
}
