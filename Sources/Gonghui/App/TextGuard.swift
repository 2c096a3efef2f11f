import Foundation
import Vapor

/// PostgreSQL's `text` cannot hold U+0000, so a NUL in any field would fail deep in a query
/// with a 500. No real name, address or code contains one: the decoders every request goes
/// through refuse it up front with a 422 that names each field holding it.
enum TextGuard {
    /// Installs the guarded decoders for JSON bodies and HTML forms (query strings are checked
    /// by ``QueryMiddleware``: Vapor's `req.query[…, at:]` turns a decoder's error into nil).
    static func install() {
        var config = ContentConfiguration.global
        config.use(decoder: JSONBody(), for: .json)
        config.use(decoder: JSONBody(), for: .jsonAPI)
        config.use(decoder: FormBody(), for: .urlEncodedForm)
        ContentConfiguration.global = config
    }

    /// The paths of the JSON strings (values or keys) that hold a NUL, or none.
    /// A raw zero byte counts too: UTF-16 JSON has them, and no UTF-8 text does.
    static func nulFields(json bytes: some Collection<UInt8>) -> [String] {
        guard containsEscapedNul(bytes) || bytes.contains(0) else { return [] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else { return ["body"] }
        var found: [String] = []
        func walk(_ value: Any, _ path: String) {
            switch value {
            case let text as String where text.contains("\0"):
                found.append(path.isEmpty ? "body" : path)
            case let list as [Any]:
                for (i, item) in list.enumerated() { walk(item, "\(path)[\(i)]") }
            case let object as [String: Any]:
                for (key, item) in object.sorted(by: { $0.key < $1.key }) {
                    if key.contains("\0") { found.append(path.isEmpty ? "body" : path) } else { walk(item, path.isEmpty ? key : "\(path).\(key)") }
                }
            default: break
            }
        }
        walk(object, "")
        var unique: [String] = []
        for field in found where !unique.contains(field) { unique.append(field) }
        return unique
    }

    /// The keys of a form or query string (`a=1&b=%00`) whose key or value holds a NUL, written
    /// as `%00` or sent as a raw zero byte.
    static func nulFields(form raw: String) -> [String] {
        guard raw.contains("\0") || raw.range(of: "%00", options: .caseInsensitive) != nil else { return [] }
        func decoded(_ part: Substring) -> String { part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part) }
        var found: [String] = []
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decoded(parts[0])
            guard key.contains("\0") || (parts.count > 1 && decoded(parts[1]).contains("\0")) else { continue }
            let name = key.replacingOccurrences(of: "\0", with: "")
            let field = name.isEmpty ? "body" : name
            if !found.contains(field) { found.append(field) }
        }
        return found
    }

    /// `\u0000` not itself escaped (`\\u0000` is a backslash followed by text).
    static func containsEscapedNul(_ bytes: some Collection<UInt8>) -> Bool {
        let pattern: [UInt8] = Array("u0000".utf8)
        var backslashes = 0
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                backslashes += 1
            } else {
                if backslashes % 2 == 1, byte == UInt8(ascii: "u"), bytes[index...].starts(with: pattern) { return true }
                backslashes = 0
            }
            index = bytes.index(after: index)
        }
        return false
    }

    static func refuse(_ fields: [String]) -> AppError {
        AppError.invalid(fields.map { FieldIssue($0, "nul", "error.field.nul") })
    }

    struct JSONBody: ContentDecoder {
        let inner = JSONDecoder.custom(dates: .iso8601)

        func decode<D: Decodable>(_ decodable: D.Type, from body: ByteBuffer, headers: HTTPHeaders) throws -> D {
            try decode(decodable, from: body, headers: headers, userInfo: [:])
        }

        func decode<D: Decodable>(_ decodable: D.Type, from body: ByteBuffer, headers: HTTPHeaders, userInfo: [CodingUserInfoKey: any Sendable]) throws -> D {
            let fields = body.withUnsafeReadableBytes { TextGuard.nulFields(json: $0) }
            if !fields.isEmpty { throw TextGuard.refuse(fields) }
            return try inner.decode(decodable, from: body, headers: headers, userInfo: userInfo)
        }
    }

    struct FormBody: ContentDecoder {
        let inner = URLEncodedFormDecoder()

        func decode<D: Decodable>(_ decodable: D.Type, from body: ByteBuffer, headers: HTTPHeaders) throws -> D {
            try decode(decodable, from: body, headers: headers, userInfo: [:])
        }

        func decode<D: Decodable>(_ decodable: D.Type, from body: ByteBuffer, headers: HTTPHeaders, userInfo: [CodingUserInfoKey: any Sendable]) throws -> D {
            let fields = TextGuard.nulFields(form: body.getString(at: body.readerIndex, length: body.readableBytes) ?? "")
            if !fields.isEmpty { throw TextGuard.refuse(fields) }
            return try inner.decode(decodable, from: body, headers: headers, userInfo: userInfo)
        }
    }

    /// Refuses a request whose query string holds a NUL, naming the parameters.
    struct QueryMiddleware: AsyncMiddleware {
        func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
            if let query = request.url.query {
                let fields = TextGuard.nulFields(form: query)
                if !fields.isEmpty { throw TextGuard.refuse(fields) }
            }
            return try await next.respond(to: request)
        }
    }
}
