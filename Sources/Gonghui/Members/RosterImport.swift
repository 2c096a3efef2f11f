import Fluent
import FluentSQL
import FluentSQLiteDriver
import Foundation
import NIOConcurrencyHelpers
import GonghuiCore
import Spreadsheet
import Vapor

/// The roster columns, as the Excel template names them (English headers accepted too).
enum RosterColumn: String, CaseIterable, Sendable {
    case name, idNumber, phone, employerName, employerCreditCode, joinedOn

    /// Header cells are compared after dropping spaces, `*` (required marks) and case.
    static let aliases: [String: RosterColumn] = {
        var map: [String: RosterColumn] = [:]
        let table: [(RosterColumn, [String])] = [
            (.name, ["姓名", "会员姓名", "name", "fullname"]),
            (.idNumber, ["身份证号码", "身份证号", "公民身份号码", "身份证", "idnumber", "id", "idno", "residentid", "idcard"]),
            (.phone, ["手机号码", "手机号", "手机", "联系电话", "phone", "mobile", "mobilephone", "phonenumber"]),
            (.employerName, ["工作单位", "单位名称", "单位", "employer", "employername", "workplace"]),
            (.employerCreditCode, ["统一社会信用代码", "信用代码", "单位统一社会信用代码", "employercreditcode", "creditcode", "uscc"]),
            (.joinedOn, ["入会时间", "入会日期", "joinedon", "joined", "joindate", "joineddate"]),
        ]
        for (column, names) in table { for name in names { map[name] = column } }
        return map
    }()

    static func match(_ header: String) -> RosterColumn? {
        let key = Normalize.halfWidth(header).lowercased().filter { !$0.isWhitespace && $0 != "*" && $0 != "_" && $0 != "（" && $0 != "）" }
        return aliases[key]
    }

    /// The template's own header, for the error file and the template download.
    var templateHeader: String {
        switch self {
        case .name: "姓名"
        case .idNumber: "身份证号码"
        case .phone: "手机号码"
        case .employerName: "工作单位"
        case .employerCreditCode: "统一社会信用代码"
        case .joinedOn: "入会时间"
        }
    }

    static let required: [RosterColumn] = [.name, .idNumber, .phone]
}

struct ImportProgress: Sendable {
    var bytesRead: Int
    var totalBytes: Int
    var rowsRead: Int
    var imported: Int
    var duplicates: Int
    var failed: Int
}

/// Reads a roster (CSV in any encoding Excel saves, or XLSX), checks every row, and inserts the
/// good ones in batches, each batch one transaction. Bad rows and duplicates (inside the file and
/// against the database) are written to `import_problems` with line, column and reason; the good
/// rows beside them are imported. The same file imported twice adds nothing the second time.
struct RosterImporter {
    let db: any Database
    let cipher: FieldCipher
    let union: Organization
    let cardPrefix: String
    let jobID: Int
    /// Turns a field problem into the message staff read (the request's language).
    let describe: @Sendable (FieldIssue) -> String
    var today = ShanghaiClock.today()
    /// Rows per transaction; nil: about a tenth of the file (see `batchSize(forBytes:)`).
    var batchSize: Int?
    /// Problems of bad rows after which the import stops (`ImportLimits`).
    var maxProblems = ImportLimits.maxProblems

    /// About ten steps of progress for any file, within 2,000 and 100,000 rows per transaction.
    /// Bigger transactions cost less per row: an index page that many rows of a batch touch is
    /// written to the journal once per commit, not once per row (1,000,000 rows into SQLite:
    /// 10,000-row batches kept the writer busy 28 s, 100,000-row batches 20 s).
    static func batchSize(forBytes bytes: Int) -> Int {
        let estimatedRows = bytes / 80  // a template row saved as CSV is about 80 bytes
        return min(100_000, max(2_000, estimatedRows / 10))
    }

    struct Outcome: Sendable {
        var progress: ImportProgress
        var missingColumns: [String] = []
        /// The line the import stopped at, its problem limit reached.
        var stoppedAt: Int?
        var budget = ProblemBudget(max: ImportLimits.maxProblems)
    }

    private struct Good {
        let line: Int
        let index: String
        /// Made while parsing, so the writing side only binds and steps.
        let row: MemberBulk.Row
    }

