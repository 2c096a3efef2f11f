import Foundation
import Vapor

/// Every redirect whose target comes from the request (`?next=`, `?back=`, a form's `next`) goes
/// through here: only a path on this site, parsed and written out again, reaches `Location`.
/// Raw input never does, so a CR or LF cannot add a header (a planted session cookie) or split the
/// response, and a TAB, which browsers drop from URLs, cannot turn `/\t/evil.example` into `//evil.example`.
enum LocalRedirect {
    /// The longest target kept; a longer one is not a page of this site.
    static let maxLength = 2048

    /// `raw` as a same-site path with its query, percent-encoded; nil for anything else.
    static func path(_ raw: String?) -> String? {
        guard let raw, !raw.isEmpty, raw.utf8.count <= maxLength else { return nil }
        // Control characters, spaces (of any script) and backslashes never belong in a target:
        // browsers drop some of them and read `\` as `/`, so refusing beats encoding.
        guard raw.unicodeScalars.allSatisfy({ scalar in
            scalar.value > 0x20 && !(0x7F...0x9F).contains(scalar.value) && scalar != "\\"
                && !scalar.properties.isWhitespace && scalar.properties.generalCategory != .format
        }) else { return nil }
        guard raw.hasPrefix("/"), !raw.hasPrefix("//"),
              let parsed = URLComponents(string: raw),
              parsed.scheme == nil, parsed.host == nil, parsed.user == nil, parsed.password == nil, parsed.port == nil
        else { return nil }
        var clean = URLComponents()
        clean.percentEncodedPath = parsed.percentEncodedPath
        if let query = parsed.percentEncodedQuery, !query.isEmpty { clean.percentEncodedQuery = query }
        guard let out = clean.string, out.hasPrefix("/"), !out.hasPrefix("//"),
              out.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return out
    }
}

extension Request {
    /// A 303 to `target` when it is a path on this site (see `LocalRedirect`), else to `fallback`.
    func redirect(toLocal target: String?, fallback: String) -> Response {
        redirect(to: LocalRedirect.path(target) ?? fallback)
    }
}
