import Foundation
import Vapor

/// The headers every response carries: a Content-Security-Policy that runs this site's scripts
/// only (no inline script, no inline style attribute, nothing framed), `nosniff`, a referrer kept
/// on this site; `no-store` where personal data is shown; HSTS and `Secure` cookies behind TLS.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    let policy: String
    let secure: Bool

    init(config: GonghuiConfig) {
        policy = Self.policy(config)
        secure = config.secureCookies
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        let headers = [
            ("Content-Security-Policy", policy),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
        ]
        for (name, value) in headers { response.headers.replaceOrAdd(name: name, value: value) }
        if Self.keptPrivate(request.url.path) {
            response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        }
        if secure {
            response.headers.replaceOrAdd(name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains")
            var cookies = response.cookies
            for (name, var value) in cookies.all where !value.isSecure {
                value.isSecure = true
                cookies[name] = value
            }
            if !cookies.all.isEmpty { response.cookies = cookies }
        }
        return response
    }

    /// The console, the API and a member's own pages show personal data: never kept in a cache.
    static func keptPrivate(_ path: String) -> Bool {
        ["/console", "/api", "/member", "/login"].contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    static func policy(_ config: GonghuiConfig) -> String {
        let leaflet = config.leafletURL.flatMap(origin).map { " " + $0 } ?? ""
        let tiles = origin(config.mapTiles).map { " " + $0 } ?? ""
        return [
            "default-src 'self'",
            "script-src 'self'" + leaflet,
            "style-src 'self'" + leaflet,
            "img-src 'self' data:" + tiles + leaflet,
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// The CSP source for a URL or a tile template: `https://host:port`, the label holding a
    /// `{s}` as `*` (`https://*.is.autonavi.com`); nil for a path on this site.
    static func origin(_ url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var labels = authority.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if labels.first?.contains("{") == true { labels[0] = "*" }
        let host = labels.joined(separator: ".")
        // Anything still templated, or not a plain host[:port], is allowed by its scheme alone.
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "*" || $0 == "[" || $0 == "]" })
        else { return scheme + ":" }
        return scheme + "://" + host
    }
}
