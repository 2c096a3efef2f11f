import Foundation
import Logging

/// Everything the server reads from its environment, read once at start-up.
/// A malformed value stops start-up with a message that names the variable.
public struct GonghuiConfig: Sendable {
    public enum DatabaseLocation: Sendable, Equatable {
        case sqliteFile(String)
        case sqliteMemory
        case postgres(String)
    }

    public var database: DatabaseLocation = .sqliteFile("gonghui.sqlite")
    /// 32 bytes for AES-GCM and the HMAC blind indexes; nil until a module needs one.
    public var dataKey: [UInt8]?
    public var host = "127.0.0.1"
    public var port = 8080
    public var logLevel: Logger.Level = .info
    public var sms = "log"
    /// The CSV of district-level federations the first migration creates (code,name_zh,name_en).
    public var divisionsFile: String?
    public var cityName = "北京市总工会"
    public var cityDivisionCode = "110000"
    /// Bcrypt cost; tests lower it so hundreds of sign-ins stay fast.
    public var bcryptCost = 12
    /// The finder's map: a Leaflet tile URL template, the coordinate system its tiles are drawn
    /// in, and the credit line. Amap's tiles (GCJ-02) by default; OpenStreetMap's are WGS-84.
    public var mapTiles = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
    public var mapTilesCoord: String = "gcj02"
    public var mapAttribution = "© 高德地图 AutoNavi"
    /// Where leaflet.js and leaflet.css are loaded from; nil: Debian's libjs-leaflet when installed
    /// (served at /vendor/leaflet), else the public CDN.
    public var leafletURL: String?
    /// PostgreSQL connections per event loop (`GONGHUI_DB_POOL`), and how long a request waits for
    /// one or for a new connection before it answers 503 (`GONGHUI_DB_WAIT`, seconds).
    public var dbPoolPerLoop = 8
    public var dbWaitSeconds: Int64 = 5
    /// How long a SQLite write waits behind another writer before it answers 503 (`GONGHUI_SQLITE_BUSY_MS`).
    public var sqliteBusyMillis = 5000
    /// How long `/readyz` waits for the database before it says not ready.
    public var readyWithinMillis: Int64 = 1000
    /// Where attachments are stored (`GONGHUI_FILES_DIR`); nil: `gonghui-files/` beside the SQLite
    /// file, or in the working directory on PostgreSQL.
    public var filesDir: String?

    public var filesDirectory: String {
        if let filesDir { return filesDir }
        if case let .sqliteFile(path) = database {
            let folder = (path as NSString).deletingLastPathComponent
            return (folder.isEmpty ? "." : folder) + "/gonghui-files"
        }
        return FileManager.default.currentDirectoryPath + "/gonghui-files"
    }
    /// The address people reach the site at (`GONGHUI_PUBLIC_URL`, e.g. `https://gonghui.example.cn`):
    /// links printed for phones (the booth's QR code) are built from it, never from a request's `Host`.
    public var publicURL: String?
    /// Cookies marked `Secure` and HSTS sent (`GONGHUI_SECURE_COOKIES`); on by default when the
    /// public URL is https.
    public var secureCookies = false
    /// The proxies whose `X-Forwarded-For` is believed (`GONGHUI_TRUSTED_PROXIES`); none by default.
    public var trustedProxies: [IPRange] = []
    /// Requests per minute per address for each public form and for sign-in (`GONGHUI_RATE_LIMIT`); 0: off.
    public var rateLimit = 20
    /// The bearer token Prometheus sends for `/metrics` (`GONGHUI_METRICS_TOKEN`); without one,
    /// only a scrape from this machine itself (loopback, nothing forwarded) is answered.
    public var metricsToken: String?
    /// Problems of bad rows after which an import stops (`ImportLimits`); tests lower it.
    public var importMaxProblems = 10_000

