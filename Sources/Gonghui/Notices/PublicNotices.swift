import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// 公示: a list the public reads for N days (working days on the working calendar, or calendar
/// days, as the owning rule says), names masked and no ID data; anyone may object with a real name
/// and phone, and an objection holds its entry until the owning unit answers it. Built once:
/// hardship files, relief recipients, honours' shortlists all stand here. The owning module opens
/// a notice, then asks `cleared(_:)` which entries may go on once the notice has ended.
final class PublicNotice: Model, @unchecked Sendable {
    static let schema = "public_notices"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// The owner's kind (`hardship`, `reliefBatch`, `honour` …) and record.
    @Field(key: "kind") var kind: String
    @Field(key: "ref_id") var refID: Int
    @Field(key: "org_id") var orgID: Int
    @Field(key: "title") var title: String
    @Field(key: "starts_on") var startsOn: String
    @Field(key: "ends_on") var endsOn: String
    /// `working` or `calendar`.
    @Field(key: "day_rule") var dayRule: String
    @Field(key: "days") var days: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    func isRunning(today: CalendarDate) -> Bool { today.description <= endsOn }
}

final class PublicNoticeEntry: Model, @unchecked Sendable {
    static let schema = "public_notice_entries"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "notice_id") var noticeID: Int
    /// The owner's record for this line (a household, a nominee, a batch line).
    @Field(key: "ref_id") var refID: Int
    /// Already masked (`王*`): the real name never reaches this table.
    @Field(key: "display_name") var displayName: String
    @Field(key: "unit_name") var unitName: String
    @Field(key: "summary") var summary: String
    @Field(key: "held") var held: Bool

    init() {}
}

final class PublicNoticeObjection: Model, @unchecked Sendable {
    static let schema = "public_notice_objections"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "notice_id") var noticeID: Int
    @Field(key: "entry_id") var entryID: Int
    @Field(key: "name") var name: String
    @Field(key: "phone") var phone: String
    @Field(key: "text") var text: String
    /// `open` or `answered`.
    @Field(key: "state") var state: String
    @OptionalField(key: "answer") var answer: String?
    @OptionalField(key: "answered_by") var answeredBy: Int?
    @OptionalField(key: "answered_at") var answeredAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

