import Fluent
import Foundation
import GonghuiCore

/// A member (会员) of a grassroots union. The resident ID number is stored only encrypted, with
/// its blind index; sex and birth date are derived from it when it is checked.
///
/// `@unchecked Sendable`: see `Organization`.
final class Member: Model, @unchecked Sendable {
    static let schema = "members"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "org_id") var orgID: Int
    @Field(key: "name") var name: String
    @Field(key: "id_cipher") var idCipher: Data
    @Field(key: "id_index") var idIndex: String
    @Field(key: "sex") var sex: String
    @Field(key: "birth_date") var birthDate: String
    @Field(key: "phone") var phone: String
    @OptionalField(key: "employer_name") var employerName: String?
    @OptionalField(key: "employer_credit_code") var employerCreditCode: String?
    @Field(key: "joined_on") var joinedOn: String
    @Field(key: "status") var status: MemberStatus
    @Field(key: "card_number") var cardNumber: String
    @Field(key: "card_state") var cardState: CardState
    @Field(key: "source") var source: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }
}

/// One line of a member's history: joined, status changed, transferred, card lost or replaced, phone changed.
final class MemberEvent: Model, @unchecked Sendable {
    static let schema = "member_events"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "member_id") var memberID: Int
    @Field(key: "kind") var kind: String
    @OptionalField(key: "from_value") var fromValue: String?
    @OptionalField(key: "to_value") var toValue: String?
    @OptionalField(key: "note") var note: String?
    @OptionalField(key: "actor_staff_id") var actorStaffID: Int?
    @Field(key: "at") var at: Date

    init() {}

    init(memberID: Int, kind: String, from: String? = nil, to: String? = nil, note: String? = nil, actor: Int?) {
        self.memberID = memberID
        self.kind = kind
        self.fromValue = from
        self.toValue = to
        self.note = note
        self.actorStaffID = actor
        self.at = Date()
    }
}

/// An application to join (入会申请), from the `/join` page, the app or a booth.
final class MemberApplication: Model, @unchecked Sendable {
    static let schema = "member_applications"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// Where it sits: the chosen union, the street running the booth, or a district to assign.
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "meeting_id") var meetingID: Int?
    @Field(key: "name") var name: String
    @Field(key: "id_cipher") var idCipher: Data
    @Field(key: "id_index") var idIndex: String
    @Field(key: "sex") var sex: String
    @Field(key: "birth_date") var birthDate: String
    @Field(key: "phone") var phone: String
    @Field(key: "employer_name") var employerName: String
    @OptionalField(key: "employer_credit_code") var employerCreditCode: String?
    @Field(key: "status") var status: ApplicationStatus
    /// The rejection reason or the information asked for.
    @OptionalField(key: "reason") var reason: String?
    @OptionalField(key: "member_id") var memberID: Int?
    @OptionalField(key: "reviewed_by") var reviewedBy: Int?
    @OptionalField(key: "reviewed_at") var reviewedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }
}

/// A move from one union to another (会员关系转接): asked by the member or staff, accepted by the receiver.
final class MemberTransfer: Model, @unchecked Sendable {
    static let schema = "member_transfers"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "member_id") var memberID: Int
    @Field(key: "from_org_id") var fromOrgID: Int
    @Field(key: "to_org_id") var toOrgID: Int
    @Field(key: "status") var status: TransferStatus
    /// `member` or `staff`.
    @Field(key: "requested_by") var requestedBy: String
    @OptionalField(key: "requested_staff_id") var requestedStaffID: Int?
    @OptionalField(key: "reason") var reason: String?
    @OptionalField(key: "decided_by") var decidedBy: Int?
    @OptionalField(key: "decided_at") var decidedAt: Date?
    @OptionalField(key: "decision_note") var decisionNote: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

/// A one-time code sent by SMS. Only its SHA-256 is kept.
final class OneTimeCode: Model, @unchecked Sendable {
    static let schema = "one_time_codes"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "phone") var phone: String
    @Field(key: "purpose") var purpose: String
    @Field(key: "code_hash") var codeHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @Field(key: "attempts") var attempts: Int
    @OptionalField(key: "used_at") var usedAt: Date?
    @OptionalField(key: "ip") var ip: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }
}

