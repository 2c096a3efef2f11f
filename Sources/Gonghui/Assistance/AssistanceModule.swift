import Vapor

/// 帮扶: the hardship archive (one file per household), its workflow with a public notice, and the
/// archive's upkeep. Relief programmes and batches build on it (`ReliefModule`).
enum AssistanceModule: AppModule {
    static func configure(_ app: Application) throws {
        // A file follows its member to the new union (its state and history unchanged).
        app.memberHooks.addTransfer(HouseholdService.follow)
        app.addMigrations([CreateHardshipHouseholds(), CreateAssistanceSettings(), CreateSchoolingApplications()])
    }

    static func routes(_ routes: ModuleRoutes) throws {
        // After the foundation's entries, so the menu reads in the platform's order.
        HouseholdPages.registerNav(routes.app)
        try routes.staffAPI.register(collection: AssistanceSettingsController())
        try routes.staffAPI.register(collection: HouseholdController())
        try routes.console.register(collection: HouseholdPages())
        try routes.memberAPI.register(collection: MemberAssistanceController())
        try routes.staffAPI.register(collection: SchoolingReviewController())
        // The admission letter or fee receipt of a 金秋助学 application: uploaded by the member who made
        // it, read by the member and by the staff who review it.
        let schoolingFiles: AttachmentRoutes.Authorize = { req, id in
            guard let a = try await SchoolingApplication.find(id, on: req.db) else { throw AppError.notFound }
            if let member = req.signedInMember {
                guard a.memberID == member.id else { throw AppError.notFound }
            } else {
                _ = try await req.scope.org(a.orgID, on: req.db)
            }
            guard let org = try await Organization.find(a.orgID, on: req.db) else { throw AppError.notFound }
            return org
        }
        AttachmentRoutes.mount(routes.memberAPI, path: "schooling-applications", ownerKind: "schoolingApplication", authorize: schoolingFiles)
        AttachmentRoutes.mount(routes.staffAPI, path: "schooling-applications", ownerKind: "schoolingApplication", authorize: schoolingFiles)
        // Home-visit photos, proofs of income and illness: read and written through the file's scope.
        AttachmentRoutes.mount(routes.staffAPI, path: "hardship-households", ownerKind: "household") { req, id in
            let h = try await HouseholdService(request: req).household(id)
            guard let org = try await Organization.find(h.orgID, on: req.db) else { throw AppError.notFound }
            return org
        }
    }
}
