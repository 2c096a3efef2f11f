import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/console/archive-checks`: the district's yearly reviews and spot checks with their due days,
/// progress and overdue lines; one round's lines; the two national lists as downloads.
enum ArchiveCheckPages {
    struct Round: Encodable {
        let id: Int
        let kind: String
        let orgName: String
        let year: Int
        let dueOn: String
        let lines: Int
        let done: Int
        let overdue: Int
        let seed: String
        let share: String
    }

    struct Line: Encodable {
        let position: Int
        let fileNumber: String
        let orgName: String
        let subjectName: String
        let outcome: String
        let overdue: Bool
        let note: String?
        let reviewerName: String?
        let checkedOn: String?
    }

    struct ListPage: Encodable {
        let page: PageContext
        let rounds: [Round]
    }

    struct RoundPage: Encodable {
        let page: PageContext
        let round: Round
        let repeats: Bool?
        let lines: [Line]
        let total: Int
        let pageNumber: Int
        let next: Int?
        let previous: Int?
    }

    static func round(_ req: Request, _ dto: ArchiveCheckDTO) -> Round {
        Round(id: dto.id, kind: req.t("archive.kind.\(dto.kind.rawValue)"), orgName: dto.orgName, year: dto.year, dueOn: dto.dueOn,
              lines: dto.lines, done: dto.done, overdue: dto.overdue, seed: dto.seed.map(String.init) ?? "",
              share: dto.share.map { String(format: "%.0f%%", $0 * 100) } ?? "")
    }

    @Sendable static func list(req: Request) async throws -> View {
        var rounds: [Round] = []
        for kind in ArchiveCheck.Kind.allCases {
            rounds += try await ArchiveCheckController(kind: kind).list(req: req).map { round(req, $0) }
        }
        rounds.sort { ($0.year, $1.dueOn) > ($1.year, $0.dueOn) }
        return try await req.view.render("archive/checks", ListPage(page: req.pageContext(), rounds: rounds))
    }

    @Sendable static func show(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.readsArchive)
        guard let check = try await ArchiveCheck.find(try req.idParameter(), on: req.db) else { throw AppError.notFound }
        let controller = ArchiveCheckController(kind: check.kind)
        let org = try await scope.org(check.orgID, on: req.db)
        let paging = try PageRequest(from: req, defaultPer: 100)
        let dto = try await controller.dto(check, org: org, on: req.db)
        let lines = try await ArchiveCheckController.lines(check, scope: scope, overdueOnly: false, paging: paging, on: req.db)
        return try await req.view.render("archive/round", RoundPage(
            page: req.pageContext(), round: round(req, dto), repeats: dto.repeatsDraw, lines: lines.items.map { l in
                Line(position: l.position, fileNumber: l.fileNumber, orgName: l.orgName, subjectName: l.subjectName,
                     outcome: l.outcome.map { req.t("archive.outcome.\($0.rawValue)") } ?? "", overdue: l.overdue, note: l.note,
                     reviewerName: l.reviewerName, checkedOn: l.checkedOn)
            }, total: lines.total,
            pageNumber: paging.page, next: paging.offset + paging.per < lines.total ? paging.page + 1 : nil,
            previous: paging.page > 1 ? paging.page - 1 : nil))
    }
}
