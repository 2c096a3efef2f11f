import Fluent
import FluentSQL
import Foundation

/// 两节送温暖, 金秋助学, 医疗救助, 生活救助, 临时救助.
enum ReliefKind: String, Codable, CaseIterable, Sendable {
    case festivalVisit, autumnSchooling, medical, living, temporary
}

/// A relief programme (帮扶项目): one per kind and year, owned by the city, with its fund in the
/// ledger and its amount rule as data staff can change. Money in fen; multiples of 低保 in tenths
/// of a month (`100` is ten months), so no rule needs a fraction.
final class ReliefProgram: Model, @unchecked Sendable {
    static let schema = "relief_programs"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "kind") var kind: ReliefKind
    @Field(key: "year") var year: Int
    @Field(key: "name") var name: String
    @Field(key: "org_id") var orgID: Int
    @Field(key: "fund_id") var fundID: Int
    /// A fixed amount per line, when set; otherwise the category multiples (or, for 金秋助学, the grades).
    @OptionalField(key: "fixed_fen") var fixedFen: Int64?
    @OptionalField(key: "k_deep") var kDeep: Int?
    @OptionalField(key: "k_relative") var kRelative: Int?
    @OptionalField(key: "k_accident") var kAccident: Int?
    /// 金秋助学: the grade rules as JSON (`[GradeRule]`), Beijing 2021 by default.
    @OptionalField(key: "grade_rules") var gradeRules: String?
    /// Relief of every programme to one household in the year, reserved and paid, at most this.
    @OptionalField(key: "household_year_cap_fen") var householdYearCapFen: Int64?
    /// 临时救助: per person and year.
    @OptionalField(key: "person_year_cap_fen") var personYearCapFen: Int64?
    /// A 相对困难 household receives one kind of aid a year.
    @Field(key: "relative_one_kind") var relativeOneKind: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

enum ReliefBatchState: String, Codable, CaseIterable, Sendable {
    case draft, submitted, inNotice, paid, cancelled
}

/// A disbursement batch: a street (or the union that filed) lists lines for one programme, the
/// district approves, the recipients stand in notice, then it is paid.
final class ReliefBatch: Model, @unchecked Sendable {
    static let schema = "relief_batches"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "program_id") var programID: Int
    @Field(key: "org_id") var orgID: Int
    @Field(key: "state") var state: ReliefBatchState
    @OptionalField(key: "notice_id") var noticeID: Int?
    @Field(key: "line_count") var lineCount: Int
    @Field(key: "total_fen") var totalFen: Int64
    @OptionalField(key: "created_by") var createdBy: Int?
    @OptionalField(key: "approved_by") var approvedBy: Int?
    @OptionalField(key: "paid_at") var paidAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

enum ReliefLineState: String, Codable, CaseIterable, Sendable {
    /// Its amount is held in the batch org's budget.
    case reserved
    case paid
    /// The bank refused it; the reservation went back.
    case failed
    /// Taken out of a batch before payment (a cancelled batch); the reservation went back.
    case released
    /// Paid, then undone by a `reverse` entry with a reason.
    case reversed
}

/// One recipient: a household (a child of it for 金秋助学), or a person for 临时救助.
final class ReliefLine: Model, @unchecked Sendable {
    static let schema = "relief_lines"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "batch_id") var batchID: Int
    @Field(key: "program_id") var programID: Int
    @Field(key: "year") var year: Int
    @Field(key: "kind") var kind: ReliefKind
    @OptionalField(key: "household_id") var householdID: Int?
    /// 金秋助学: the child.
    @OptionalField(key: "person_id") var personID: Int?
    /// Who receives it, as the bank's file needs it (never on a public page unmasked).
    @Field(key: "recipient_name") var recipientName: String
    /// 临时救助: the person's ID number, sealed, and its blind index (the yearly cap per person).
    @OptionalField(key: "id_cipher") var idCipher: Data?
    @OptionalField(key: "id_index") var idIndex: String?
    /// What one programme pays once (`h:12`, `p:40`); nil for 临时救助. Unique per programme while
    /// the line holds or has paid money, so two clients cannot both pay a household.
    @OptionalField(key: "beneficiary") var beneficiary: String?
    @Field(key: "amount_fen") var amountFen: Int64
    @Field(key: "state") var state: ReliefLineState
    /// The bank account or 京卡 number at the time the line was made.
    @OptionalField(key: "account") var account: String?
    @OptionalField(key: "pay_reference") var payReference: String?
    @OptionalField(key: "pay_entry_id") var payEntryID: Int?
    @OptionalField(key: "reason") var reason: String?
    @Field(key: "at") var at: Date

    init() {}
}

