import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet

/// Reads a basic-insurance settlement extract, a batch at a time, and adjudicates every row:
/// matched to a member by the blind index of the ID number, to the plan in force on its date, and
/// paid what the rule gives. What a member has used of each cap is locked, read and changed in the
/// same transaction as the claims that use it, so no order or concurrency of imports pays past a
/// cap; the settlement number is unique, so a file imported again pays nothing twice.
struct SettlementImporter {
    let db: any Database
    let cipher: FieldCipher
    let localizer: Localizer
    let lang: Lang
    let jobID: Int
    /// The node that imports (the city): claims of unmatched rows stand under it.
    let orgID: Int
    var maxProblems = ImportLimits.maxProblems
    var batchSize = 500

    static let aliases: [String: String] = {
        var map: [String: String] = [:]
        let table: [(String, [String])] = [
            ("idNumber", ["身份证号", "身份证号码", "公民身份号码", "idnumber", "id number"]),
            ("settlementNumber", ["结算单号", "结算编号", "settlementnumber", "settlement number"]),
            ("visitType", ["就诊类型", "医疗类别", "visittype", "visit type"]),
            ("visitDate", ["就诊日期", "结算日期", "visitdate", "visit date"]),
            ("totalYuan", ["医疗总费用", "总费用", "totalyuan", "total"]),
            ("insurancePaidYuan", ["统筹支付", "基金支付", "insurancepaidyuan", "insurance paid"]),
            ("selfPaidYuan", ["个人自付", "自付一", "selfpaidyuan", "self paid"]),
        ]
        for (key, names) in table { for name in names { map[name] = key } }
        return map
    }()

    static let required: [(String, String)] = [("idNumber", "身份证号"), ("settlementNumber", "结算单号"), ("visitType", "就诊类型"),
                                                ("visitDate", "就诊日期"), ("totalYuan", "医疗总费用"), ("insurancePaidYuan", "统筹支付"),
                                                ("selfPaidYuan", "个人自付")]

    struct Row {
        let line: Int
        let idNumber: String
        let index: String
        let number: String
        let visit: String
        let date: String
        let totalFen: Int64
        let insuranceFen: Int64
        let selfFen: Int64
    }

    struct Member {
        let id: Int
        let orgID: Int
        let active: Bool
        let joinedOn: String
    }

