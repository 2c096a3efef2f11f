import Leaf
import LeafKit
import NIOConcurrencyHelpers
import Vapor

/// What every console page's layout needs: language, CSRF token, who is signed in, navigation.
struct PageContext: Encodable {
    struct User: Encodable {
        let displayName: String
        let username: String
        let role: String
        let orgName: String
    }

    struct NavItem: Encodable {
        let href: String
        let label: String
        let active: Bool
    }

    let lang: String
    let switchLangHref: String
    let switchLangLabel: String
    let csrf: String
    let path: String
    let user: User?
    let nav: [NavItem]
}

extension Request {
    func pageContext() -> PageContext {
        let scope = optionalScope
        let other: Lang = lang == .zhHans ? .en : .zhHans
        let back = url.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2F"
        let path = url.path
        return PageContext(
            lang: lang.htmlTag,
            switchLangHref: "/lang/\(other.rawValue)?back=\(back)",
            switchLangLabel: other == .en ? "English" : "中文",
            csrf: csrfToken,
            path: path,
            user: scope.map { .init(displayName: $0.displayName, username: $0.username, role: t("role.\($0.role.rawValue)"), orgName: $0.rootName) },
            nav: scope.map { scope in
                let items = application.consoleNav.items.filter { $0.visible(scope.role) }
                // One item is active: the longest that holds the page (/console/appeals/new is 来电登记, not also 职工诉求).
                let active = items.map(\.href).filter { path == $0 || (path.hasPrefix($0 + "/") && $0 != "/console") }
                    .max { $0.count < $1.count }
                return items.map { .init(href: $0.href, label: t($0.labelKey), active: $0.href == active) }
            } ?? []
        )
    }
}

/// The console's navigation: each module adds its entries, so the shell grows with the platform.
final class ConsoleNav: Sendable {
    struct Item: Sendable {
        let labelKey: String
        let href: String
        let visible: @Sendable (StaffRole) -> Bool
    }

    private let box = NIOLockedValueBox<[Item]>([])
    var items: [Item] { box.withLockedValue { $0 } }
    func add(_ item: Item) { box.withLockedValue { $0.append(item) } }

    static func registerFoundation(_ app: Application) {
        let nav = app.consoleNav
        nav.add(Item(labelKey: "nav.home", href: "/console", visible: { _ in true }))
        nav.add(Item(labelKey: "nav.orgs", href: "/console/orgs", visible: { _ in true }))
        nav.add(Item(labelKey: "nav.staff", href: "/console/staff", visible: { $0.managesAccounts }))
        nav.add(Item(labelKey: "nav.audit", href: "/console/audit", visible: { $0.readsAudit }))
    }
}

import GonghuiCore

extension Application {
    private struct ConsoleNavKey: StorageKey { typealias Value = ConsoleNav }

    var consoleNav: ConsoleNav {
        if let nav = storage[ConsoleNavKey.self] { return nav }
        let nav = ConsoleNav()
        storage[ConsoleNavKey.self] = nav
        return nav
    }
}

/// `#t("key")` in templates, or `#t("key", "name", value, …)` to fill placeholders.
struct TranslateTag: LeafTag {
    func render(_ ctx: LeafContext) throws -> LeafData {
        guard let key = ctx.parameters.first?.string else { throw LeafError(.unknownError("#t needs a key")) }
        guard let request = ctx.request else { return .string(key) }
        var args: [String: String] = [:]
        var rest = ctx.parameters.dropFirst()
        while rest.count >= 2 {
            let name = rest.removeFirst().string ?? ""
            let value = rest.removeFirst()
            args[name] = value.string ?? value.int.map(String.init) ?? ""
        }
        return .string(request.t(key, args))
    }
}

/// Writes a CSV that Excel and WPS open correctly: UTF-8 with a BOM, CRLF, quoted cells.
/// Cells that start like a formula are prefixed so a spreadsheet never executes them.
enum CSVExport {
    static func response(filename: String, header: [String], rows: [[String]]) -> Response {
        var text = "\u{FEFF}"
        for row in [header] + rows {
            text += row.map(cell).joined(separator: ",") + "\r\n"
        }
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        let encoded = filename.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "export.csv"
        headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"export.csv\"; filename*=UTF-8''\(encoded)")
        return Response(status: .ok, headers: headers, body: .init(string: text))
    }

    static func cell(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }
}
