import Foundation
import Vapor

/// The two languages people read Gonghui in; zh-Hans is the default.
public enum Lang: String, CaseIterable, Sendable, Codable {
    case zhHans = "zh-Hans"
    case en

    /// Reads `zh`, `zh-CN`, `en-US`, `en;q=0.8` …; anything else is nil.
    public init?(tag: String) {
        let lowered = tag.trimmingCharacters(in: .whitespaces).lowercased()
        if lowered.hasPrefix("zh") { self = .zhHans } else if lowered.hasPrefix("en") { self = .en } else { return nil }
    }

    public var htmlTag: String { self == .zhHans ? "zh-CN" : "en" }
}

/// Every string a person reads, from Resources/Locales/{zh-Hans,en}.json and, for each module,
/// Resources/Locales/{zh-Hans,en}/<module>.json (a module keeps its strings in its own file).
public struct Localizer: Sendable {
    let tables: [Lang: [String: String]]

    public struct DuplicateKey: Error, CustomStringConvertible {
        public let key: String
        public let file: String
        public var description: String { "locale key \(key) is defined twice (again in \(file))" }
    }

    public init(directory: String) throws {
        var tables: [Lang: [String: String]] = [:]
        for lang in Lang.allCases {
            var files = [directory + "/" + lang.rawValue + ".json"]
            let folder = directory + "/" + lang.rawValue
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            files += names.filter { $0.hasSuffix(".json") }.sorted().map { folder + "/" + $0 }
            var table: [String: String] = [:]
            for path in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                for (key, text) in try JSONDecoder().decode([String: String].self, from: data) {
                    guard table.updateValue(text, forKey: key) == nil else { throw DuplicateKey(key: key, file: path) }
                }
            }
            tables[lang] = table
        }
        self.tables = tables
    }

    /// The text for `key`, `{name}` placeholders filled from `args`. A missing key falls back to
    /// Chinese, then to the key itself, so a gap shows on screen instead of failing the page.
    public func text(_ key: String, _ lang: Lang, _ args: [String: String] = [:]) -> String {
        var text = tables[lang]?[key] ?? tables[.zhHans]?[key] ?? key
        for (name, value) in args {
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return text
    }

    public func keys(_ lang: Lang) -> Set<String> { Set(tables[lang]?.keys ?? [:].keys) }
}

extension Application {
    private struct LocalizerKey: StorageKey { typealias Value = Localizer }

    public var localizer: Localizer {
        get {
            guard let localizer = storage[LocalizerKey.self] else { fatalError("Localizer not configured") }
            return localizer
        }
        set { storage[LocalizerKey.self] = newValue }
    }
}

extension Request {
    static let langCookie = "gh_lang"

    private struct LangKey: StorageKey { typealias Value = Lang }

    /// The language: a `?lang=` switch, then the sticky cookie. The console is Chinese unless its
    /// user chose otherwise (a browser's English default is not a choice); the API, whose clients
    /// set it on purpose, also follows Accept-Language. Worked out once per request: every `t(_:)`
    /// asks, and reading the query and the cookies each time was a fifth of a 50-row page's time.
    public var lang: Lang {
        if let known = storage[LangKey.self] { return known }
        let lang = chosenLang
        storage[LangKey.self] = lang
        return lang
    }

    private var chosenLang: Lang {
        if let tag = query[String.self, at: "lang"], let lang = Lang(tag: tag) { return lang }
        if let cookie = cookies[Self.langCookie]?.string, let lang = Lang(rawValue: cookie) { return lang }
        guard url.path.hasPrefix("/api/") else { return .zhHans }
        for tag in headers[.acceptLanguage].flatMap({ $0.split(separator: ",") }) {
            if let lang = Lang(tag: String(tag.split(separator: ";")[0])) { return lang }
        }
        return .zhHans
    }

    public func t(_ key: String, _ args: [String: String] = [:]) -> String {
        application.localizer.text(key, lang, args)
    }
}