    func run(reader: any RowReader, onProgress: (SheetOutcome, Int, Int) async throws -> Void) async throws -> SheetOutcome {
        var outcome = SheetOutcome()
        outcome.budget = ProblemBudget(max: maxProblems)
        guard let header = try reader.next() else { outcome.missing = Self.required.map(\.1); return outcome }
        var columns: [String: Int] = [:]
        for (i, cell) in header.cells.enumerated() {
            let key = Normalize.singleLine(cell).lowercased()
            if let field = Self.aliases[key], columns[field] == nil { columns[field] = i }
        }
        outcome.missing = Self.required.filter { columns[$0.0] == nil }.map(\.1)
        guard outcome.missing.isEmpty else { return outcome }
        let plans = try await AidPlan.query(on: db).all().filter { $0.kind.visitType != nil }
        let writer = SettlementWriter(db: db, cipher: cipher, jobID: jobID, orgID: orgID, plans: plans)
        let today = ShanghaiClock.today()
        var seen = Set<String>()
        var pending: [Row] = []
        var problems: [ImportProblem] = []
        var counts = SettlementCounts()

        func problem(_ line: Int, _ field: String, _ code: String, _ key: String, _ args: [String: String] = [:]) {
            let p = ImportProblem()
            p.jobID = jobID
            p.line = line
            let label = localizer.text("field.\(field)", lang)
            p.column = label.hasPrefix("field.") ? field : label
            p.code = code
            var a = args
            a["field"] = p.column
            p.message = localizer.text(key, lang, a)
            problems.append(p)
        }

        func flush() async throws {
            let batch = pending
            pending.removeAll()
            let report = problems
            problems.removeAll()
            let written = try await writer.write(batch, problems: report, budget: &outcome.budget, describe: { line, number in
                let p = ImportProblem()
                p.jobID = jobID
                p.line = line
                let label = localizer.text("field.settlementNumber", lang)
                p.column = label.hasPrefix("field.") ? "settlementNumber" : label
                p.code = ClaimOutcome.duplicateSettlement.rawValue
                p.message = localizer.text("mutualAid.error.duplicateSettlement", lang, ["number": number])
                return p
            }, counts: &counts)
            outcome.imported += written.claims
            outcome.duplicates += written.duplicates
            try await onProgress(outcome, reader.bytesRead, reader.totalBytes)
        }

        while let row = try reader.next() {
            outcome.rowsRead += 1
            let line = row.line
            func cell(_ key: String) -> String {
                guard let i = columns[key], i < row.cells.count else { return "" }
                return Normalize.singleLine(row.cells[i])
            }
            let before = problems.count
            var id: ResidentID?
            let rawID = cell("idNumber")
            if rawID.isEmpty { problem(line, "idNumber", "badRow", "error.field.required") } else {
                do { id = try ResidentID(parsing: rawID, today: today, minimumAge: 0) } catch { problem(line, "idNumber", "badRow", "error.member.idNumber.format") }
            }
            let number = cell("settlementNumber")
            if number.isEmpty { problem(line, "settlementNumber", "badRow", "error.field.required") } else if number.count > 64 {
                problem(line, "settlementNumber", "badRow", "error.field.tooLong", ["max": "64"])
            }
            let visitText = cell("visitType")
            let visit: String? = ["住院": "inpatient", "inpatient": "inpatient", "门诊": "outpatient", "outpatient": "outpatient"][visitText.lowercased()]
            if visit == nil { problem(line, "visitType", "badRow", "mutualAid.error.visitType") }
            var date: String?
            if let d = try? CalendarDate(parsing: cell("visitDate")) {
                if d > today { problem(line, "visitDate", "badRow", "mutualAid.error.futureDate") } else { date = d.description }
            } else { problem(line, "visitDate", "badRow", cell("visitDate").isEmpty ? "error.field.required" : "error.field.date") }
            func money(_ key: String) -> Int64? {
                let text = cell(key)
                guard !text.isEmpty else { problem(line, key, "badRow", "error.field.required"); return nil }
                do { return try Money.fen(yuan: text) } catch { problem(line, key, "badRow", "relief.error.yuanFormat"); return nil }
            }
            let total = money("totalYuan"), insurance = money("insurancePaidYuan"), selfPaid = money("selfPaidYuan")
            if let total, let insurance, let selfPaid, insurance + selfPaid > total {
                problem(line, "selfPaidYuan", "badRow", "mutualAid.error.partsAboveTotal")
            }
            if problems.count > before {
                outcome.failed += 1
                counts.add(.badRow)
                outcome.budget.countBad(1)
            } else if seen.contains(number) {
                problem(line, "settlementNumber", ClaimOutcome.duplicateSettlement.rawValue, "mutualAid.error.duplicateSettlement", ["number": number])
                outcome.duplicates += 1
                counts.add(.duplicateSettlement)
                outcome.budget.countBad(1)
            } else {
                seen.insert(number)
                pending.append(Row(line: line, idNumber: id!.value, index: cipher.blindIndex(id!.value), number: number, visit: visit!,
                                   date: date!, totalFen: total!, insuranceFen: insurance!, selfFen: selfPaid!))
            }
            if outcome.budget.exhausted {
                outcome.stoppedAt = line
                break
            }
            if pending.count >= batchSize || problems.count >= batchSize { try await flush() }
        }
        try await flush()
        return outcome
    }
}

/// Counts by outcome, added to the job's row with each batch.
struct SettlementCounts: Sendable {
    var byOutcome: [ClaimOutcome: Int] = [:]
    var paidFen: Int64 = 0

    mutating func add(_ o: ClaimOutcome, fen: Int64 = 0) {
        byOutcome[o, default: 0] += 1
        paidFen += fen
    }
}
