import Vapor

/// How much of a request body a page POST may send. Forms are small; the file uploads (a roster,
/// an enterprise ledger, a site list) are the only page routes allowed more, and only when a staff
/// account is signed in. `CSRFMiddleware` applies them, since it reads the body first.
enum BodyLimit {
    /// A page form: an appeal with its longest text is a few kilobytes.
    static let page = 1 << 20
    /// A file upload from the console.
    static let upload = RosterFiles.maxUpload.value
    static let uploadKey: AnySendableHashable = "gonghui.upload"
}

extension RoutesBuilder {
    /// A console POST that carries a file: collected up to `BodyLimit.upload`, not `BodyLimit.page`.
    @discardableResult
    func upload<Response: AsyncResponseEncodable>(_ path: PathComponent...,
                                                  use closure: @Sendable @escaping (Request) async throws -> Response) -> Route {
        let route = on(.POST, path, body: .collect(maxSize: RosterFiles.maxUpload), use: closure)
        route.userInfo[BodyLimit.uploadKey] = true
        return route
    }
}