struct CreateRelief: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        let pg = database.isPostgres
        let id: SQLQueryString = pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        let time: SQLQueryString = pg ? "TIMESTAMPTZ" : "DATETIME"
        let blob: SQLQueryString = pg ? "BYTEA" : "BLOB"
        let bool: SQLQueryString = pg ? "BOOLEAN" : "INTEGER"
        try await sql.raw("""
            CREATE TABLE relief_programs (id \(id), kind TEXT NOT NULL, year INTEGER NOT NULL, name TEXT NOT NULL,
              org_id BIGINT NOT NULL REFERENCES organizations(id), fund_id BIGINT NOT NULL REFERENCES funds(id),
              fixed_fen BIGINT CHECK (fixed_fen > 0), k_deep INTEGER, k_relative INTEGER, k_accident INTEGER, grade_rules TEXT,
              household_year_cap_fen BIGINT, person_year_cap_fen BIGINT, relative_one_kind \(bool) NOT NULL, created_at \(time))
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX uq_relief_programs_kind_year ON relief_programs (kind, year)").run()
        try await sql.raw("""
            CREATE TABLE relief_batches (id \(id), program_id BIGINT NOT NULL REFERENCES relief_programs(id),
              org_id BIGINT NOT NULL REFERENCES organizations(id), state TEXT NOT NULL, notice_id BIGINT,
              line_count INTEGER NOT NULL DEFAULT 0, total_fen BIGINT NOT NULL DEFAULT 0, created_by BIGINT, approved_by BIGINT,
              paid_at \(time), created_at \(time))
            """).run()
        try await sql.raw("CREATE INDEX ix_relief_batches_org ON relief_batches (org_id, id)").run()
        try await sql.raw("""
            CREATE TABLE relief_lines (id \(id), batch_id BIGINT NOT NULL REFERENCES relief_batches(id),
              program_id BIGINT NOT NULL REFERENCES relief_programs(id), year INTEGER NOT NULL, kind TEXT NOT NULL,
              household_id BIGINT, person_id BIGINT, recipient_name TEXT NOT NULL, id_cipher \(blob), id_index TEXT, beneficiary TEXT,
              amount_fen BIGINT NOT NULL CHECK (amount_fen > 0), state TEXT NOT NULL, account TEXT, pay_reference TEXT,
              pay_entry_id BIGINT, reason TEXT, at \(time) NOT NULL)
            """).run()
        try await sql.raw("CREATE INDEX ix_relief_lines_batch ON relief_lines (batch_id, id)").run()
        try await sql.raw("CREATE INDEX ix_relief_lines_household ON relief_lines (household_id, year)").run()
        try await sql.raw("CREATE INDEX ix_relief_lines_person ON relief_lines (id_index, year)").run()
        // A household (a child, for 金秋助学) is paid once per programme: the database says so.
        try await sql.raw("""
            CREATE UNIQUE INDEX uq_relief_lines_once ON relief_lines (program_id, beneficiary) WHERE state IN ('reserved', 'paid')
            """).run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        for table in ["relief_lines", "relief_batches", "relief_programs"] { try await sql.raw("DROP TABLE \(ident: table)").run() }
    }
}
