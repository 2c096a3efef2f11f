import GonghuiCore
import Vapor

/// One problem with one input field, in the words of the locale files.
public struct FieldIssue: Sendable, Equatable {
    public let field: String
    /// A stable machine code: `required`, `format`, `checksum`, `tooLong`, `unknown`, `notFound` …
    public let code: String
    /// The locale key of the message; `args` fill its `{placeholders}`.
    public let key: String
    public let args: [String: String]

    public init(_ field: String, _ code: String, _ key: String? = nil, _ args: [String: String] = [:]) {
        self.field = field
        self.code = code
        self.key = key ?? "error.field.\(code)"
        self.args = args
    }
}

/// The errors the application raises on purpose. The error middleware turns them into
/// `application/problem+json` for the API and a page for people, in the caller's language.
public struct AppError: Error, Sendable {
    public let status: HTTPResponseStatus
    /// Locale key of the one-line title; `detailKey` (optional) says more.
    public let titleKey: String
    public let detailKey: String?
    public let args: [String: String]
    public let fields: [FieldIssue]

    public init(_ status: HTTPResponseStatus, _ titleKey: String, detail: String? = nil,
                args: [String: String] = [:], fields: [FieldIssue] = []) {
        self.status = status
        self.titleKey = titleKey
        self.detailKey = detail
        self.args = args
        self.fields = fields
    }

    public static func invalid(_ fields: [FieldIssue]) -> AppError {
        AppError(.unprocessableEntity, "error.invalid", detail: "error.invalid.detail", fields: fields)
    }

    public static let notFound = AppError(.notFound, "error.notFound")
    public static let unauthorized = AppError(.unauthorized, "error.unauthorized")
    public static let forbidden = AppError(.forbidden, "error.forbidden")

    public static func conflict(_ detail: String, args: [String: String] = [:], fields: [FieldIssue] = []) -> AppError {
        AppError(.conflict, "error.conflict", detail: detail, args: args, fields: fields)
    }
}

/// Collects field problems while a request body is checked, so all of them are reported at once.
public struct Validator {
    public private(set) var issues: [FieldIssue] = []
    public init() {}

    public mutating func add(_ issue: FieldIssue) { issues.append(issue) }

    public mutating func add(_ field: String, _ code: String, _ key: String? = nil, _ args: [String: String] = [:]) {
        issues.append(FieldIssue(field, code, key, args))
    }

    /// A required text: trimmed, single-line, 1...max characters.
    public mutating func text(_ value: String?, _ field: String, required: Bool, max: Int = 100) -> String? {
        guard let value else {
            if required { add(field, "required") }
            return nil
        }
        let cleaned = Normalize.singleLine(value)
        if cleaned.isEmpty {
            if required { add(field, "required") }
            return nil
        }
        if cleaned.count > max {
            add(field, "tooLong", nil, ["max": String(max)])
            return nil
        }
        if cleaned.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            add(field, "format")
            return nil
        }
        return cleaned
    }

    public func check() throws {
        if !issues.isEmpty { throw AppError.invalid(issues) }
    }
}

extension Request {
    /// The message for one field problem, the field named by its label in the user's language.
    func message(for issue: FieldIssue) -> String {
        var args = issue.args
        args["field"] = fieldLabel(issue.field)
        return t(issue.key, args)
    }

    /// A field's label; a field in a list (`members[1].idNumber`) reads 家庭成员 2 身份证号.
    func fieldLabel(_ field: String) -> String {
        let label = t("field.\(field)")
        if !label.hasPrefix("field.") { return label }
        guard let open = field.firstIndex(of: "["), let close = field[open...].firstIndex(of: "]"),
              let n = Int(field[field.index(after: open)..<close]) else { return field }
        let list = fieldLabel(String(field[..<open]))
        let rest = field[field.index(after: close)...].drop { $0 == "." }
        return rest.isEmpty ? "\(list) \(n + 1)" : "\(list) \(n + 1) \(fieldLabel(String(rest)))"
    }

    /// Field name → message, for forms that show each message beside its field.
    func fieldMessages(_ error: AppError) -> [String: String] {
        var messages: [String: String] = [:]
        for issue in error.fields where messages[issue.field] == nil { messages[issue.field] = message(for: issue) }
        return messages
    }
}
