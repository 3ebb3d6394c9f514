// swift-tools-version: 6.1
// Coverage-guided fuzz targets (libFuzzer) for SpecDec's parsers of untrusted input. A package of its
// own, so that the main build and `swift test` are untouched. Build and run with tools/fuzz/run.sh.
import PackageDescription

/// Each target's main.swift hands its test function to libFuzzer's driver (FuzzSupport.runFuzzer).
let fuzz: [SwiftSetting] = []

let package = Package(
    name: "SpecDecFuzz",
    dependencies: [.package(name: "SpecDec", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [
            .product(name: "SpecDecGGUF", package: "SpecDec"), .product(name: "SpecDecTokenizer", package: "SpecDec"),
            .product(name: "SpecDecTestSupport", package: "SpecDec"),
        ]),
        .executableTarget(name: "FuzzGGUF", dependencies: [
            "FuzzSupport",
            .product(name: "SpecDecGGUF", package: "SpecDec"), .product(name: "SpecDecModel", package: "SpecDec"),
            .product(name: "SpecDecTokenizer", package: "SpecDec"), .product(name: "SpecDecTestSupport", package: "SpecDec"),
            .product(name: "SpecDecKernels", package: "SpecDec"),
        ], swiftSettings: fuzz),
        .executableTarget(name: "FuzzTokenizer", dependencies: [
            "FuzzSupport",
            .product(name: "SpecDecGGUF", package: "SpecDec"), .product(name: "SpecDecTokenizer", package: "SpecDec"),
            .product(name: "SpecDecTestSupport", package: "SpecDec"),
        ], swiftSettings: fuzz),
        .executableTarget(name: "FuzzDetokenizer", dependencies: [
            "FuzzSupport",
            .product(name: "SpecDecGGUF", package: "SpecDec"), .product(name: "SpecDecTokenizer", package: "SpecDec"),
            .product(name: "SpecDecTestSupport", package: "SpecDec"),
        ], swiftSettings: fuzz),
        .executableTarget(name: "FuzzChatTemplate", dependencies: [
            "FuzzSupport",
            .product(name: "SpecDecGGUF", package: "SpecDec"), .product(name: "SpecDecTokenizer", package: "SpecDec"),
            .product(name: "SpecDecTestSupport", package: "SpecDec"),
        ], swiftSettings: fuzz),
        .executableTarget(name: "FuzzDatasets", dependencies: ["FuzzSupport", .product(name: "SpecDecBench", package: "SpecDec")],
                          swiftSettings: fuzz),
        .executableTarget(name: "FuzzRequests", dependencies: [
            "FuzzSupport",
            .product(name: "SpecDecServer", package: "SpecDec"), .product(name: "SpecDecEngine", package: "SpecDec"),
            .product(name: "SpecDecTestSupport", package: "SpecDec"),
        ], swiftSettings: fuzz),
    ]
)
