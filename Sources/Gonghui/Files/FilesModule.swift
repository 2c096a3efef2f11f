import Vapor

/// The attachments store's table.
enum FilesModule: AppModule {
    static func configure(_ app: Application) throws {
        app.addMigrations([CreateAttachments()])
    }

    static func routes(_ routes: ModuleRoutes) throws {}
}
