import Fluent
import FluentSQL
import Foundation

/// 深度困难, 相对困难, 意外致困 (the three-tier scheme adopted about 2021).
enum HouseholdCategory: String, Codable, CaseIterable, Sendable {
    case deep, relative, accident
}

/// Where a household's file stands. `active` is 在档; `lifted` (脱困) and `cancelled` (注销) are closed.
enum HouseholdState: String, Codable, CaseIterable, Sendable {
    case draft, submitted, visited, inNotice, reviewed, active, returned, lifted, cancelled

    var isClosed: Bool { self == .lifted || self == .cancelled }
}

/// One file per household (一户一档), held by the union that filed it (the employer's union, or the
/// street union for a flexibly employed or unemployed worker). Money in fen.
final class HardshipHousehold: Model, @unchecked Sendable {
    static let schema = "hardship_households"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// The union that holds the file; it changes when the file follows a member's transfer.
    @Field(key: "org_id") var orgID: Int
    @Field(key: "file_number") var fileNumber: String
    /// The main subject as a member; nil for a worker filed by the street union who is not one.
    @OptionalField(key: "member_id") var memberID: Int?
    @Field(key: "subject_name") var subjectName: String
    /// "M" or "F", from the subject's ID number (the 金秋助学 rule for single-parent women workers).
    @Field(key: "subject_sex") var subjectSex: String
    @Field(key: "state") var state: HouseholdState
    @Field(key: "category") var category: HouseholdCategory
    /// What the income test suggested; `category_reason` says why the filer chose another.
    @OptionalField(key: "suggested_category") var suggestedCategory: HouseholdCategory?
    @OptionalField(key: "category_reason") var categoryReason: String?
    /// 困难农民工.
    @Field(key: "migrant_worker") var migrantWorker: Bool
    @Field(key: "single_parent") var singleParent: Bool
    /// Several, comma-separated codes (see `HouseholdCause`).
    @Field(key: "causes") var causes: String
    @Field(key: "household_size") var householdSize: Int
    /// Income of the last 12 months, and the rigid expenses deducted from it.
    @Field(key: "annual_income_fen") var annualIncomeFen: Int64
    @Field(key: "medical_fen") var medicalFen: Int64
    @Field(key: "disability_fen") var disabilityFen: Int64
    @Field(key: "schooling_fen") var schoolingFen: Int64
    @Field(key: "housing_fen") var housingFen: Int64
    @Field(key: "other_expense_fen") var otherExpenseFen: Int64
    @OptionalField(key: "housing_type") var housingType: String?
    /// Floor area in square metres (not money).
    @OptionalField(key: "floor_area") var floorArea: Double?
    /// The exclusions the reviewer confirmed absent (comma-separated codes, see `HouseholdExclusion`).
    @OptionalField(key: "exclusions_checked") var exclusionsChecked: String?
    @OptionalField(key: "notice_id") var noticeID: Int?
    @OptionalField(key: "closed_on") var closedOn: String?
    @OptionalField(key: "closed_reason") var closedReason: String?
    /// Cancelled for fraud: the aid paid is to be recovered.
    @Field(key: "recover_aid") var recoverAid: Bool
    /// The day of the last change of substance (the "unchanged for a year" list).
    @Field(key: "changed_on") var changedOn: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    var rigidExpensesFen: Int64 { medicalFen + disabilityFen + schoolingFen + housingFen + otherExpenseFen }

    /// 月人均纯收入 = (income − rigid expenses) ÷ household size ÷ 12, in fen, rounded down; never below zero.
    var perCapitaMonthlyFen: Int64 {
        let net = max(0, annualIncomeFen - rigidExpensesFen)
        return net / Int64(max(1, householdSize)) / 12
    }

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }
}

/// A person of the household, the subject included (`relation` self). The ID number is stored only
/// encrypted, with its blind index; `active` is true while the file is not closed, and a partial
/// unique index on (id_index) where active keeps a person out of two open files.
final class HardshipPerson: Model, @unchecked Sendable {
    static let schema = "hardship_people"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "household_id") var householdID: Int
    @Field(key: "name") var name: String
    /// self, spouse, child, parent, other
    @Field(key: "relation") var relation: String
    @Field(key: "id_cipher") var idCipher: Data
    @Field(key: "id_index") var idIndex: String
    @Field(key: "birth_date") var birthDate: String
    @OptionalField(key: "health") var health: String?
    @OptionalField(key: "disability_type") var disabilityType: String?
    @OptionalField(key: "disability_grade") var disabilityGrade: Int?
    @OptionalField(key: "school_or_employer") var schoolOrEmployer: String?
    /// For a child in school: preschool, compulsory, seniorHigh, college, postgraduate.
    @OptionalField(key: "school_grade") var schoolGrade: String?
    @Field(key: "monthly_income_fen") var monthlyIncomeFen: Int64
    @Field(key: "active") var active: Bool

    init() {}
}

/// One line of a file's timeline: a step, a return, a visit, an exit, a transfer.
final class HouseholdEvent: Model, @unchecked Sendable {
    static let schema = "hardship_events"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "household_id") var householdID: Int
    @Field(key: "action") var action: String
    @OptionalField(key: "from_state") var fromState: String?
    @OptionalField(key: "to_state") var toState: String?
    @OptionalField(key: "note") var note: String?
    @OptionalField(key: "reason") var reason: String?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Field(key: "at") var at: Date

    init() {}
}

