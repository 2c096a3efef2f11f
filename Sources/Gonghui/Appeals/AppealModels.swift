import Fluent
import Foundation
import GonghuiCore

/// A worker's appeal to the union (职工诉求), from the 12351 hotline, the app, the web or a visit.
///
/// `@unchecked Sendable`: see `Organization`.
final class Appeal: Model, @unchecked Sendable {
    static let schema = "appeals"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "tracking_number") var trackingNumber: String
    @Field(key: "channel") var channel: AppealChannel
    @Field(key: "category") var category: AppealCategory
    @Field(key: "subject_code") var subjectCode: String
    @Field(key: "anonymous") var anonymous: Bool
    @OptionalField(key: "name") var name: String?
    @OptionalField(key: "phone") var phone: String?
    @OptionalField(key: "member_id") var memberID: Int?
    @OptionalField(key: "employer_name") var employerName: String?
    @OptionalField(key: "employer_credit_code") var employerCreditCode: String?
    @OptionalField(key: "enterprise_id") var enterpriseID: Int?
    /// The workplace's street or district, when known.
    @OptionalField(key: "workplace_org_id") var workplaceOrgID: Int?
    @Field(key: "description") var description: String
    @Field(key: "people_affected") var peopleAffected: Int
    @Field(key: "amount_fen") var amountFen: Int
    @Field(key: "urgency") var urgency: AppealUrgency
    @Field(key: "tier") var tier: AppealTier
    /// The unit it sits with: what scopes it.
    @Field(key: "org_id") var orgID: Int
    /// The node supervising it once it ran late (督办): the unit's parent.
    @OptionalField(key: "supervisor_org_id") var supervisorOrgID: Int?
    @OptionalField(key: "assignee_staff_id") var assigneeStaffID: Int?
    @Field(key: "state") var state: AppealState
    @Field(key: "received_at") var receivedAt: Date
    /// The day received in Asia/Shanghai, `YYYY-MM-DD`: what statistics group by.
    @Field(key: "received_on") var receivedOn: String
    @Field(key: "due_at") var dueAt: Date
    @OptionalField(key: "paused_at") var pausedAt: Date?
    @OptionalField(key: "resolved_at") var resolvedAt: Date?
    @OptionalField(key: "closed_at") var closedAt: Date?
    @OptionalField(key: "outcome") var outcome: AppealOutcome?
    @Field(key: "recovered_fen") var recoveredFen: Int
    /// Resolved on or before the deadline: fixed when it is resolved (and again if reopened and resolved).
    @OptionalField(key: "on_time") var onTime: Bool?
    @OptionalField(key: "rating") var rating: Int?
    @OptionalField(key: "rating_comment") var ratingComment: String?
    @OptionalField(key: "idempotency_key") var idempotencyKey: String?
    @Field(key: "reopen_count") var reopenCount: Int
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }

    func isOverdue(now: Date = Date()) -> Bool { state.clockRuns && now > dueAt }
}

/// One line of an appeal's timeline. `internal` lines are staff notes the worker never sees.
final class AppealEvent: Model, @unchecked Sendable {
    static let schema = "appeal_events"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "appeal_id") var appealID: Int
    /// received, accept, start, pause, resolve, close, reopen, reroute, escalate, sendBack, assign, reply, note, rated, autoClose
    @Field(key: "kind") var kind: String
    @OptionalField(key: "from_org_id") var fromOrgID: Int?
    @OptionalField(key: "to_org_id") var toOrgID: Int?
    @OptionalField(key: "text") var text: String?
    @Field(key: "internal") var isInternal: Bool
    @OptionalField(key: "staff_id") var staffID: Int?
    @Field(key: "at") var at: Date

    init() {}

    init(appealID: Int, kind: String, from: Int? = nil, to: Int? = nil, text: String? = nil, internal isInternal: Bool = false, staffID: Int?, at: Date = Date()) {
        self.appealID = appealID
        self.kind = kind
        self.fromOrgID = from
        self.toOrgID = to
        self.text = text
        self.isInternal = isInternal
        self.staffID = staffID
        self.at = at
    }
}

/// Subjects are data: unpaid wages, labour contract … with the tier their deadline starts from.
final class AppealSubject: Model, @unchecked Sendable {
    static let schema = "appeal_subjects"

