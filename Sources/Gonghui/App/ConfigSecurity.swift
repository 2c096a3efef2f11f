import Foundation

extension GonghuiConfig {
    /// The site's own address for links printed for phones (a QR code): the public URL, else where
    /// this server listens. Never a request's `Host`, which whoever sends the request writes.
    var linkBase: String {
        if let publicURL { return publicURL }
        let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        return "http://\(shown.contains(":") ? "[\(shown)]" : shown):\(port)"
    }

    /// The settings that guard the public edge: the public address, TLS-only cookies, the proxies
    /// believed, the rate limit.
    static func parseSecurity(_ config: inout GonghuiConfig, _ value: (String) -> String?) throws(Problem) {
        if let url = value("GONGHUI_PUBLIC_URL") {
            let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
            guard let parsed = URLComponents(string: trimmed), let scheme = parsed.scheme, ["https", "http"].contains(scheme),
                  let host = parsed.host, !host.isEmpty, parsed.query == nil, parsed.fragment == nil, parsed.user == nil
            else {
                throw Problem(variable: "GONGHUI_PUBLIC_URL", message: "must be the site's address, like https://gonghui.example.cn, got \(url)")
            }
            config.publicURL = trimmed
            config.secureCookies = scheme == "https"
        }
        if let secure = value("GONGHUI_SECURE_COOKIES") {
            switch secure.lowercased() {
            case "1", "true", "yes", "on": config.secureCookies = true
            case "0", "false", "no", "off": config.secureCookies = false
            default: throw Problem(variable: "GONGHUI_SECURE_COOKIES", message: "must be true or false, got \(secure)")
            }
        }
        if let proxies = value("GONGHUI_TRUSTED_PROXIES") {
            var ranges: [IPRange] = []
            for part in proxies.split(separator: ",") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let range = IPRange(String(part)) else {
                    throw Problem(variable: "GONGHUI_TRUSTED_PROXIES",
                                  message: "must be addresses or CIDR blocks separated by commas (10.0.0.0/8,::1), got \(part)")
                }
                ranges.append(range)
            }
            config.trustedProxies = ranges
        }
        if let token = value("GONGHUI_METRICS_TOKEN") {
            guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw Problem(variable: "GONGHUI_METRICS_TOKEN", message: "must be at least 16 characters without spaces (openssl rand -hex 24)")
            }
            config.metricsToken = token
        }
        if let limit = value("GONGHUI_RATE_LIMIT") {
            guard let number = Int(limit), (0...100_000).contains(number) else {
                throw Problem(variable: "GONGHUI_RATE_LIMIT", message: "must be requests per minute per address, 0 (off) to 100000, got \(limit)")
            }
            config.rateLimit = number
        }
    }
}
