import Vapor

/// The body of every API error (RFC 9457), messages in the caller's language.
struct ProblemDTO: Content {
    struct Field: Content {
        let field: String
        let code: String
        let message: String
    }

    let type: String
    let title: String
    let status: Int
    let detail: String?
    let errors: [Field]
}

/// Turns every error into `application/problem+json` for `/api` and a page for people.
/// Nothing reaches the client as a bare 500 with internals; unexpected errors are logged
/// with the request id and answered with a generic message.
struct ProblemMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            return await response(for: error, on: request)
        }
    }

    func response(for error: any Error, on request: Request) async -> Response {
        let appError = Self.appError(for: error, on: request)
        let problem = ProblemDTO(
            type: "https://gonghui.dev/problems/\(appError.titleKey.replacingOccurrences(of: "error.", with: ""))",
            title: request.t(appError.titleKey, appError.args),
            status: Int(appError.status.code),
            detail: appError.detailKey.map { request.t($0, appError.args) },
            errors: appError.fields.map {
                .init(field: $0.field, code: $0.code, message: request.message(for: $0))
            }
        )
        var headers = HTTPHeaders()
        if appError.status == .unauthorized, request.isAPI {
            headers.replaceOrAdd(name: .wwwAuthenticate, value: "Bearer")
        }
        if appError.status == .tooManyRequests || appError.status == .serviceUnavailable, let seconds = appError.args["seconds"] {
            headers.replaceOrAdd(name: .retryAfter, value: seconds)
        }
        if request.isAPI || !request.prefersHTML {
            headers.contentType = HTTPMediaType(type: "application", subType: "problem+json", parameters: ["charset": "utf-8"])
            let body = (try? JSONEncoder().encode(problem)) ?? Data()
            return Response(status: appError.status, headers: headers, body: .init(data: body))
        }
        if appError.status == .unauthorized {
            return request.redirect(to: "/login?next=" + (request.url.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "/console"))
        }
        do {
            let view = try await request.view.render("errors/error", ErrorPage(problem: problem, page: request.pageContext()))
            let response = try await view.encodeResponse(status: appError.status, for: request)
            if let wait = headers.first(name: .retryAfter) { response.headers.replaceOrAdd(name: .retryAfter, value: wait) }
            return response
        } catch {
            request.logger.report(error: error)
            headers.contentType = .plainText
            return Response(status: appError.status, headers: headers, body: .init(string: problem.title))
        }
    }

    struct ErrorPage: Encodable {
        let problem: ProblemDTO
        let page: PageContext
    }

    static func appError(for error: any Error, on request: Request) -> AppError {
        switch error {
        case let error as AppError:
            return error
        case let error where DatabaseOutage.isOutage(error):
            request.logger.warning("database unavailable: \(String(reflecting: type(of: error)))")
            return DatabaseOutage.appError
        case let error as DecodingError:
            return decodingProblem(error)
        case let error as any AbortError:
            switch error.status {
            case .notFound: return .notFound
            case .unauthorized: return .unauthorized
            case .forbidden: return .forbidden
            case .payloadTooLarge: return AppError(.payloadTooLarge, "error.tooLarge")
            case .unsupportedMediaType: return AppError(.unsupportedMediaType, "error.mediaType")
            case .methodNotAllowed: return AppError(.methodNotAllowed, "error.method")
            case .badRequest:
                // Vapor's own 400s (a malformed body, a bad query) carry English reasons only.
                return AppError(.badRequest, "error.badRequest", fields: [FieldIssue("body", "format", "error.field.body")])
            case let status where status.code < 500:
                return AppError(status, "error.client")
            default:
                request.logger.report(error: error)
                return AppError(.internalServerError, "error.server")
            }
        default:
            request.logger.report(error: error)
            return AppError(.internalServerError, "error.server")
        }
    }

    /// Wrong types and missing keys name the field; a body that is not JSON at all is a 400.
    static func decodingProblem(_ error: DecodingError) -> AppError {
        func name(_ path: [any CodingKey]) -> String {
            let parts = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return parts.reduce("") { $0.isEmpty || $1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1 }
        }
        switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            if context.codingPath.isEmpty {
                return AppError(.badRequest, "error.badRequest", fields: [FieldIssue("body", "format", "error.field.body")])
            }
            return .invalid([FieldIssue(name(context.codingPath), "type")])
        case let .keyNotFound(key, context):
            return .invalid([FieldIssue(name(context.codingPath + [key]), "required")])
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                return AppError(.badRequest, "error.badRequest", fields: [FieldIssue("body", "format", "error.field.body")])
            }
            return .invalid([FieldIssue(name(context.codingPath), "format")])
        @unknown default:
            return AppError(.badRequest, "error.badRequest")
        }
    }
}

extension Request {
    var isAPI: Bool { url.path.hasPrefix("/api/") || url.path == "/api" }

    /// A browser asks for HTML; curl and the app do not.
    var prefersHTML: Bool { headers[.accept].contains { $0.contains("text/html") } }
}
