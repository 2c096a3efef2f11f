import Foundation

extension GonghuiConfig {
    /// The settings that guard the public edge: the public address, TLS-only cookies.
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
    }
}
