import Vapor

/// An appeal's files (a wage slip, a contract, a photo of the notice on the gate), uploaded and
/// read by the staff who may open the appeal: `/api/v1/appeals/{id}/attachments`.
enum AppealAttachments: AppModule {
    static func configure(_ app: Application) throws {}

    static func routes(_ routes: ModuleRoutes) throws {
        AttachmentRoutes.mount(routes.staffAPI, path: "appeals", ownerKind: "appeal") { req, id in
            let appeal = try await AppealService(request: req).find(id)
            guard let org = try await Organization.find(appeal.orgID, on: req.db) else { throw AppError.notFound }
            return org
        }
    }
}