    public init() {}

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let variable: String
        public let message: String
        public var description: String { "\(variable): \(message)" }
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(Problem) -> GonghuiConfig {
        var config = GonghuiConfig()
        func value(_ name: String) -> String? {
            guard let raw = env[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        if let url = value("GONGHUI_DATABASE_URL") {
            config.database = try parseDatabase(url)
        }
        if let key = value("GONGHUI_DATA_KEY") {
            guard let bytes = Data(base64Encoded: key), bytes.count == 32 else {
                throw Problem(variable: "GONGHUI_DATA_KEY", message: "must be the base64 of exactly 32 random bytes (openssl rand -base64 32)")
            }
            config.dataKey = Array(bytes)
        }
        if let host = value("GONGHUI_HOST") {
            guard !host.contains(where: { $0 == "/" || $0 == " " }) else {
                throw Problem(variable: "GONGHUI_HOST", message: "must be a host name or an IP address, got \(host)")
            }
            config.host = host
        }
        if let port = value("GONGHUI_PORT") {
            guard let number = Int(port), (1...65535).contains(number) else {
                throw Problem(variable: "GONGHUI_PORT", message: "must be a port number from 1 to 65535, got \(port)")
            }
            config.port = number
        }
        if let level = value("GONGHUI_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw Problem(variable: "GONGHUI_LOG_LEVEL", message: "must be one of trace, debug, info, notice, warning, error, critical; got \(level)")
            }
            config.logLevel = parsed
        }
        if let sms = value("GONGHUI_SMS") {
            guard sms == "log" else {
                throw Problem(variable: "GONGHUI_SMS", message: "the only SMS driver in this build is 'log', got \(sms)")
            }
            config.sms = sms
        }
        if let file = value("GONGHUI_DIVISIONS_FILE") {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw Problem(variable: "GONGHUI_DIVISIONS_FILE", message: "cannot read \(file)")
            }
            config.divisionsFile = file
        }
        if let name = value("GONGHUI_CITY_NAME") { config.cityName = name }
        if let code = value("GONGHUI_CITY_CODE") {
            guard code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else {
                throw Problem(variable: "GONGHUI_CITY_CODE", message: "must be a six-digit GB/T 2260 code, got \(code)")
            }
            config.cityDivisionCode = code
        }
        if let tiles = value("GONGHUI_MAP_TILES") {
            guard tiles.hasPrefix("https://") || tiles.hasPrefix("http://") || tiles.hasPrefix("/"),
                  tiles.contains("{x}"), tiles.contains("{y}"), tiles.contains("{z}") else {
                throw Problem(variable: "GONGHUI_MAP_TILES", message: "must be a tile URL template with {x}, {y} and {z}, got \(tiles)")
            }
            config.mapTiles = tiles
        }
        if let coord = value("GONGHUI_MAP_TILES_COORD") {
            guard coord == "gcj02" || coord == "wgs84" else {
                throw Problem(variable: "GONGHUI_MAP_TILES_COORD", message: "must be gcj02 (Amap, Tencent) or wgs84 (OpenStreetMap), got \(coord)")
            }
            config.mapTilesCoord = coord
        }
        if let credit = value("GONGHUI_MAP_ATTRIBUTION") { config.mapAttribution = credit }
        if let leaflet = value("GONGHUI_LEAFLET_URL") {
            guard leaflet.hasPrefix("https://") || leaflet.hasPrefix("http://") || leaflet.hasPrefix("/") else {
                throw Problem(variable: "GONGHUI_LEAFLET_URL", message: "must be a URL or a path ending where leaflet.js and leaflet.css are, got \(leaflet)")
            }
            config.leafletURL = leaflet.hasSuffix("/") ? String(leaflet.dropLast()) : leaflet
        }
        if let pool = value("GONGHUI_DB_POOL") {
            guard let number = Int(pool), (1...256).contains(number) else {
                throw Problem(variable: "GONGHUI_DB_POOL", message: "must be the connections per event loop, 1 to 256, got \(pool)")
            }
            config.dbPoolPerLoop = number
        }
        if let wait = value("GONGHUI_DB_WAIT") {
            guard let number = Int64(wait), (1...120).contains(number) else {
                throw Problem(variable: "GONGHUI_DB_WAIT", message: "must be seconds, 1 to 120, got \(wait)")
            }
            config.dbWaitSeconds = number
        }
        if let files = value("GONGHUI_FILES_DIR") {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: files, isDirectory: &isFolder), !isFolder.boolValue {
                throw Problem(variable: "GONGHUI_FILES_DIR", message: "must be a folder (it is created if missing), got the file \(files)")
            }
            config.filesDir = files
        }
        if let busy = value("GONGHUI_SQLITE_BUSY_MS") {
            guard let number = Int(busy), (1...600_000).contains(number) else {
                throw Problem(variable: "GONGHUI_SQLITE_BUSY_MS", message: "must be milliseconds, 1 to 600000, got \(busy)")
            }
            config.sqliteBusyMillis = number
        }
        try parseSecurity(&config, value)
        return config
    }

    static func parseDatabase(_ url: String) throws(Problem) -> DatabaseLocation {
        let problem = Problem(
            variable: "GONGHUI_DATABASE_URL",
            message: "must be sqlite://PATH (for example sqlite://gonghui.sqlite), sqlite://:memory: or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        )
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw problem }
            return path == ":memory:" ? .sqliteMemory : .sqliteFile(path)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            guard let parsed = URL(string: url), let host = parsed.host, !host.isEmpty,
                  parsed.path.count > 1, parsed.port.map({ (1...65535).contains($0) }) ?? true
            else { throw problem }
            return .postgres(url)
        }
        throw problem
    }
}
