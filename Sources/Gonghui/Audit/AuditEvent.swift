import Fluent
import FluentSQL
import Foundation
import Vapor

/// One line of the audit log: who did what to which record, when and from where.
/// Rows are only ever inserted; both databases refuse UPDATE and DELETE on the table.
final class AuditEvent: Model, @unchecked Sendable {
    static let schema = "audit_events"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "occurred_at") var occurredAt: Date
    @OptionalField(key: "actor_id") var actorID: Int?
    @OptionalField(key: "actor_username") var actorUsername: String?
    @Field(key: "action") var action: String
    @OptionalField(key: "target_type") var targetType: String?
    @OptionalField(key: "target_id") var targetID: String?
    @OptionalField(key: "org_id") var orgID: Int?
    /// The tree path of the record's organisation, so the log is scoped like everything else.
    @OptionalField(key: "org_path") var orgPath: String?
    @OptionalField(key: "ip") var ip: String?
    @OptionalField(key: "request_id") var requestID: String?
    /// A small JSON object of what changed. Never personal data: no ID numbers, phones or passwords.
    @OptionalField(key: "details") var details: String?

    init() {}
}

struct CreateAuditEvents: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let pathType: DatabaseSchema.DataType = database.isPostgres ? .sql(unsafeRaw: "TEXT COLLATE \"C\"") : .string
        try await database.schema(AuditEvent.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("occurred_at", .datetime, .required)
            .field("actor_id", .int64)
            .field("actor_username", .string)
            .field("action", .string, .required)
            .field("target_type", .string)
            .field("target_id", .string)
            .field("org_id", .int64)
            .field("org_path", pathType)
            .field("ip", .string)
            .field("request_id", .string)
            .field("details", .string)
            .create()
        try await database.createIndex("audit_events_time", on: AuditEvent.schema, ["occurred_at"])
        try await database.createIndex("audit_events_path", on: AuditEvent.schema, ["org_path", "occurred_at"])
        try await database.createIndex("audit_events_target", on: AuditEvent.schema, ["target_type", "target_id"])
        try await database.createIndex("audit_events_actor", on: AuditEvent.schema, ["actor_id", "occurred_at"])
        // The application never changes history; the database holds it to that.
        if database.isPostgres {
            try await database.sql.raw("""
                CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$
                """).run()
            try await database.sql.raw("""
                CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
                FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
                """).run()
        } else {
            for event in ["UPDATE", "DELETE"] {
                try await database.sql.raw("""
                    CREATE TRIGGER audit_events_no_\(unsafeRaw: event.lowercased()) BEFORE \(unsafeRaw: event) ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
                    """).run()
            }
        }
    }

    func revert(on database: any Database) async throws {
        if database.isPostgres {
            try await database.sql.raw("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events").run()
            try await database.sql.raw("DROP FUNCTION IF EXISTS audit_events_append_only()").run()
        }
        try await database.schema(AuditEvent.schema).delete()
    }
}
