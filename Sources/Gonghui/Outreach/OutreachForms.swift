import Foundation
import GonghuiCore
import Vapor

/// One field of a console form, rendered by `outreach/form.leaf`: the same markup for every form,
/// each message beside its field, what was typed kept.
struct FormField: Encodable {
    struct Choice: Encodable {
        let value: String
        let label: String
        let selected: Bool
    }

    let name: String
    let label: String
    /// text, number, date, datetime-local, select, textarea, tel
    let type: String
    let value: String
    let choices: [Choice]
    let required: Bool
    let wide: Bool
    let hint: String?
    let error: String?

    init(_ name: String, _ label: String, type: String = "text", value: String?, choices: [Choice] = [], required: Bool = false,
         wide: Bool = false, hint: String? = nil, errors: [String: String]) {
        self.name = name
        self.label = label
        self.type = type
        self.value = value ?? ""
        self.choices = choices
        self.required = required
        self.wide = wide
        self.hint = hint
        self.error = errors[name]
    }

    /// The choices of an enum, labelled from the locale files, with an optional empty first choice.
    static func choices<T: RawRepresentable & CaseIterable>(_ type: T.Type, prefix: String, selected: String?, blank: String? = nil,
                                                            _ req: Request) -> [Choice] where T.RawValue == String {
        (blank.map { [Choice(value: "", label: $0, selected: (selected ?? "").isEmpty)] } ?? [])
            + T.allCases.map { Choice(value: $0.rawValue, label: req.t("\(prefix).\($0.rawValue)"), selected: $0.rawValue == selected) }
    }
}

struct FormPage: Encodable {
    let page: PageContext
    let title: String
    let action: String
    let cancel: String
    let summary: String?
    let fields: [FormField]
}

extension Request {
    /// The submitted form as text fields (browsers send everything as text).
    func formFields() throws -> [String: String] {
        (try? content.decode([String: String].self)) ?? [:]
    }

    /// Renders a form page; on a 422 the messages stand beside their fields.
    func renderForm(title: String, action: String, cancel: String, error: AppError? = nil, fields: ([String: String]) -> [FormField]) async throws -> View {
        let errors = error.map { fieldMessages($0) } ?? [:]
        let summary = error.map { t($0.detailKey ?? $0.titleKey, $0.args) }
        return try await view.render("outreach/form", FormPage(page: pageContext(), title: title, action: action, cancel: cancel,
                                                               summary: summary, fields: fields(errors)))
    }
}

extension Request {
    /// A refused action in one line, for the page it came from: each field's message, or the reason.
    func refusal(_ error: AppError) -> String {
        let messages = error.fields.map { message(for: $0) }
        return messages.isEmpty ? t(error.detailKey ?? error.titleKey, error.args) : messages.joined(separator: "；")
    }
}

extension Dictionary where Key == String, Value == String {
    /// A trimmed value, nil when empty.
    func text(_ key: String) -> String? {
        guard let raw = self[key] else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// An integer field: nil when empty; text that is not a number is kept as an impossible value
    /// so the service names the field (-1 is out of range for every count here).
    func int(_ key: String) -> Int? {
        guard let raw = text(key) else { return nil }
        return Int(Normalize.identifier(raw)) ?? -1
    }

    func double(_ key: String) -> Double? {
        guard let raw = text(key) else { return nil }
        return Double(Normalize.identifier(raw)) ?? .nan
    }

    /// Names typed one per line, or separated by commas or "、".
    func list(_ key: String) -> [String] {
        (self[key] ?? "").split(whereSeparator: { "\n\r,，、;；".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
