// swift-tools-version: 6.0
// Licence: MIT OR Apache-2.0, at your option — LICENSE-MIT and LICENSE-APACHE
// at the repository root apply (a SwiftPM manifest has no licence field).
import PackageDescription

let package = Package(
    name: "SDS",
    // Swift.Duration (Config) and Task.sleep(for:) (tests) need macOS 13 / iOS 16.
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "SDS", targets: ["SDS"]),
    ],
    targets: [
        // The installed libsds: include/sds.h and -lsds, found through libsds.pc.
        .systemLibrary(
            name: "CSds",
            path: "Sources/CSds",
            pkgConfig: "libsds",
            providers: [
                .apt(["libsds-dev"]),
                .brew(["libsds"]),
            ]
        ),
        .target(name: "SDS", dependencies: ["CSds"]),
        .testTarget(name: "SDSTests", dependencies: ["SDS"]),
    ]
)