    @ID(custom: "code", generatedBy: .user) var id: String?
    @Field(key: "name_zh") var nameZh: String
    @Field(key: "name_en") var nameEn: String
    @Field(key: "tier") var tier: AppealTier
    @Field(key: "sort_order") var sortOrder: Int

    init() {}

    init(_ code: String, _ zh: String, _ en: String, _ tier: AppealTier, _ sort: Int) {
        self.id = code
        self.nameZh = zh
        self.nameEn = en
        self.tier = tier
        self.sortOrder = sort
    }

    func name(_ lang: Lang) -> String { lang == .en ? nameEn : nameZh }
}

/// A day that breaks the weekly pattern: a public holiday, or a weekend day worked (调休).
final class CalendarDay: Model, @unchecked Sendable {
    static let schema = "calendar_days"

    @ID(custom: "day", generatedBy: .user) var id: String?
    /// holiday or workday
    @Field(key: "kind") var kind: String
    @Field(key: "name") var name: String

    init() {}

    init(_ day: String, _ kind: String, _ name: String) {
        self.id = day
        self.kind = kind
        self.name = name
    }
}

/// A routing rule city staff keep: appeals of this subject go to this unit (for example legal aid
/// to the city's legal-aid centre), ahead of the employer's union and the workplace.
final class AppealRoute: Model, @unchecked Sendable {
    static let schema = "appeal_routes"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "subject_code") var subjectCode: String
    @Field(key: "org_id") var orgID: Int

    init() {}
}

/// Settings: working days per tier.
final class AppealTierDays: Model, @unchecked Sendable {
    static let schema = "appeal_tiers"

    @ID(custom: "tier", generatedBy: .user) var id: String?
    @Field(key: "working_days") var workingDays: Int

    init() {}
}

struct CreateAppeals: AsyncMigration {
    static let subjects: [AppealSubject] = [
        .init("unpaidWages", "拖欠工资", "Unpaid wages", .general, 1),
        .init("labourContract", "劳动合同", "Labour contract", .general, 2),
        .init("socialInsurance", "社会保险", "Social insurance", .general, 3),
        .init("workInjury", "工伤", "Work injury", .difficult, 4),
        .init("dismissal", "解除劳动关系", "Dismissal", .difficult, 5),
        .init("hoursAndLeave", "工时与休假", "Hours and leave", .general, 6),
        .init("safety", "劳动安全", "Safety at work", .difficult, 7),
        .init("membership", "会员权益", "Union membership", .general, 8),
        .init("assistance", "困难帮扶", "Assistance", .general, 9),
        .init("legalAid", "法律援助", "Legal aid", .complex, 10),
        .init("other", "其他", "Other", .general, 11),
    ]

