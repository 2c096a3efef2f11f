import Fluent
import Vapor

/// `/login`, `/logout`, `/lang/{code}`: the pages before and around signing in.
struct SignInPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get(use: root)
        routes.get("login", use: form)
        routes.post("login", use: submit)
        routes.post("logout", use: logout)
        routes.get("lang", ":code", use: switchLanguage)
    }

    struct LoginPage: Encodable {
        let page: PageContext
        let username: String
        let error: String?
        let next: String
    }

    struct LoginForm: Decodable {
        var username: String?
        var password: String?
        var next: String?
    }

    struct HomePage: Encodable {
        let page: PageContext
        /// A signed-in staff member: the link goes to the console instead of the sign-in.
        let staff: Bool
    }

    /// `/`: the workers' landing page (find a station, join, the card, an appeal, 12351), with the
    /// staff sign-in one link away.
    @Sendable func root(req: Request) async throws -> View {
        try await req.view.render("public/home", HomePage(page: req.pageContext(), staff: req.optionalScope != nil))
    }

    /// The sign-in form.
    @Sendable func form(req: Request) async throws -> Response {
        if req.optionalScope != nil { return req.redirect(to: "/console") }
        let next = Self.safeNext(req.query[String.self, at: "next"])
        return try await req.view.render("auth/login", LoginPage(page: req.pageContext(), username: "", error: nil, next: next))
            .encodeResponse(for: req)
    }

    /// Checks the password, starts the database-backed session, goes where the user was going.
    @Sendable func submit(req: Request) async throws -> Response {
        let form = (try? req.content.decode(LoginForm.self)) ?? LoginForm()
        let next = Self.safeNext(form.next)
        do {
            let staff = try await SignIn.attempt(username: form.username ?? "", password: form.password ?? "", on: req)
            try await req.renewSession()
            req.session.data[SessionAuthMiddleware.key] = String(try staff.requireID())
            req.session.data[SessionAuthMiddleware.stampKey] = SessionAuthMiddleware.stamp(staff)
            let org = try await Organization.find(staff.orgID, on: req.db)
            try await req.audit.record("auth.login", targetType: "staff", targetID: staff.id, org: org,
                                       actor: (try staff.requireID(), staff.username), details: ["via": "console"])
            return req.redirect(to: next)
        } catch let error as AppError {
            let page = LoginPage(page: req.pageContext(), username: form.username ?? "",
                                 error: req.t(error.titleKey, error.args), next: next)
            let response = try await req.view.render("auth/login", page).encodeResponse(status: error.status, for: req)
            if let seconds = error.args["seconds"], error.status == .tooManyRequests || error.status == .serviceUnavailable {
                response.headers.replaceOrAdd(name: .retryAfter, value: seconds)
            }
            return response
        }
    }

    @Sendable func logout(req: Request) async throws -> Response {
        if let scope = req.optionalScope {
            try await req.audit.record("auth.logout", targetType: "staff", targetID: scope.staffID)
        }
        req.session.destroy()
        return req.redirect(to: "/login")
    }

    /// Sets the sticky language cookie and returns to the page the user was on.
    @Sendable func switchLanguage(req: Request) async throws -> Response {
        let lang = Lang(rawValue: req.parameters.get("code") ?? "") ?? .zhHans
        let back = LocalRedirect.path(req.query[String.self, at: "back"])
        let response = req.redirect(to: back == "/login" ? "/login" : Self.safeNext(back))
        response.cookies[Request.langCookie] = HTTPCookies.Value(
            string: lang.rawValue, expires: Date(timeIntervalSinceNow: 365 * 86_400), path: "/", isHTTPOnly: true, sameSite: .lax)
        return response
    }

    /// Only paths on this site, re-serialised (`LocalRedirect`): never `//evil.example`, `https://…`,
    /// or a target carrying a CR, LF or TAB; never back to the sign-in form itself.
    static func safeNext(_ raw: String?) -> String {
        guard let path = LocalRedirect.path(raw), !path.hasPrefix("/login") else { return "/console" }
        return path
    }
}
