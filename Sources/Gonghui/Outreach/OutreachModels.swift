import Fluent
import Foundation
import GonghuiCore

/// A legal entity in the ledger (法人单位台账): who it is, where, how it stands with a union, and
/// the plan for the next step. Every contact goes into its timeline (`EnterpriseContact`).
///
/// `@unchecked Sendable`: see `Organization`.
final class Enterprise: Model, @unchecked Sendable {
    static let schema = "enterprises"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "credit_code") var creditCode: String
    @Field(key: "name") var name: String
    @Field(key: "type") var type: EnterpriseType
    @Field(key: "size") var size: EnterpriseSize
    @Field(key: "headcount") var headcount: Int
    @OptionalField(key: "industry") var industry: IndustrySection?
    /// Its street (or, for a firm a district keeps itself, the district).
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "address") var address: String?
    /// WGS-84, as everything is stored.
    @OptionalField(key: "lat") var lat: Double?
    @OptionalField(key: "lng") var lng: Double?
    @Field(key: "influence") var influence: SocialInfluence
    @Field(key: "relations") var relations: LabourRelations
    @Field(key: "union_status") var unionStatus: UnionStatus
    @OptionalField(key: "union_org_id") var unionOrgID: Int?
    @OptionalField(key: "contact_name") var contactName: String?
    @OptionalField(key: "contact_phone") var contactPhone: String?
    @OptionalField(key: "next_step") var nextStep: String?
    @OptionalField(key: "next_step_on") var nextStepOn: String?
    @OptionalField(key: "owner_staff_id") var ownerStaffID: Int?
    @OptionalField(key: "last_contact_at") var lastContactAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }

    /// No contact for 90 days (or never): the ledger flags it.
    static let staleAfter: TimeInterval = 90 * 86_400

    func isStale(now: Date = Date()) -> Bool {
        guard let last = lastContactAt else { return true }
        return now.timeIntervalSince(last) > Self.staleAfter
    }
}

/// One line of an enterprise's timeline: a visit, a call, a meeting, a change of status, the founding.
final class EnterpriseContact: Model, @unchecked Sendable {
    static let schema = "enterprise_contacts"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "enterprise_id") var enterpriseID: Int
    /// visit, phone, meeting, note, status, plan, founded, created, imported
    @Field(key: "kind") var kind: String
    @OptionalField(key: "note") var note: String?
    @OptionalField(key: "from_status") var fromStatus: String?
    @OptionalField(key: "to_status") var toStatus: String?
    @OptionalField(key: "meeting_id") var meetingID: Int?
    @OptionalField(key: "staff_id") var staffID: Int?
    @Field(key: "at") var at: Date

    init() {}

    init(enterpriseID: Int, kind: String, note: String? = nil, from: UnionStatus? = nil, to: UnionStatus? = nil,
         meetingID: Int? = nil, staffID: Int?, at: Date = Date()) {
        self.enterpriseID = enterpriseID
        self.kind = kind
        self.note = note
        self.fromStatus = from?.rawValue
        self.toStatus = to?.rawValue
        self.meetingID = meetingID
        self.staffID = staffID
        self.at = at
    }

    /// The kinds staff record by hand; the others are written by the system.
    static let manualKinds = ["visit", "phone", "note"]
}

/// The democratic election that founded a union (民主选举): it created the grassroots node.
final class UnionElection: Model, @unchecked Sendable {
    static let schema = "union_elections"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "enterprise_id") var enterpriseID: Int
    @Field(key: "union_org_id") var unionOrgID: Int
    @Field(key: "held_on") var heldOn: String
    @Field(key: "voters") var voters: Int
    @Field(key: "votes_cast") var votesCast: Int
    @Field(key: "chair_name") var chairName: String
    @OptionalField(key: "chair_votes") var chairVotes: Int?
    /// Committee members' names, separated by "、".
    @Field(key: "committee") var committee: String
    @Field(key: "term_ends_on") var termEndsOn: String
    @OptionalField(key: "staff_id") var staffID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

