import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

struct ArchiveListItemDTO: Content {
    let id: Int
    let fileNumber: String
    let orgId: Int
    let orgName: String
    let subjectName: String
    let category: String
    let migrantWorker: Bool
    let changedOn: String
}

/// The national system's two lists (全国工会帮扶工作管理系统): active files unchanged for a year
/// (the last change of substance more than a year ago) and active files never aided (no payment in
/// the funds ledger that was not reversed). Scoped, paged, and exported as XLSX or CSV.
enum ArchiveLists {
    enum List: String, CaseIterable, Sendable {
        case unchanged
        case neverAided = "never-aided"
    }

    struct Row: Decodable {
        let id: Int
        let file_number: String
        let org_id: Int
        let org_name: String
        let subject_name: String
        let category: String
        let migrant_worker: Bool
        let changed_on: String
    }

    /// A year before today in Asia/Shanghai (29 February falls back to the 28th).
    static func yearAgo(_ today: CalendarDate = ShanghaiClock.today()) -> String {
        let day = min(today.day, CalendarDate.daysIn(month: today.month, year: today.year - 1))
        return ((try? CalendarDate(year: today.year - 1, month: today.month, day: day)) ?? today).description
    }

    static func condition(_ list: List) -> SQLQueryString {
        switch list {
        case .unchanged:
            return "h.changed_on < \(bind: yearAgo())"
        case .neverAided:
            return """
                NOT EXISTS (SELECT 1 FROM fund_entries p WHERE p.household_id = h.id AND p.kind = 'pay'
                  AND NOT EXISTS (SELECT 1 FROM fund_entries r WHERE r.reverses_id = p.id))
                """
        }
    }

    static func rows(_ list: List, under root: Organization, offset: Int, limit: Int, on db: any Database) async throws -> (total: Int, rows: [Row]) {
        let from: SQLQueryString = """
            FROM hardship_households h JOIN organizations o ON o.id = h.org_id
            WHERE h.state = 'active' AND o.path >= \(bind: root.path) AND o.path < \(bind: root.treePath.upperBound) AND \(condition(list))
            """
        struct Count: Decodable { let n: Int }
        let total = try await db.sql.raw("SELECT COUNT(*) AS n \(from)").first(decoding: Count.self)?.n ?? 0
        let rows = try await db.sql.raw("""
            SELECT h.id, h.file_number, h.org_id, o.name AS org_name, h.subject_name, h.category, h.migrant_worker, h.changed_on \(from)
            ORDER BY h.changed_on, h.id LIMIT \(unsafeRaw: String(limit)) OFFSET \(unsafeRaw: String(offset))
            """).all(decoding: Row.self)
        return (total, rows)
    }

    static func dto(_ r: Row) -> ArchiveListItemDTO {
        ArchiveListItemDTO(id: r.id, fileNumber: r.file_number, orgId: r.org_id, orgName: r.org_name, subjectName: r.subject_name,
                           category: r.category, migrantWorker: r.migrant_worker, changedOn: r.changed_on)
    }

    /// `GET /api/v1/hardship-lists/{list}?orgId=&page=&per=&format=xlsx|csv`.
    @Sendable static func handle(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.readsArchive)
        guard let list = req.parameters.get("list").flatMap(List.init(rawValue:)) else { throw AppError.notFound }
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let paging = PageRequest(from: req, &v)
        let format = req.query[String.self, at: "format"].flatMap { $0.isEmpty ? nil : $0 }
        if let format, format != "xlsx" && format != "csv" { v.add("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"]) }
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        guard let format else {
            let (total, rows) = try await rows(list, under: root, offset: paging.offset, limit: paging.per, on: req.db)
            return try await Paged(items: rows.map(dto), page: paging.page, per: paging.per, total: total).encodeResponse(for: req)
        }
        try await req.audit.record("archive.list.export", org: root, details: ["list": list.rawValue, "format": format])
        let header = ["archive.col.fileNumber", "archive.col.org", "archive.col.subject", "archive.col.category", "archive.col.migrant",
                      "archive.col.changedOn"].map { req.t($0) }
        return try await RosterFiles.downloadInBatches(req, name: "hardship-\(list.rawValue)", format: format, header: header,
                                                       widths: [18, 28, 12, 12, 10, 12]) { write in
            var offset = 0
            while true {
                let batch = try await rows(list, under: root, offset: offset, limit: 2000, on: req.db).rows
                if batch.isEmpty { break }
                try await write(batch.map { r in
                    [.text(r.file_number), .text(r.org_name), .text(r.subject_name), .text(req.t("archive.category.\(r.category)")),
                     .text(r.migrant_worker ? req.t("archive.yes") : ""), .text(r.changed_on)]
                })
                offset += batch.count
                if batch.count < 2000 { break }
            }
        }
    }
}