    func run(reader: any RowReader, progress report: @Sendable (ImportProgress) async throws -> Void) async throws -> Outcome {
        var progress = ImportProgress(bytesRead: 0, totalBytes: reader.totalBytes, rowsRead: 0, imported: 0, duplicates: 0, failed: 0)
        // The header: the first row with any cell filled.
        var header: SheetRow?
        while let row = try reader.next() {
            if row.cells.contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) { header = row; break }
        }
        guard let header else {
            return Outcome(progress: progress, missingColumns: RosterColumn.required.map(\.templateHeader))
        }
        var columns: [RosterColumn: Int] = [:]
        var headerNames: [RosterColumn: String] = [:]
        for (position, cell) in header.cells.enumerated() {
            if let column = RosterColumn.match(cell), columns[column] == nil {
                columns[column] = position
                headerNames[column] = cell.trimmingCharacters(in: .whitespaces)
            }
        }
        let missing = RosterColumn.required.filter { columns[$0] == nil }
        if !missing.isEmpty { return Outcome(progress: progress, missingColumns: missing.map(\.templateHeader)) }

        func columnName(_ field: String) -> String {
            guard let column = RosterColumn(rawValue: field) else { return field }
            return headerNames[column] ?? column.templateHeader
        }

        let batchSize = self.batchSize ?? Self.batchSize(forBytes: reader.totalBytes)
        var budget = ProblemBudget(max: maxProblems)
        var stoppedAt: Int?
        var seen: [String: Int] = [:]
        var good: [Good] = []
        var problems: [SQLiteMemberWriter.Problem] = []
        good.reserveCapacity(batchSize)
        let unionID = try union.requireID()

        let idColumn = columnName("idNumber")
        let alreadyMember = describe(FieldIssue("idNumber", "duplicate", "error.import.alreadyMember"))
        let db = self.db, cardPrefix = self.cardPrefix, jobID = self.jobID

        // Batches are written while the next one is read and checked: the database works on one
        // core while parsing, validation and encryption run on the other. On SQLite the writer has
        // its own connection with one prepared INSERT (see SQLiteMemberWriter).
        var pending: Task<(Int, Int), any Error>?
        let sqliteWriter = try await SQLiteMemberWriter.open(for: db, source: "import", cardPrefix: cardPrefix)

        /// Writes a batch and its problems: those of bad rows, and of rows already registered up to `room`.
        func writeBatch(_ batch: [Good], _ batchProblems: [SQLiteMemberWriter.Problem], _ snapshot: ImportProgress,
                        room: Int) async throws -> (Int, Int) {
            if let sqliteWriter {
                let report = SQLiteMemberWriter.Report(jobID: jobID, problems: batchProblems, progress: snapshot, lines: batch.map(\.line),
                                                       duplicateColumn: idColumn, duplicateMessage: alreadyMember, duplicateRoom: room)
                let inserted = try await sqliteWriter.write(batch.map(\.row), report: report)
                return (inserted, batch.count - inserted)
            }
            return try await db.transaction { tx -> (Int, Int) in
                let sql = tx.sql
                // Rows whose ID number is already registered are skipped by the database itself
                // (ON CONFLICT DO NOTHING), so two imports of the same people at once cannot collide.
                var inserted = Set<String>()
                if !batch.isEmpty {
                    inserted = try await MemberBulk.insert(batch.map(\.row), source: "import", cardPrefix: cardPrefix, on: tx)
                }
                var all = batchProblems
                for dup in batch.lazy.filter({ !inserted.contains($0.index) }).prefix(room) {
                    all.append(.init(line: dup.line, column: idColumn, code: "duplicate", message: alreadyMember))
                }
                for chunk in stride(from: 0, to: all.count, by: 500) {
                    var problemInsert = sql.insert(into: ImportProblem.schema).columns("job_id", "line", "column_name", "code", "message")
                    for problem in all[chunk..<min(chunk + 500, all.count)] {
                        problemInsert = problemInsert.values(SQLBind(jobID), SQLBind(problem.line), SQLBind(problem.column),
                                                             SQLBind(problem.code), SQLBind(problem.message))
                    }
                    try await problemInsert.run()
                }
                // The job's progress in the same transaction, on the same connection.
                try await sql.raw("""
                    UPDATE import_jobs SET bytes_read = \(bind: snapshot.bytesRead), rows_read = \(bind: snapshot.rowsRead),
                      imported = \(bind: snapshot.imported + inserted.count),
                      duplicates = \(bind: snapshot.duplicates + batch.count - inserted.count), failed = \(bind: snapshot.failed),
                      heartbeat_at = \(bind: Date())
                    WHERE id = \(bind: jobID)
                    """).run()
                return (inserted.count, batch.count - inserted.count)
            }
        }

