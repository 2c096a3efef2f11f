import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// Imports the ledger from the sheet staff keep (or one this platform exported): every bad row is
/// reported with line, column and reason; firms already in the ledger or repeated in the file are
/// reported and not imported twice; the good rows go in, in batches, each one transaction.
struct EnterpriseImporter {
    let db: any Database
    let localizer: Localizer
    let lang: Lang
    /// The district or street the file is for: rows name their street below it, or land on it.
    let root: Organization
    let jobID: Int
    /// Problems of bad rows after which the import stops (`ImportLimits`).
    var maxProblems = ImportLimits.maxProblems

    /// Header texts (Chinese, English, this platform's export) → column key.
    static let aliases: [String: String] = {
        var map: [String: String] = [:]
        let table: [(String, [String])] = [
            ("name", ["单位名称", "企业名称", "名称", "name", "enterprise", "enterprise name"]),
            ("creditCode", ["统一社会信用代码", "信用代码", "社会信用代码", "creditcode", "credit code"]),
            ("org", ["所在街道（乡镇）", "所在街道", "街道", "街道（乡镇）", "所属组织", "street", "orgid"]),
            ("type", ["单位类型", "企业类型", "类型", "type"]),
            ("headcount", ["职工人数", "职工数", "人数", "headcount", "employees"]),
            ("size", ["规模", "企业规模", "size"]),
            ("industry", ["行业门类", "行业", "所属行业", "industry"]),
            ("unionStatus", ["建会状态", "建会情况", "union status", "unionstatus"]),
            ("influence", ["社会影响", "social influence", "influence"]),
            ("relations", ["劳动关系", "labour relations", "relations"]),
            ("address", ["地址", "注册地址", "经营地址", "address"]),
            ("lat", ["纬度", "latitude", "lat"]),
            ("lng", ["经度", "longitude", "lng"]),
            ("contactName", ["联系人", "contact", "contactname"]),
            ("contactPhone", ["联系电话", "电话", "phone", "contactphone"]),
            ("nextStep", ["下一步工作", "next step", "nextstep"]),
            ("nextStepOn", ["计划日期", "planned date", "nextstepon"]),
        ]
        for (key, names) in table { for name in names { map[name.lowercased()] = key } }
        return map
    }()

    typealias Outcome = SheetOutcome

    /// Label (either language) or code → enum value.
    func lookup<T: RawRepresentable & CaseIterable>(_ type: T.Type, prefix: String, _ text: String) -> T? where T.RawValue == String {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let v = T(rawValue: t) { return v }
        for c in T.allCases {
            for l in [Lang.zhHans, .en] where localizer.text("\(prefix).\(c.rawValue)", l).lowercased() == t.lowercased() { return c }
        }
        return nil
    }

