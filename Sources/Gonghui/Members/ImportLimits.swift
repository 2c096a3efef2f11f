import Fluent
import FluentSQL
import Foundation
import Spreadsheet
import Vapor

/// What one import may cost. A small file can hold millions of bad rows (each a row of the
/// problem report, in the database and in the download), so an import stops after
/// `maxProblems` problems of bad rows, saying where; rows found already registered are listed
/// while there is room and only counted after. Files are read within `SpreadsheetLimits.upload`.
enum ImportLimits {
    static let maxProblems = 10_000
    /// Problem rows read from the database at a time when the report is written.
    static let reportBatch = 5_000
    static let spreadsheet = SpreadsheetLimits.upload
}

/// The problems an import has listed and may still list (see `ImportLimits`).
struct ProblemBudget: Sendable {
    let max: Int
    /// Problems of bad rows and of repeats inside the file.
    private(set) var bad = 0
    /// Problem rows written.
    private(set) var listed = 0
    /// Rows found already registered that are counted but not listed.
    private(set) var unlisted = 0

    init(max: Int) { self.max = max }

    var exhausted: Bool { bad >= max }

    mutating func countBad(_ count: Int) { bad += count }

    /// Of a batch's `bad` problems and `found` already-registered rows, how many of the found are listed.
    mutating func list(bad badInBatch: Int, found: Int) -> Int {
        let room = Swift.max(0, max - listed - badInBatch)
        let kept = Swift.min(found, room)
        listed += badInBatch + kept
        unlisted += found - kept
        return kept
    }
}

extension ImportJob {
    /// The end of an import that stopped at its problem limit, or listed only part of its duplicates.
    func finish(stoppedAt line: Int?, budget: ProblemBudget, localizer: Localizer, lang: Lang) {
        if let line {
            state = "stopped"
            message = localizer.text("error.import.stopped", lang, ["count": String(budget.bad), "line": String(line)])
        } else if budget.unlisted > 0 {
            message = localizer.text("import.unlisted", lang, ["max": String(budget.max), "count": String(budget.unlisted)])
        }
    }
}

/// One import at a time per account: a second upload while the first is still running is refused
/// (409), so one account cannot set the server several files to work through at once.
enum ImportTurns {
    static func claim(staffID: Int?, on db: any Database, create job: ImportJob) async throws {
        guard let staffID else {
            try await job.create(on: db)
            return
        }
        try await db.transaction { tx in
            try await tx.lock("import:staff:\(staffID)")
            let fresh = Date().addingTimeInterval(-ImportRecovery.staleAfter)
            let running = try await tx.sql.raw("""
                SELECT COUNT(*) AS n FROM import_jobs WHERE staff_id = \(bind: staffID) AND state = 'running'
                AND COALESCE(heartbeat_at, created_at) > \(bind: fresh)
                """).first()?.decode(column: "n", as: Int.self) ?? 0
            guard running == 0 else {
                throw AppError.conflict("error.import.busy", fields: [FieldIssue("file", "busy", "error.import.busy")])
            }
            job.heartbeatAt = Date()
            try await job.create(on: tx)
        }
    }
}