        /// Waits for the batch being written and reports it.
        func settle() async throws {
            guard let task = pending else { return }
            pending = nil
            let (insertedCount, dupCount) = try await task.value
            progress.imported += insertedCount
            progress.duplicates += dupCount
            _ = budget.list(bad: 0, found: dupCount)
            progress.bytesRead = reader.bytesRead
            try await report(progress)
        }

        func flush() async throws {
            try await settle()
            let batch = good
            let batchProblems = problems
            good = []
            good.reserveCapacity(batchSize)
            problems = []
            var snapshot = progress
            snapshot.bytesRead = reader.bytesRead
            let frozen = snapshot
            // The batch's own problems are listed; its rows already registered while there is room.
            _ = budget.list(bad: batchProblems.count, found: 0)
            let room = max(0, budget.max - budget.listed)
            pending = Task { try await writeBatch(batch, batchProblems, frozen, room: room) }
        }

        let nameAt = columns[.name]!, idAt = columns[.idNumber]!, phoneAt = columns[.phone]!
        let employerAt = columns[.employerName], codeAt = columns[.employerCreditCode], joinedAt = columns[.joinedOn]
        func readAll() async throws {
            while let row = try reader.next() {
                let cells = row.cells
                func cell(_ index: Int?) -> String? {
                    guard let index, index < cells.count else { return nil }
                    return cells[index]
                }
                if !cells.contains(where: { !$0.isEmpty && !$0.allSatisfy(\.isWhitespace) }) { continue }
                if RosterExample.isExample(name: cell(nameAt), idNumber: cell(idAt)) { continue }
                progress.rowsRead += 1
                let problemsBefore = problems.count
                var issues: [FieldIssue] = []
                let facts = PersonFacts.check(.init(name: cell(nameAt), idNumber: cell(idAt), phone: cell(phoneAt),
                                                    employerName: cell(employerAt), employerCreditCode: cell(codeAt)),
                                              today: today, employerRequired: false, into: &issues)
                let joined = PersonFacts.checkJoined(cell(joinedAt), today: today, into: &issues)
                if let facts, issues.isEmpty {
                    let index = cipher.blindIndex(facts.residentID.value)
                    if let earlier = seen[index] {
                        progress.duplicates += 1
                        problems.append(.init(line: row.line, column: idColumn, code: "duplicate",
                                              message: describe(FieldIssue("idNumber", "duplicate", "error.import.duplicateInFile", ["line": String(earlier)]))))
                    } else {
                        seen[index] = row.line
                        let member = MemberBulk.Row(orgID: unionID, name: facts.name, sealed: try cipher.seal(facts.residentID.value), index: index,
                                                    sex: facts.residentID.sex.rawValue, birth: facts.residentID.birthDate.description,
                                                    phone: facts.phone.value, employer: facts.employerName, creditCode: facts.employerCreditCode,
                                                    joined: (joined ?? today).description)
                        good.append(Good(line: row.line, index: index, row: member))
                    }
                } else {
                    progress.failed += 1
                    for issue in issues {
                        problems.append(.init(line: row.line, column: columnName(issue.field), code: issue.code, message: describe(issue)))
                    }
                }
                budget.countBad(problems.count - problemsBefore)
                if budget.exhausted {
                    stoppedAt = row.line
                    break
                }
                if good.count >= batchSize || problems.count >= batchSize { try await flush() }
            }
            try await flush()
            try await settle()
        }
        do {
            try await readAll()
        } catch {
            // A batch still being written ends (committed or rolled back) before the error is
            // reported, so the job's state is final and nothing writes behind it.
            if let task = pending { _ = try? await task.value }
            throw error
        }
        return Outcome(progress: progress, stoppedAt: stoppedAt, budget: budget)
    }
}