/// A communication meeting: a workers' meeting (weekly, district day, citywide) or an enterprise
/// meeting (visits to one or more firms). Applications made through its booth link carry its id.
final class Meeting: Model, @unchecked Sendable {
    static let schema = "meetings"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "kind") var kind: MeetingKind
    @Field(key: "series") var series: MeetingSeries
    /// The organiser: a street or a district (or the city, for citywide meetings).
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "title") var title: String?
    @Field(key: "starts_at") var startsAt: Date
    @OptionalField(key: "ends_at") var endsAt: Date?
    /// The day in Asia/Shanghai, `YYYY-MM-DD`: what the calendar and the statistics group by.
    @Field(key: "held_on") var heldOn: String
    @Field(key: "place") var place: String
    @OptionalField(key: "lat") var lat: Double?
    @OptionalField(key: "lng") var lng: Double?
    /// Names of the staff present, separated by "、".
    @OptionalField(key: "staff_present") var staffPresent: String?
    @Field(key: "consultations") var consultations: Int
    @Field(key: "records_collected") var recordsCollected: Int
    @OptionalField(key: "note") var note: String?
    @OptionalField(key: "created_by") var createdBy: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }
}

/// One enterprise visited at an enterprise meeting: the services offered and the outcome.
final class MeetingEnterprise: Model, @unchecked Sendable {
    static let schema = "meeting_enterprises"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "meeting_id") var meetingID: Int
    @Field(key: "enterprise_id") var enterpriseID: Int
    /// The firm's union status when it was visited: "without a union" is counted from it.
    @Field(key: "status_before") var statusBefore: UnionStatus
    @Field(key: "outcome") var outcome: VisitOutcome
    /// Service catalogue item ids, comma separated.
    @Field(key: "services") var services: String
    @OptionalField(key: "note") var note: String?

    init() {}

    var serviceIDs: [Int] { services.split(separator: ",").compactMap { Int($0) } }
}

/// An item of the service package staff offer firms (服务清单): legal advice, training, assistance …
final class ServiceItem: Model, @unchecked Sendable {
    static let schema = "service_items"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "name") var name: String
    @Field(key: "active") var active: Bool
    @Field(key: "sort_order") var sortOrder: Int

    init() {}
}

/// A follow-up after a meeting (后续跟进): what, for which firm, who, by when, and when it was done.
final class FollowUpTask: Model, @unchecked Sendable {
    static let schema = "follow_up_tasks"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @OptionalField(key: "meeting_id") var meetingID: Int?
    @OptionalField(key: "enterprise_id") var enterpriseID: Int?
    /// The node the task belongs to (the meeting's organiser): what scopes it.
    @Field(key: "org_id") var orgID: Int
    @Field(key: "title") var title: String
    @OptionalField(key: "owner_staff_id") var ownerStaffID: Int?
    @Field(key: "due_on") var dueOn: String
    @OptionalField(key: "done_at") var doneAt: Date?
    @OptionalField(key: "created_by") var createdBy: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

struct CreateOutreach: AsyncMigration {
    /// The catalogue a new federation starts from; staff edit it.
    static let defaultServices = ["劳动法律咨询", "集体协商指导", "建会流程辅导", "职工技能培训", "困难职工帮扶",
                                  "职工互助保障", "心理健康服务", "普惠服务（优惠购物、体检等）", "劳动关系风险体检", "职工书屋、驿站建设"]

