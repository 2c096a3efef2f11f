import Fluent
import Foundation
import GonghuiCore
import Spreadsheet
import Vapor

/// The ledger's import page, its template and the upload; the columns every ledger sheet uses.
extension EnterprisePages {
    // MARK: import

    func renderImport(_ req: Request, alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsLedger)
        return try await SheetImportPage.render(req, kind: "enterprises", view: "outreach/import", places: try await Self.places(req, selected: scope.rootID),
                                                alert: alert, status: status)
    }

    @Sendable func importForm(req: Request) async throws -> Response { try await renderImport(req) }

    @Sendable func template(req: Request) async throws -> Response {
        let format = try RosterFiles.format(req)
        let header = EnterpriseColumns.all.filter { $0.key != "lastContact" }.map { req.t($0.labelKey) }
        return try await RosterFiles.download(req, name: "enterprise-template", format: format, header: header,
                                              widths: EnterpriseColumns.all.map(\.width)) { add in
            try add([.text("北京蓝天快递有限公司"), .text("91110105MA01ABCD1E"), .text("建外街道"), .text(req.t("enterprise.type.privateOwned")),
                     .integer(80), .text(""), .text(req.t("industry.G")), .text(req.t("unionStatus.none")), .text(req.t("influence.ordinary")),
                     .text(req.t("relations.stable")), .text("建国门外大街1号"), .number(39.9087), .number(116.4497), .text("王经理"),
                     .text("010-65123456"), .text("上门介绍建会流程"), .text("2026-12-01")])
        }
    }

    struct UploadForm: Decodable {
        var orgId: String?
        var file: File?
    }

    @Sendable func importUpload(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsLedger)
        let form = try req.content.decode(UploadForm.self)
        guard let file = form.file, file.data.readableBytes > 0 else {
            return try await renderImport(req, alert: req.t("error.import.empty"), status: .unprocessableEntity)
        }
        guard let root = try? await scope.org(form.orgId.flatMap { Int($0) } ?? scope.rootID, on: req.db), root.kind == .street || root.kind == .district || root.kind == .city else {
            return try await renderImport(req, alert: req.t("error.enterprise.orgKind"), status: .unprocessableEntity)
        }
        let job: ImportJob
        do {
            job = try await EnterpriseImports.makeJob(root: root, staffID: scope.staffID, fileName: file.filename,
                                                      totalBytes: file.data.readableBytes, on: req.db)
        } catch let error as AppError where error.status == .conflict {
            return try await renderImport(req, alert: req.t("error.import.busy"), status: .conflict)
        }
        let path = try await RosterFiles.saveUpload(req, file.data)
        let app = req.application
        let lang = req.lang
        let actor = (scope.staffID, scope.username)
        let ip = req.clientAddress
        app.imports.track(Task.detached {
            _ = await EnterpriseImports.execute(job: job, path: path, root: root, app: app, lang: lang, actor: actor, ip: ip, removeFile: true)
        })
        return req.redirect(to: "/console/imports/\(job.id ?? 0)")
    }
}


/// The ledger's columns in exports, the template and imports, with their Chinese and English headers.
struct EnterpriseColumns {
    let key: String
    let labelKey: String
    let width: Double

    static let all: [EnterpriseColumns] = [
        .init(key: "name", labelKey: "ledger.col.name", width: 30), .init(key: "creditCode", labelKey: "field.creditCode", width: 22),
        .init(key: "org", labelKey: "ledger.field.orgId", width: 20), .init(key: "type", labelKey: "field.type", width: 14),
        .init(key: "headcount", labelKey: "field.headcount", width: 10), .init(key: "size", labelKey: "field.size", width: 8),
        .init(key: "industry", labelKey: "field.industry", width: 24), .init(key: "unionStatus", labelKey: "field.unionStatus", width: 12),
        .init(key: "influence", labelKey: "field.influence", width: 8), .init(key: "relations", labelKey: "field.relations", width: 10),
        .init(key: "address", labelKey: "field.address", width: 30), .init(key: "lat", labelKey: "field.lat", width: 10),
        .init(key: "lng", labelKey: "field.lng", width: 11), .init(key: "contactName", labelKey: "field.contactName", width: 10),
        .init(key: "contactPhone", labelKey: "field.contactPhone", width: 14), .init(key: "nextStep", labelKey: "field.nextStep", width: 24),
        .init(key: "nextStepOn", labelKey: "field.nextStepOn", width: 12), .init(key: "lastContact", labelKey: "ledger.col.lastContact", width: 12),
    ]

    static func cells(_ e: Enterprise, orgName: String, _ req: Request) -> [Cell] {
        [.text(e.name), .text(e.creditCode), .text(orgName), .text(req.t("enterprise.type.\(e.type.rawValue)")), .integer(Int64(e.headcount)),
         .text(req.t("enterprise.size.\(e.size.rawValue)")), .text(e.industry.map { req.t("industry.\($0.rawValue)") } ?? ""),
         .text(req.t("unionStatus.\(e.unionStatus.rawValue)")), .text(req.t("influence.\(e.influence.rawValue)")),
         .text(req.t("relations.\(e.relations.rawValue)")), .text(e.address ?? ""), e.lat.map { .number($0) } ?? .empty,
         e.lng.map { .number($0) } ?? .empty, .text(e.contactName ?? ""), .text(e.contactPhone ?? ""), .text(e.nextStep ?? ""),
         .text(e.nextStepOn ?? ""), .text(e.lastContactAt.map { String(MeetingTime.local($0).prefix(10)) } ?? "")]
    }
}
