import Fluent
import Foundation
import Vapor

/// The API's door: a live bearer token of an enabled account, or 401.
struct BearerAuthMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let bearer = request.headers.bearerAuthorization?.token, bearer.count < 200 else {
            throw AppError.unauthorized
        }
        guard let token = try await ApiToken.query(on: request.db)
            .filter(\.$tokenHash == Tokens.hash(bearer))
            .filter(\.$revokedAt == nil)
            .filter(\.$expiresAt > Date())
            .first(),
            let staff = try await StaffUser.find(token.staffID, on: request.db),
            let scope = try await SignIn.scope(for: staff, on: request.db)
        else { throw AppError.unauthorized }
        request.setScope(scope)
        request.apiTokenID = token.id
        request.logger[metadataKey: "staff"] = .string(String(scope.staffID))
        return try await next.respond(to: request)
    }
}

extension Request {
    private struct TokenKey: StorageKey { typealias Value = Int }

    /// The id of the bearer token this API request came with.
    var apiTokenID: Int? {
        get { storage[TokenKey.self] }
        set { storage[TokenKey.self] = newValue }
    }
}

/// The console's door: the staff id kept in the database-backed session.
/// Pages that need a signed-in user are behind `RequireStaffPage`.
struct SessionAuthMiddleware: AsyncMiddleware {
    static let key = "staff"
    /// A stamp of the password the session was signed in with: a password set since (a reset by
    /// an administrator, a change on another device) ends every session signed in before it.
    static let stampKey = "pw"

    static func stamp(_ staff: StaffUser) -> String {
        String(SHA256.hash(data: Data(staff.passwordHash.utf8)).hex.prefix(16))
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        request.storage[HasSessionKey.self] = true
        if let raw = request.session.data[Self.key], let id = Int(raw),
           let staff = try await StaffUser.find(id, on: request.db) {
            if request.session.data[Self.stampKey] == Self.stamp(staff), let scope = try await SignIn.scope(for: staff, on: request.db) {
                request.setScope(scope)
                request.logger[metadataKey: "staff"] = .string(String(id))
            } else {
                request.session.data[Self.key] = nil
                request.session.data[Self.stampKey] = nil
            }
        }
        return try await next.respond(to: request)
    }
}

struct RequireStaffPage: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.optionalScope != nil else {
            let next = request.url.string.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2Fconsole"
            return request.redirect(to: "/login?next=\(next)")
        }
        return try await next.respond(to: request)
    }
}

/// Every console form carries the session's token in `_csrf`; a POST without it is refused.
/// The body is read here, before the route, to find the token; so this is where its size is
/// bounded: a page form up to `BodyLimit.page`, and only a signed-in account's upload (a route
/// made with `upload(…)`) more. A bigger body is refused with 413 before it is read or decoded.
struct CSRFMiddleware: AsyncMiddleware {
    static let field = "_csrf"

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.method != .GET && request.method != .HEAD {
            let limit = request.route?.userInfo[BodyLimit.uploadKey] as? Bool == true && request.optionalScope != nil
                ? BodyLimit.upload : BodyLimit.page
            if let length = request.headers.first(name: .contentLength).flatMap(Int.init), length > limit {
                throw AppError(.payloadTooLarge, "error.tooLarge")
            }
            if let data = request.body.data {
                if data.readableBytes > limit { throw AppError(.payloadTooLarge, "error.tooLarge") }
            } else {
                // A form arriving in several reads (an upload) is still a stream here: the route's
                // own collection runs after the middleware.
                _ = try await request.body.collect(max: limit).get()
            }
            try MultipartGuard.check(request)
            let sent: String?
            do {
                sent = try request.headers.first(name: "X-CSRF-Token") ?? request.content.get(String.self, at: Self.field)
            } catch let refused as AppError {
                throw refused // a field the form may not hold (a NUL) is named, not taken for a missing token
            } catch {
                sent = nil
            }
            guard let expected = request.session.data[Self.field], let sent,
                  Data(sent.utf8).constantTimeEquals(Data(expected.utf8))
            else {
                throw AppError(.forbidden, "error.csrf")
            }
        }
        return try await next.respond(to: request)
    }
}

/// Set on requests that pass the sessions middleware (the pages). An error page for any other
/// request (an unknown path, a refused query) has no session and so no form token.
struct HasSessionKey: StorageKey { typealias Value = Bool }

extension Request {
    /// The session's CSRF token, made on first use; empty where there is no session.
    var csrfToken: String {
        guard storage[HasSessionKey.self] == true else { return "" }
        if let token = session.data[CSRFMiddleware.field] { return token }
        let token = [UInt8].random(count: 24).base64
        session.data[CSRFMiddleware.field] = token
        return token
    }
}

extension Request {
    /// A fresh session id at every sign-in, so an id that was known before it (planted in the
    /// browser, or read off a shared machine) is worth nothing after: the old record is deleted
    /// and the sessions middleware stores the data under a new id. The form token is made anew too.
    func renewSession() async throws {
        if let old = session.id {
            try await application.sessions.driver.deleteSession(old, for: self).get()
            session.id = nil
        }
        session.data[CSRFMiddleware.field] = nil
    }
}

extension Data {
    func constantTimeEquals(_ other: Data) -> Bool {
        guard count == other.count else { return false }
        return zip(self, other).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
