import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Closed files are kept ten years after closing; after that they may go, with their people, their
/// timeline and their lines in review rounds. The ledger's entries naming them stay (the ledger is
/// append-only and kept under the accounting-archive rules).
enum ArchivePurge {
    /// The first closing day still kept: ten years before today in Asia/Shanghai.
    static func cutoff(_ today: CalendarDate = ShanghaiClock.today()) -> String {
        let year = today.year - ArchiveRetention.years
        let day = min(today.day, CalendarDate.daysIn(month: today.month, year: year))
        return ((try? CalendarDate(year: year, month: today.month, day: day)) ?? today).description
    }

    /// True when the file may be removed: lifted or cancelled, closed before the cutoff.
    static func mayRemove(_ file: HardshipHousehold, today: CalendarDate = ShanghaiClock.today()) -> Bool {
        guard file.state.isClosed, let closed = file.closedOn else { return false }
        return closed < cutoff(today)
    }

    static func expired(on db: any Database) async throws -> [Int] {
        struct Row: Decodable { let id: Int }
        return try await db.sql.raw("""
            SELECT id FROM hardship_households WHERE state IN ('lifted', 'cancelled') AND closed_on IS NOT NULL AND closed_on < \(bind: cutoff())
            ORDER BY id
            """).all(decoding: Row.self).map(\.id)
    }

    /// Removes the files and what hangs on them, in one transaction per batch of 500.
    static func remove(_ ids: [Int], on db: any Database) async throws {
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = SQLList(ids[start..<min(ids.count, start + 500)].map { SQLBind($0) })
            try await db.transaction { tx in
                // Schooling applications name the file's people, so they go first; relief lines and ledger
                // entries are the finance archive and stay (they carry the household id, no key).
                for table in ["schooling_applications", "archive_check_lines", "hardship_people", "hardship_events"] {
                    try await tx.sql.raw("DELETE FROM \(ident: table) WHERE household_id IN (\(batch))").run()
                }
                try await tx.sql.raw("DELETE FROM attachments WHERE owner_kind = 'household' AND owner_id IN (\(batch))").run()
                try await tx.sql.raw("DELETE FROM hardship_households WHERE id IN (\(batch))").run()
            }
        }
    }

    /// `DELETE /api/v1/hardship-households/{id}`: only a file closed more than ten years ago; any
    /// other answers 409 naming the rule.
    @Sendable static func delete(req: Request) async throws -> Response {
        let scope = try req.scope
        guard let file = try await HardshipHousehold.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        let org = try await scope.org(file.orgID, on: req.db)
        try scope.require(scope.role.opensArchiveChecks)
        guard mayRemove(file) else {
            throw AppError.conflict("archive.error.kept", args: ["years": String(ArchiveRetention.years)],
                                    fields: [FieldIssue("id", "keptTenYears", "archive.error.kept", ["years": String(ArchiveRetention.years)])])
        }
        try await remove([try file.requireID()], on: req.db)
        try await req.audit.record("archive.purge", targetType: "hardshipHousehold", targetID: file.id, org: org,
                                   details: ["fileNumber": file.fileNumber, "closedOn": file.closedOn ?? ""])
        return Response(status: .noContent)
    }
}

/// `gonghui assistance purge [--dry-run]`: removes the files closed more than ten years ago and says how many.
struct AssistanceCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "purge: remove hardship files closed (lifted or cancelled) more than 10 years ago") var action: String
        @Flag(name: "dry-run", help: "count them and remove nothing") var dryRun: Bool
        init() {}
    }

    var help: String { "Hardship archive upkeep: purge files closed more than 10 years ago." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "purge" else {
            context.console.error("unknown action \(signature.action); use: gonghui assistance purge [--dry-run]")
            throw ExitCode(1)
        }
        let db = context.application.db
        let ids = try await ArchivePurge.expired(on: db)
        let cutoff = ArchivePurge.cutoff()
        if signature.dryRun {
            context.console.info("assistance purge: \(ids.count) files closed before \(cutoff) would be removed (dry run)")
            return
        }
        try await ArchivePurge.remove(ids, on: db)
        try await Audit.write("archive.purge", targetType: "hardshipHousehold", targetID: nil, org: nil, actor: nil, ip: nil, requestID: nil,
                              details: ["removed": String(ids.count), "closedBefore": cutoff], on: db)
        context.console.info("assistance purge: removed \(ids.count) files closed before \(cutoff)")
    }
}