    func prepare(on database: any Database) async throws {
        try await database.schema(Enterprise.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("credit_code", .string, .required)
            .field("name", .string, .required)
            .field("type", .string, .required)
            .field("size", .string, .required)
            .field("headcount", .int64, .required)
            .field("industry", .string)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("address", .string)
            .field("lat", .double)
            .field("lng", .double)
            .field("influence", .string, .required)
            .field("relations", .string, .required)
            .field("union_status", .string, .required)
            .field("union_org_id", .int64, .references(Organization.schema, "id"))
            .field("contact_name", .string)
            .field("contact_phone", .string)
            .field("next_step", .string)
            .field("next_step_on", .string)
            .field("owner_staff_id", .int64)
            .field("last_contact_at", .datetime)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "credit_code", name: "uq_enterprises_credit_code")
            .create()
        try await database.createIndex("ix_enterprises_org", on: Enterprise.schema, ["org_id", "union_status"])
        try await database.createIndex("ix_enterprises_name", on: Enterprise.schema, ["name"])
        try await database.createIndex("ix_enterprises_contact", on: Enterprise.schema, ["last_contact_at"])

        try await database.schema(EnterpriseContact.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("enterprise_id", .int64, .required, .references(Enterprise.schema, "id"))
            .field("kind", .string, .required)
            .field("note", .string)
            .field("from_status", .string)
            .field("to_status", .string)
            .field("meeting_id", .int64)
            .field("staff_id", .int64)
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("ix_enterprise_contacts", on: EnterpriseContact.schema, ["enterprise_id", "at"])

        try await database.schema(UnionElection.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("enterprise_id", .int64, .required, .references(Enterprise.schema, "id"))
            .field("union_org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("held_on", .string, .required)
            .field("voters", .int64, .required)
            .field("votes_cast", .int64, .required)
            .field("chair_name", .string, .required)
            .field("chair_votes", .int64)
            .field("committee", .string, .required)
            .field("term_ends_on", .string, .required)
            .field("staff_id", .int64)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_union_elections", on: UnionElection.schema, ["enterprise_id"])

        try await database.schema(Meeting.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("kind", .string, .required)
            .field("series", .string, .required)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("title", .string)
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime)
            .field("held_on", .string, .required)
            .field("place", .string, .required)
            .field("lat", .double)
            .field("lng", .double)
            .field("staff_present", .string)
            .field("consultations", .int64, .required)
            .field("records_collected", .int64, .required)
            .field("note", .string)
            .field("created_by", .int64)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.createIndex("ix_meetings_org", on: Meeting.schema, ["org_id", "held_on"])
        try await database.createIndex("ix_meetings_day", on: Meeting.schema, ["held_on"])

        try await database.schema(MeetingEnterprise.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("meeting_id", .int64, .required, .references(Meeting.schema, "id"))
            .field("enterprise_id", .int64, .required, .references(Enterprise.schema, "id"))
            .field("status_before", .string, .required)
            .field("outcome", .string, .required)
            .field("services", .string, .required)
            .field("note", .string)
            .unique(on: "meeting_id", "enterprise_id", name: "uq_meeting_enterprise")
            .create()
        try await database.createIndex("ix_meeting_enterprises_ent", on: MeetingEnterprise.schema, ["enterprise_id"])

        try await database.schema(ServiceItem.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("name", .string, .required)
            .field("active", .bool, .required)
            .field("sort_order", .int64, .required)
            .create()
        for (i, name) in Self.defaultServices.enumerated() {
            let item = ServiceItem()
            item.name = name
            item.active = true
            item.sortOrder = i + 1
            try await item.create(on: database)
        }

        try await database.schema(FollowUpTask.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("meeting_id", .int64, .references(Meeting.schema, "id"))
            .field("enterprise_id", .int64, .references(Enterprise.schema, "id"))
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("title", .string, .required)
            .field("owner_staff_id", .int64)
            .field("due_on", .string, .required)
            .field("done_at", .datetime)
            .field("created_by", .int64)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_follow_up_tasks", on: FollowUpTask.schema, ["org_id", "due_on"])
    }

    func revert(on database: any Database) async throws {
        for table in [FollowUpTask.schema, ServiceItem.schema, MeetingEnterprise.schema, Meeting.schema,
                      UnionElection.schema, EnterpriseContact.schema, Enterprise.schema] {
            try await database.schema(table).delete()
        }
    }
}