/// A member's sign-in on the phone pages and the app ("ghm_" tokens), stored as SHA-256.
final class MemberToken: Model, @unchecked Sendable {
    static let schema = "member_tokens"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "member_id") var memberID: Int
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

struct CreateMembers: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Member.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("name", .string, .required)
            .field("id_cipher", .data, .required)
            .field("id_index", .string, .required)
            .field("sex", .string, .required)
            .field("birth_date", .string, .required)
            .field("phone", .string, .required)
            .field("employer_name", .string)
            .field("employer_credit_code", .string)
            .field("joined_on", .string, .required)
            .field("status", .string, .required)
            .field("card_number", .string, .required)
            .field("card_state", .string, .required)
            .field("source", .string, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "id_index", name: "uq_members_id_index")
            .unique(on: "card_number", name: "uq_members_card_number")
            .create()
        try await database.createIndex("ix_members_org", on: Member.schema, ["org_id", "name"])
        try await database.createIndex("ix_members_phone", on: Member.schema, ["phone"])
        try await database.createIndex("ix_members_name", on: Member.schema, ["name"])
        try await database.createIndex("ix_members_employer", on: Member.schema, ["employer_name"])

        try await database.schema(MemberEvent.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("member_id", .int64, .required, .references(Member.schema, "id"))
            .field("kind", .string, .required)
            .field("from_value", .string)
            .field("to_value", .string)
            .field("note", .string)
            .field("actor_staff_id", .int64)
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("ix_member_events_member", on: MemberEvent.schema, ["member_id", "at"])

        try await database.schema(MemberApplication.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("meeting_id", .int64)
            .field("name", .string, .required)
            .field("id_cipher", .data, .required)
            .field("id_index", .string, .required)
            .field("sex", .string, .required)
            .field("birth_date", .string, .required)
            .field("phone", .string, .required)
            .field("employer_name", .string, .required)
            .field("employer_credit_code", .string)
            .field("status", .string, .required)
            .field("reason", .string)
            .field("member_id", .int64)
            .field("reviewed_by", .int64)
            .field("reviewed_at", .datetime)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.createIndex("ix_applications_org", on: MemberApplication.schema, ["org_id", "status", "id"])
        try await database.createIndex("ix_applications_phone", on: MemberApplication.schema, ["phone"])
        try await database.createIndex("ix_applications_index", on: MemberApplication.schema, ["id_index"])
        try await database.createIndex("ix_applications_meeting", on: MemberApplication.schema, ["meeting_id"])

        try await database.schema(MemberTransfer.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("member_id", .int64, .required, .references(Member.schema, "id"))
            .field("from_org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("to_org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("status", .string, .required)
            .field("requested_by", .string, .required)
            .field("requested_staff_id", .int64)
            .field("reason", .string)
            .field("decided_by", .int64)
            .field("decided_at", .datetime)
            .field("decision_note", .string)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_transfers_to", on: MemberTransfer.schema, ["to_org_id", "status"])
        try await database.createIndex("ix_transfers_member", on: MemberTransfer.schema, ["member_id"])

        try await database.schema(OneTimeCode.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("phone", .string, .required)
            .field("purpose", .string, .required)
            .field("code_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("attempts", .int, .required)
            .field("used_at", .datetime)
            .field("ip", .string)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_codes_phone", on: OneTimeCode.schema, ["phone", "purpose", "created_at"])

        try await database.schema(MemberToken.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("token_hash", .string, .required)
            .field("member_id", .int64, .required, .references(Member.schema, "id"))
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("created_at", .datetime)
            .unique(on: "token_hash")
            .create()

        // Card serials are handed out in blocks, so a bulk import takes one number range per batch.
        try await database.schema("card_serials")
            .field("name", .string, .identifier(auto: false))
            .field("next_value", .int64, .required)
            .create()
        try await database.sql.raw("INSERT INTO card_serials (name, next_value) VALUES ('member', 1)").run()
    }

    func revert(on database: any Database) async throws {
        for table in ["card_serials", MemberToken.schema, OneTimeCode.schema, MemberTransfer.schema,
                      MemberApplication.schema, MemberEvent.schema, Member.schema] {
            try await database.schema(table).delete()
        }
    }
}