    /// The State Council's notices for 2025 and 2026: days off, and weekend days worked.
    static let days: [(String, String, String)] = {
        var list: [(String, String, String)] = []
        func off(_ name: String, _ days: [String]) { list += days.map { ($0, "holiday", name) } }
        func work(_ name: String, _ days: [String]) { list += days.map { ($0, "workday", name) } }
        off("元旦", ["2025-01-01"])
        off("春节", ["2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02", "2025-02-03", "2025-02-04"])
        work("春节调休", ["2025-01-26", "2025-02-08"])
        off("清明节", ["2025-04-04", "2025-04-05", "2025-04-06"])
        off("劳动节", ["2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04", "2025-05-05"])
        work("劳动节调休", ["2025-04-27"])
        off("端午节", ["2025-05-31", "2025-06-01", "2025-06-02"])
        off("国庆节、中秋节", ["2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04", "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-08"])
        work("国庆节调休", ["2025-09-28", "2025-10-11"])
        off("元旦", ["2026-01-01", "2026-01-02", "2026-01-03"])
        work("元旦调休", ["2026-01-04"])
        off("春节", ["2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23"])
        work("春节调休", ["2026-02-14", "2026-02-28"])
        off("清明节", ["2026-04-04", "2026-04-05", "2026-04-06"])
        off("劳动节", ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05"])
        work("劳动节调休", ["2026-05-09"])
        off("端午节", ["2026-06-19", "2026-06-20", "2026-06-21"])
        off("中秋节", ["2026-09-25", "2026-09-26", "2026-09-27"])
        off("国庆节", ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"])
        work("国庆节调休", ["2026-09-20", "2026-10-10"])
        return list
    }()

    func prepare(on database: any Database) async throws {
        try await database.schema(AppealSubject.schema)
            .field("code", .string, .identifier(auto: false))
            .field("name_zh", .string, .required)
            .field("name_en", .string, .required)
            .field("tier", .string, .required)
            .field("sort_order", .int64, .required)
            .create()
        for s in Self.subjects { try await AppealSubject(s.id!, s.nameZh, s.nameEn, s.tier, s.sortOrder).create(on: database) }

        try await database.schema(CalendarDay.schema)
            .field("day", .string, .identifier(auto: false))
            .field("kind", .string, .required)
            .field("name", .string, .required)
            .create()
        for (day, kind, name) in Self.days { try await CalendarDay(day, kind, name).create(on: database) }

        try await database.schema(AppealTierDays.schema)
            .field("tier", .string, .identifier(auto: false))
            .field("working_days", .int64, .required)
            .create()
        for tier in AppealTier.allCases {
            let t = AppealTierDays()
            t.id = tier.rawValue
            t.workingDays = tier.defaultWorkingDays
            try await t.create(on: database)
        }

        try await database.schema(AppealRoute.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("subject_code", .string, .required, .references(AppealSubject.schema, "code"))
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .unique(on: "subject_code", name: "uq_appeal_routes_subject")
            .create()

        try await database.schema(Appeal.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("tracking_number", .string, .required)
            .field("channel", .string, .required)
            .field("category", .string, .required)
            .field("subject_code", .string, .required, .references(AppealSubject.schema, "code"))
            .field("anonymous", .bool, .required)
            .field("name", .string)
            .field("phone", .string)
            .field("member_id", .int64)
            .field("employer_name", .string)
            .field("employer_credit_code", .string)
            .field("enterprise_id", .int64)
            .field("workplace_org_id", .int64)
            .field("description", .string, .required)
            .field("people_affected", .int64, .required)
            .field("amount_fen", .int64, .required)
            .field("urgency", .string, .required)
            .field("tier", .string, .required)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("supervisor_org_id", .int64)
            .field("assignee_staff_id", .int64)
            .field("state", .string, .required)
            .field("received_at", .datetime, .required)
            .field("received_on", .string, .required)
            .field("due_at", .datetime, .required)
            .field("paused_at", .datetime)
            .field("resolved_at", .datetime)
            .field("closed_at", .datetime)
            .field("outcome", .string)
            .field("recovered_fen", .int64, .required)
            .field("on_time", .bool)
            .field("rating", .int64)
            .field("rating_comment", .string)
            .field("idempotency_key", .string)
            .field("reopen_count", .int64, .required)
            .field("updated_at", .datetime)
            .unique(on: "tracking_number", name: "uq_appeals_tracking")
            .create()
        try await database.createIndex("ix_appeals_org", on: Appeal.schema, ["org_id", "state", "due_at"])
        try await database.createIndex("ix_appeals_supervisor", on: Appeal.schema, ["supervisor_org_id", "state"])
        try await database.createIndex("ix_appeals_phone", on: Appeal.schema, ["phone", "received_at"])
        try await database.createIndex("ix_appeals_received", on: Appeal.schema, ["received_at"])
        // Covering indexes for the statistics: a subtree's appeals by unit, the whole city's by day.
        let tally = ["subject_code", "resolved_at", "on_time", "rating", "recovered_fen"]
        try await database.createIndex("ix_appeals_tally_org", on: Appeal.schema, ["org_id", "received_on"] + tally)
        try await database.createIndex("ix_appeals_tally_day", on: Appeal.schema, ["received_on"] + tally + ["org_id"])
        try await database.createIndex("ix_appeals_open_due", on: Appeal.schema, ["state", "due_at"])
        try await database.createIndex("ix_appeals_idempotency", on: Appeal.schema, ["idempotency_key"])

        try await database.schema(AppealEvent.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("appeal_id", .int64, .required, .references(Appeal.schema, "id"))
            .field("kind", .string, .required)
            .field("from_org_id", .int64)
            .field("to_org_id", .int64)
            .field("text", .string)
            .field("internal", .bool, .required)
            .field("staff_id", .int64)
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("ix_appeal_events", on: AppealEvent.schema, ["appeal_id", "at"])
    }

    func revert(on database: any Database) async throws {
        for table in [AppealEvent.schema, Appeal.schema, AppealRoute.schema, AppealTierDays.schema, CalendarDay.schema, AppealSubject.schema] {
            try await database.schema(table).delete()
        }
    }
}
