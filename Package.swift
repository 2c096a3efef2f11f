// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "gonghui",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gonghui", targets: ["gonghui"]),
        .library(name: "Gonghui", targets: ["Gonghui"]),
        .library(name: "GonghuiCore", targets: ["GonghuiCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.0"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/leaf.git", from: "4.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", exact: "0.9.20"),
    ],
    targets: [
        // The rules of the domain: no Vapor, no database, tested in milliseconds.
        .target(name: "GonghuiCore"),
        // Reading and writing the tables staff keep in Excel: CSV in any encoding Excel in China
        // saves, and XLSX. No Vapor, no database.
        .target(name: "Spreadsheet", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(
            name: "Gonghui",
            dependencies: [
                "GonghuiCore",
                "Spreadsheet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Leaf", package: "leaf"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(name: "gonghui", dependencies: ["Gonghui"]),
        .testTarget(name: "GonghuiCoreTests", dependencies: ["GonghuiCore"]),
        .testTarget(name: "SpreadsheetTests", dependencies: ["Spreadsheet"]),
        .testTarget(
            name: "GonghuiTests",
            dependencies: [
                "Gonghui",
                .product(name: "VaporTesting", package: "vapor"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