/// The 低保 standard a district keeps per year (Beijing 2021: ¥1,245 a month), in fen.
final class DibaoStandard: Model, @unchecked Sendable {
    static let schema = "dibao_standards"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "year") var year: Int
    @Field(key: "monthly_fen") var monthlyFen: Int64

    init() {}
}

struct CreateHardshipHouseholds: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        let pg = database.isPostgres
        let id: SQLQueryString = pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        let time: SQLQueryString = pg ? "TIMESTAMPTZ" : "DATETIME"
        let blob: SQLQueryString = pg ? "BYTEA" : "BLOB"
        let bool: SQLQueryString = pg ? "BOOLEAN" : "INTEGER"
        let no: SQLQueryString = pg ? "FALSE" : "0"
        try await sql.raw("""
            CREATE TABLE hardship_households (id \(id), org_id BIGINT NOT NULL REFERENCES organizations(id),
              file_number TEXT NOT NULL, member_id BIGINT REFERENCES members(id), subject_name TEXT NOT NULL, subject_sex TEXT NOT NULL,
              state TEXT NOT NULL, category TEXT NOT NULL CHECK (category IN ('deep', 'relative', 'accident')),
              suggested_category TEXT, category_reason TEXT, migrant_worker \(bool) NOT NULL DEFAULT \(no), single_parent \(bool) NOT NULL DEFAULT \(no),
              causes TEXT NOT NULL, household_size INTEGER NOT NULL CHECK (household_size BETWEEN 1 AND 20),
              annual_income_fen BIGINT NOT NULL CHECK (annual_income_fen >= 0),
              medical_fen BIGINT NOT NULL DEFAULT 0 CHECK (medical_fen >= 0), disability_fen BIGINT NOT NULL DEFAULT 0 CHECK (disability_fen >= 0),
              schooling_fen BIGINT NOT NULL DEFAULT 0 CHECK (schooling_fen >= 0), housing_fen BIGINT NOT NULL DEFAULT 0 CHECK (housing_fen >= 0),
              other_expense_fen BIGINT NOT NULL DEFAULT 0 CHECK (other_expense_fen >= 0),
              housing_type TEXT, floor_area DOUBLE PRECISION, exclusions_checked TEXT, notice_id BIGINT,
              closed_on TEXT, closed_reason TEXT, recover_aid \(bool) NOT NULL DEFAULT \(no), changed_on TEXT NOT NULL,
              created_at \(time), updated_at \(time))
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX uq_hardship_file_number ON hardship_households (file_number)").run()
        try await sql.raw("CREATE INDEX ix_hardship_org_state ON hardship_households (org_id, state)").run()
        try await sql.raw("CREATE INDEX ix_hardship_member ON hardship_households (member_id)").run()
        try await sql.raw("""
            CREATE TABLE hardship_people (id \(id), household_id BIGINT NOT NULL REFERENCES hardship_households(id),
              name TEXT NOT NULL, relation TEXT NOT NULL, id_cipher \(blob) NOT NULL, id_index TEXT NOT NULL, birth_date TEXT NOT NULL,
              health TEXT, disability_type TEXT, disability_grade INTEGER, school_or_employer TEXT, school_grade TEXT,
              monthly_income_fen BIGINT NOT NULL DEFAULT 0 CHECK (monthly_income_fen >= 0), active \(bool) NOT NULL)
            """).run()
        try await sql.raw("CREATE INDEX ix_hardship_people_household ON hardship_people (household_id)").run()
        // A person stands in one open file at most.
        try await sql.raw("CREATE UNIQUE INDEX uq_hardship_people_active ON hardship_people (id_index) WHERE active = \(pg ? "TRUE" : "1")").run()
        try await sql.raw("""
            CREATE TABLE hardship_events (id \(id), household_id BIGINT NOT NULL REFERENCES hardship_households(id),
              action TEXT NOT NULL, from_state TEXT, to_state TEXT, note TEXT, reason TEXT, staff_id BIGINT, at \(time) NOT NULL)
            """).run()
        try await sql.raw("CREATE INDEX ix_hardship_events_household ON hardship_events (household_id, id)").run()
        try await sql.raw("""
            CREATE TABLE dibao_standards (id \(id), org_id BIGINT NOT NULL REFERENCES organizations(id), year INTEGER NOT NULL,
              monthly_fen BIGINT NOT NULL CHECK (monthly_fen > 0))
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX uq_dibao_org_year ON dibao_standards (org_id, year)").run()
        try await sql.raw("CREATE TABLE hardship_serials (year INTEGER PRIMARY KEY, last INTEGER NOT NULL)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        for table in ["hardship_serials", "dibao_standards", "hardship_events", "hardship_people", "hardship_households"] {
            try await sql.raw("DROP TABLE \(ident: table)").run()
        }
    }
}

enum Dibao {
    /// The 低保 standard of the district an organisation lies in (or of the nearest node above it
    /// that keeps one) for the year, in fen a month; nil when none is kept.
    static func monthlyFen(for org: Organization, year: Int, on db: any Database) async throws -> Int64? {
        let ids = org.treePath.ids
        let rows = try await DibaoStandard.query(on: db).filter(\.$orgID ~~ ids).filter(\.$year == year).all()
        for id in ids.reversed() { if let row = rows.first(where: { $0.orgID == id }) { return row.monthlyFen } }
        return nil
    }
}
