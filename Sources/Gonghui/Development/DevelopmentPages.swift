import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/console/development`: the figures with SVG bars (exported as XLSX), the campaigns, studios and
/// contests of the subtree; the campaign page with its live quota rules and the nomination steps.
struct DevelopmentPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let r = routes.grouped("console", "development")
        r.get(use: index)
    }

    @Sendable func index(req: Request) async throws -> Response {
        throw AppError.notFound
    }
}

/// `/honours` (the public roll) and `/member/contests` (a member registers from the phone).
struct DevelopmentPublicPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
    }
}