struct CreatePublicNotices: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(PublicNotice.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("kind", .string, .required)
            .field("ref_id", .int64, .required)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("title", .string, .required)
            .field("starts_on", .string, .required)
            .field("ends_on", .string, .required)
            .field("day_rule", .string, .required)
            .field("days", .int64, .required)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_public_notices_ends", on: PublicNotice.schema, ["ends_on"])
        try await database.createIndex("ix_public_notices_ref", on: PublicNotice.schema, ["kind", "ref_id"])
        try await database.schema(PublicNoticeEntry.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("notice_id", .int64, .required, .references(PublicNotice.schema, "id"))
            .field("ref_id", .int64, .required)
            .field("display_name", .string, .required)
            .field("unit_name", .string, .required)
            .field("summary", .string, .required)
            .field("held", .bool, .required)
            .create()
        try await database.createIndex("ix_public_notice_entries_notice", on: PublicNoticeEntry.schema, ["notice_id"])
        try await database.schema(PublicNoticeObjection.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("notice_id", .int64, .required, .references(PublicNotice.schema, "id"))
            .field("entry_id", .int64, .required, .references(PublicNoticeEntry.schema, "id"))
            .field("name", .string, .required)
            .field("phone", .string, .required)
            .field("text", .string, .required)
            .field("state", .string, .required)
            .field("answer", .string)
            .field("answered_by", .int64)
            .field("answered_at", .datetime)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_public_notice_objections_entry", on: PublicNoticeObjection.schema, ["entry_id", "state"])
    }

    func revert(on database: any Database) async throws {
        for table in [PublicNoticeObjection.schema, PublicNoticeEntry.schema, PublicNotice.schema] { try await database.schema(table).delete() }
    }
}

enum PublicNotices {
    enum DayRule: String, Sendable { case working, calendar }

    struct Line: Sendable {
        let refID: Int
        let name: String
        let unitName: String
        let summary: String
    }

    /// `王*`, `欧阳**`-style: the first character and a star for each of the rest.
    static func mask(_ name: String) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first else { return "*" }
        return String(first) + String(repeating: "*", count: max(1, trimmed.count - 1))
    }

    /// The last day a notice of `days` starting `today` stands (it stands through that day).
    static func lastDay(from today: CalendarDate, days: Int, rule: DayRule, calendar: WorkingCalendar) -> CalendarDate {
        switch rule {
        case .calendar: return today.adding(days: max(0, days - 1))
        case .working:
            guard days > 0 else { return today.adding(days: -1) }
            // Today counts when it is a working day; the notice ends on the N-th working day.
            let start = calendar.isWorkingDay(today) ? today.dayNumber - 1 : today.dayNumber
            return CalendarDate(dayNumber: calendar.adding(workingDays: days, to: start))
        }
    }

    /// Opens a notice for `lines` (names masked here), in the caller's transaction.
    static func open(kind: String, refID: Int, org: Organization, title: String, days: Int, rule: DayRule, lines: [Line],
                     today: CalendarDate = ShanghaiClock.today(), on db: any Database) async throws -> PublicNotice {
        guard (0...60).contains(days) else { throw AppError.invalid([FieldIssue("noticeDays", "range", nil, ["min": "0", "max": "60"])]) }
        let calendar = try await AppealService.calendar(on: db)
        let notice = PublicNotice()
        notice.kind = kind
        notice.refID = refID
        notice.orgID = try org.requireID()
        notice.title = String(title.prefix(200))
        notice.startsOn = today.description
        notice.endsOn = lastDay(from: today, days: days, rule: rule, calendar: calendar).description
        notice.dayRule = rule.rawValue
        notice.days = days
        try await notice.create(on: db)
        try await add(lines, to: notice, on: db)
        return notice
    }

    /// More lines on a notice (an honour's shortlist put in notice the same day it opened).
    static func add(_ lines: [Line], to notice: PublicNotice, on db: any Database) async throws {
        for line in lines {
            let entry = PublicNoticeEntry()
            entry.noticeID = try notice.requireID()
            entry.refID = line.refID
            entry.displayName = mask(line.name)
            entry.unitName = String(line.unitName.prefix(200))
            entry.summary = String(line.summary.prefix(500))
            entry.held = false
            try await entry.create(on: db)
        }
    }

    /// The entries that may go on: none while the notice runs; after it, those no objection holds.
    static func cleared(_ notice: PublicNotice, today: CalendarDate = ShanghaiClock.today(), on db: any Database) async throws -> [PublicNoticeEntry] {
        guard !notice.isRunning(today: today) else { return [] }
        return try await PublicNoticeEntry.query(on: db).filter(\.$noticeID == notice.requireID()).filter(\.$held == false).all()
    }

    /// An objection from the public: a real name, a phone, a reason; it holds the entry.
    static func object(noticeID: Int, entryID: Int?, name: String?, phone: String?, text: String?, on db: any Database,
                       today: CalendarDate = ShanghaiClock.today()) async throws -> PublicNoticeObjection {
        var v = Validator()
        if entryID == nil { v.add("entryId", "required") }
        let cleanName = v.text(name, "name", required: true, max: 30)
        var cleanPhone: String?
        if let phone, !phone.isEmpty {
            if let parsed = try? PhoneNumber(parsing: phone) { cleanPhone = parsed.value } else { v.add("phone", "format", "error.field.phone") }
        } else { v.add("phone", "required") }
        let cleanText = v.text(text, "text", required: true, max: 1000)
        try v.check()
        guard let notice = try await PublicNotice.find(noticeID, on: db), notice.isRunning(today: today)
        else { throw AppError.notFound }
        guard let entry = try await PublicNoticeEntry.find(entryID, on: db), entry.noticeID == noticeID else {
            throw AppError.invalid([FieldIssue("entryId", "notFound")])
        }
        let phoneValue = cleanPhone!
        return try await db.transaction { tx in
            let objection = PublicNoticeObjection()
            objection.noticeID = noticeID
            objection.entryID = try entry.requireID()
            objection.name = cleanName!
            objection.phone = phoneValue
            objection.text = cleanText!
            objection.state = "open"
            try await objection.create(on: tx)
            try await (tx as! any SQLDatabase).raw("UPDATE public_notice_entries SET held = \(bind: true) WHERE id = \(bind: entry.requireID())").run()
            return objection
        }
    }

    /// The owning unit answers; the entry is free again when no objection to it stays open.
    static func answer(_ objection: PublicNoticeObjection, text: String?, staffID: Int, on db: any Database) async throws {
        var v = Validator()
        let answer = v.text(text, "answer", required: true, max: 1000)
        try v.check()
        guard objection.state == "open" else { throw AppError.conflict("error.notice.answered", fields: [FieldIssue("answer", "state", "error.notice.answered")]) }
        try await db.transaction { tx in
            objection.state = "answered"
            objection.answer = answer
            objection.answeredBy = staffID
            objection.answeredAt = Date()
            try await objection.save(on: tx)
            let stillOpen = try await PublicNoticeObjection.query(on: tx).filter(\.$entryID == objection.entryID).filter(\.$state == "open").count()
            if stillOpen == 0 {
                try await (tx as! any SQLDatabase).raw("UPDATE public_notice_entries SET held = \(bind: false) WHERE id = \(bind: objection.entryID)").run()
            }
        }
    }
}
