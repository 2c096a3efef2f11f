import Fluent
import Foundation

/// One import of a roster file: its progress and its outcome, so the console can show a bar and
/// the bad rows can be downloaded after the server has moved on.
final class ImportJob: Model, @unchecked Sendable {
    static let schema = "import_jobs"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "kind") var kind: String
    @Field(key: "org_id") var orgID: Int
    @OptionalField(key: "staff_id") var staffID: Int?
    @Field(key: "file_name") var fileName: String
    /// running, done, failed, stopped (at the problem limit), interrupted
    @Field(key: "state") var state: String
    @Field(key: "total_bytes") var totalBytes: Int
    @Field(key: "bytes_read") var bytesRead: Int
    @Field(key: "rows_read") var rowsRead: Int
    @Field(key: "imported") var imported: Int
    @Field(key: "duplicates") var duplicates: Int
    @Field(key: "failed") var failed: Int
    @OptionalField(key: "message") var message: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?
    /// Written with each batch (AddImportHeartbeat): a job whose heartbeat stopped is not running.
    @OptionalField(key: "heartbeat_at") var heartbeatAt: Date?

    init() {}
}

/// One bad or duplicate row: line, column and reason (already in the uploader's language).
final class ImportProblem: Model, @unchecked Sendable {
    static let schema = "import_problems"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "job_id") var jobID: Int
    @Field(key: "line") var line: Int
    @Field(key: "column_name") var column: String
    @Field(key: "code") var code: String
    @Field(key: "message") var message: String

    init() {}
}

struct CreateImportJobs: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ImportJob.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("kind", .string, .required)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("staff_id", .int64)
            .field("file_name", .string, .required)
            .field("state", .string, .required)
            .field("total_bytes", .int64, .required)
            .field("bytes_read", .int64, .required)
            .field("rows_read", .int64, .required)
            .field("imported", .int64, .required)
            .field("duplicates", .int64, .required)
            .field("failed", .int64, .required)
            .field("message", .string)
            .field("created_at", .datetime)
            .field("finished_at", .datetime)
            .create()
        try await database.schema(ImportProblem.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("job_id", .int64, .required, .references(ImportJob.schema, "id"))
            .field("line", .int64, .required)
            .field("column_name", .string, .required)
            .field("code", .string, .required)
            .field("message", .string, .required)
            .create()
        try await database.createIndex("ix_import_problems_job", on: ImportProblem.schema, ["job_id", "line"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ImportProblem.schema).delete()
        try await database.schema(ImportJob.schema).delete()
    }
}