    func run(reader: any RowReader, onProgress: (Outcome, Int, Int) async throws -> Void) async throws -> Outcome {
        var outcome = Outcome()
        outcome.budget = ProblemBudget(max: maxProblems)
        guard let header = try reader.next() else { outcome.missing = ["单位名称", "统一社会信用代码"]; return outcome }
        var columns: [String: Int] = [:]
        for (i, cell) in header.cells.enumerated() {
            let key = Normalize.singleLine(cell).lowercased()
            if let field = Self.aliases[key], columns[field] == nil { columns[field] = i }
        }
        outcome.missing = [("name", "单位名称"), ("creditCode", "统一社会信用代码"), ("headcount", "职工人数")]
            .filter { columns[$0.0] == nil }.map(\.1)
        guard outcome.missing.isEmpty else { return outcome }
        // Streets and districts below the root, by name.
        let places = try await Organization.query(on: db).inSubtree(root.treePath).filter(\.$kind ~~ [.district, .street]).all()
        var placeByName: [String: Int] = [:]
        for p in places { placeByName[p.name] = p.id; placeByName[p.name.replacingOccurrences(of: "总工会", with: "")] = p.id }
        let defaultOrg: Int? = (root.kind == .street || root.kind == .district) ? root.id : nil
        var seen = Set<String>()
        var pending: [(line: Int, e: Enterprise)] = []
        var problems: [ImportProblem] = []
        let today = ShanghaiClock.today()

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
            let found = batch.isEmpty ? [] : try await Enterprise.query(on: db).filter(\.$creditCode ~~ batch.map(\.e.creditCode)).all(\.$creditCode)
            let existing = Set(found)
            let fresh = batch.filter { !existing.contains($0.e.creditCode) }
            for row in batch where existing.contains(row.e.creditCode) {
                problem(row.line, "creditCode", "duplicate", "error.import.enterpriseInLedger")
                outcome.duplicates += 1
            }
            // Bad rows' problems are all listed; rows found already registered while there is room.
            let registered = batch.count - fresh.count
            let kept = outcome.budget.list(bad: problems.count - registered, found: registered)
            let report = problems.prefix(problems.count - registered + kept)
            problems.removeAll()
            try await db.transaction { tx in
                for row in fresh {
                    try await row.e.create(on: tx)
                    try await EnterpriseContact(enterpriseID: row.e.requireID(), kind: "imported", to: row.e.unionStatus, staffID: nil).create(on: tx)
                }
                for p in report { try await p.create(on: tx) }
            }
            outcome.imported += fresh.count
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
            let e = Enterprise()
            e.name = cell("name")
            if e.name.isEmpty { problem(line, "name", "required", "error.field.required") } else if e.name.count > 100 {
                problem(line, "name", "tooLong", "error.field.tooLong", ["max": "100"])
            }
            let rawCode = cell("creditCode")
            if rawCode.isEmpty { problem(line, "creditCode", "required", "error.field.required") } else if let code = try? CreditCode(parsing: rawCode) {
                e.creditCode = code.value
            } else { problem(line, "creditCode", "format", "error.field.creditCode") }
            let headcount = Int(Normalize.identifier(cell("headcount")).replacingOccurrences(of: ",", with: ""))
            if let headcount, headcount >= 0, headcount <= 10_000_000 { e.headcount = headcount } else {
                problem(line, "headcount", cell("headcount").isEmpty ? "required" : "range", cell("headcount").isEmpty ? "error.field.required" : "error.field.range",
                        ["min": "0", "max": "10000000"])
            }
            let orgText = cell("org")
            if orgText.isEmpty {
                if let defaultOrg { e.orgID = defaultOrg } else { problem(line, "orgId", "required", "error.import.streetRequired") }
            } else if let id = placeByName[orgText] ?? Int(orgText).flatMap({ id in places.contains { $0.id == id } ? id : nil }) {
                e.orgID = id
            } else { problem(line, "orgId", "notFound", "error.import.streetUnknown", ["name": orgText]) }
            e.type = .privateOwned
            if !cell("type").isEmpty { if let t = lookup(EnterpriseType.self, prefix: "enterprise.type", cell("type")) { e.type = t } else { problem(line, "type", "unknown", "error.import.unknownValue") } }
            e.size = EnterpriseSize(headcount: e.headcountIfSet ?? 0)
            if !cell("size").isEmpty { if let s = lookup(EnterpriseSize.self, prefix: "enterprise.size", cell("size")) { e.size = s } else { problem(line, "size", "unknown", "error.import.unknownValue") } }
            let industry = cell("industry")
            if !industry.isEmpty {
                if let s = IndustrySection(rawValue: String(industry.prefix(1)).uppercased()), industry.count == 1 || industry.dropFirst().first == " " { e.industry = s } else if let s = IndustrySection.allCases.first(where: {
                    localizer.text("industry.\($0.rawValue)", .zhHans).dropFirst(2) == industry
                }) { e.industry = s } else { problem(line, "industry", "unknown", "error.import.unknownValue") }
            }
            e.unionStatus = .none
            if !cell("unionStatus").isEmpty { if let s = lookup(UnionStatus.self, prefix: "unionStatus", cell("unionStatus")) { e.unionStatus = s } else { problem(line, "unionStatus", "unknown", "error.import.unknownValue") } }
            e.influence = .ordinary
            if !cell("influence").isEmpty { if let s = lookup(SocialInfluence.self, prefix: "influence", cell("influence")) { e.influence = s } else { problem(line, "influence", "unknown", "error.import.unknownValue") } }
            e.relations = .stable
            if !cell("relations").isEmpty { if let s = lookup(LabourRelations.self, prefix: "relations", cell("relations")) { e.relations = s } else { problem(line, "relations", "unknown", "error.import.unknownValue") } }
            e.address = cell("address").isEmpty ? nil : String(cell("address").prefix(200))
            let lat = Double(cell("lat")), lng = Double(cell("lng"))
            if !cell("lat").isEmpty || !cell("lng").isEmpty {
                if let lat, let lng, (-90...90).contains(lat), (-180...180).contains(lng) { (e.lat, e.lng) = (lat, lng) } else {
                    problem(line, "lat", "range", "error.import.coordinates")
                }
            }
            e.contactName = cell("contactName").isEmpty ? nil : String(cell("contactName").prefix(50))
            if !cell("contactPhone").isEmpty { if let p = ContactPhone.normalise(cell("contactPhone")) { e.contactPhone = p } else { problem(line, "contactPhone", "format", "error.field.phone") } }
            e.nextStep = cell("nextStep").isEmpty ? nil : String(cell("nextStep").prefix(200))
            if !cell("nextStepOn").isEmpty { if let d = try? CalendarDate(parsing: cell("nextStepOn")) { e.nextStepOn = d.description } else { problem(line, "nextStepOn", "format", "error.field.date") } }
            _ = today
            if problems.count > before {
                outcome.failed += 1
            } else if seen.contains(e.creditCode) {
                problem(line, "creditCode", "duplicateInFile", "error.import.enterpriseRepeated")
                outcome.duplicates += 1
            } else {
                seen.insert(e.creditCode)
                pending.append((line, e))
            }
            outcome.budget.countBad(problems.count - before)
            if outcome.budget.exhausted {
                outcome.stoppedAt = line
                break
            }
            if pending.count >= 500 || problems.count >= 500 { try await flush() }
        }
        try await flush()
        return outcome
    }
}

extension Enterprise {
    /// The headcount as read, or nil before it is set (an import checks it before anything else reads it).
    var headcountIfSet: Int? { $headcount.value }
}

enum EnterpriseImports {
    static func makeJob(root: Organization, staffID: Int?, fileName: String, totalBytes: Int, on db: any Database) async throws -> ImportJob {
        let job = try await RosterImports.makeJob(union: root, staffID: staffID, fileName: fileName, totalBytes: totalBytes, on: db)
        job.kind = "enterprises"
        try await job.save(on: db)
        return job
    }

    /// Runs the job to the end; never throws (a failure is the job's state).
    static func execute(job: ImportJob, path: String, root: Organization, app: Application, lang: Lang,
                        actor: (id: Int, username: String)?, ip: String?, removeFile: Bool,
                        onProgress: (@Sendable (SheetOutcome, Int, Int) -> Void)? = nil) async -> ImportJob {
        await SheetImports.execute(job: job, path: path, root: root, app: app, lang: lang, actor: actor, ip: ip, removeFile: removeFile,
                                   action: "enterprise.import", onProgress: onProgress) { reader, jobID, progress in
            try await EnterpriseImporter(db: app.db, localizer: app.localizer, lang: lang, root: root, jobID: jobID).run(reader: reader, onProgress: progress)
        }
    }
}
